import Foundation
import SehatFHIR
import SehatStore

/// Stage 1 — fetch local changes: picks ready items (emergency first, then priority and
/// sequence, from the `outbox_ready` index), widens each group item to the part of its
/// group that can travel in one bundle, and claims them all (`processing`) in one
/// transaction so no other unit takes them.
struct WorkFetcher {
    let database: Database
    let configuration: SyncConfiguration
    /// Targets this engine can reach (the emergency service only when configured).
    let targets: Set<Target>

    /// Claims up to `limit` units of one lane (or of both, emergency first, when nil).
    func fetch(units limit: Int, lane: Lane? = nil, now: Date) throws -> [WorkUnit] {
        try database.write { conn in
            let reader = OutboxReader(connection: conn)
            var claimed = Set<Int64>()
            var units: [WorkUnit] = []
            for id in try reader.readyIDs(now: now, lane: lane, limit: limit * 4) where units.count < limit && !claimed.contains(id) {
                guard let row = try conn.queryFirst("SELECT * FROM outbox WHERE id = ?", [.integer(id)]),
                    let target = Target(rawValue: row["target"].string ?? ""), targets.contains(target)
                else { continue }
                // The consent gate: what the patient does not allow is held, with the reason.
                if let patient = row.optionalString("patient_id"), let reason = try ConsentGate(connection: conn).refusal(
                    patientID: patient, encounterID: row.optionalString("encounter_id"),
                    operation: Operation(rawValue: row["operation"].string ?? "") ?? .create, resourceType: row.optionalString("resource_type"), now: now)
                {
                    try conn.execute("UPDATE outbox SET status = 'held', held_reason = ?, updated_at = ? WHERE id = ?",
                                     [.text(reason), .text(FHIRDateTime.format(now)), .integer(id)])
                    continue
                }
                // A group is one visit (or import) of one patient, so this item's consent answer covers it.
                var members = [id]
                if configuration.bundles, let group = row.optionalString("group_id"), (row["send_singly"].int ?? 0) == 0,
                    row["operation"].string != Operation.lookup.rawValue
                {
                    members = try bundleMembers(of: group, conn)
                    if !members.contains(id) { members = [id] }
                }
                members = members.filter { !claimed.contains($0) }
                claimed.formUnion(members)
                let items = try members.map { try load($0, conn) }
                units.append(WorkUnit(kind: items.count > 1 ? .bundle : .single, items: items))
            }
            for id in claimed {
                try conn.execute("UPDATE outbox SET status = 'processing', updated_at = ? WHERE id = ?",
                                 [.text(FHIRDateTime.format(now)), .integer(id)])
            }
            return units
        }
    }

    /// The pending items of a group whose every dependency is completed or inside the set
    /// (a fixed point: drop any item that waits on something outside, and repeat), in
    /// sequence order, up to the bundle size.
    private func bundleMembers(of group: String, _ conn: Connection) throws -> [Int64] {
        let rows = try conn.query(
            """
            SELECT o.id, d.depends_on, dep.status AS dep_status
            FROM outbox o LEFT JOIN outbox_deps d ON d.item_id = o.id LEFT JOIN outbox dep ON dep.id = d.depends_on
            WHERE o.group_id = ? AND o.status = 'pending' AND o.send_singly = 0 AND o.operation IN ('create', 'update')
            ORDER BY o.id
            """, [.text(group)])
        var members: [Int64] = []
        var waitsOn: [Int64: [Int64]] = [:]
        for row in rows {
            guard let id = row["id"].int64 else { continue }
            if members.last != id { members.append(id) }
            if let dependency = row["depends_on"].int64, row["dep_status"].string != ItemStatus.completed.rawValue {
                waitsOn[id, default: []].append(dependency)
            }
        }
        var set = Set(members)
        var changed = true
        while changed {
            changed = false
            for id in set where (waitsOn[id] ?? []).contains(where: { !set.contains($0) }) {
                set.remove(id)
                changed = true
            }
        }
        return Array(members.filter(set.contains).prefix(configuration.maxBundleEntries))
    }

    private func load(_ id: Int64, _ conn: Connection) throws -> ClaimedItem {
        guard let row = try conn.queryFirst(
            """
            SELECT o.*, r.json AS resource_json, r.identifier_system, r.identifier_value, r.server_id
            FROM outbox o LEFT JOIN resources r ON r.local_id = o.resource_id WHERE o.id = ?
            """, [.integer(id)])
        else { throw DatabaseError.misuse("outbox item \(id) vanished") }
        let system = row.optionalString("identifier_system")
        return ClaimedItem(
            id: id, operation: Operation(rawValue: row["operation"].string ?? "") ?? .create,
            target: Target(rawValue: row["target"].string ?? "") ?? .satusehat, resourceType: row.optionalString("resource_type"),
            resourceID: row.optionalString("resource_id"), reportID: row.optionalString("report_id"), groupID: row.optionalString("group_id"),
            payload: try row.optionalString("payload").map { try JSON.parse($0) },
            resource: try row.optionalString("resource_json").map { try JSON.parse($0) },
            identifier: system.map { BusinessIdentifier(system: $0, value: row.optionalString("identifier_value") ?? "") },
            serverID: row.optionalString("server_id"), attempts: row["attempts"].int ?? 0, maxRetries: row["max_retries"].int ?? 3,
            lane: Lane(rawValue: row["lane"].string ?? "") ?? .clinic, needsCheck: (row["needs_check"].int ?? 0) != 0)
    }
}
