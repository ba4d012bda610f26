import Foundation
import SehatFHIR
import SehatJSON
import SehatStore

/// Stage 1 — fetch: picks ready items (emergency first, then priority and sequence, from
/// the `outbox_ready` index), holds what the patient's consent does not allow, widens each
/// group item to the part of its group that can travel in one bundle, claims them all for
/// its owner in one transaction, and loads everything their requests need — including the
/// server id of every local resource they reference — so no later stage reads the database.
struct WorkFetcher {
    let database: Database
    let configuration: SyncConfiguration
    /// Targets this engine can reach (the emergency service only when configured).
    let targets: Set<Target>
    /// Whose claims these are.
    let owner: SyncOwner

    /// How long a claim lasts unless renewed: well past the longest request and its retries
    /// of the token, so only an owner that is really gone loses its items.
    var leaseSeconds: TimeInterval { max(300, 3 * max(configuration.longTimeout, configuration.requestTimeout)) }

    /// Claims up to `limit` units of one lane (or of both, emergency first, when nil).
    func fetch(units limit: Int, lane: Lane? = nil, now: Date) throws -> [WorkUnit] {
        try database.write { conn in
            let reader = OutboxReader(connection: conn)
            let outbox = OutboxLifecycle(connection: conn, now: now)
            let leaseUntil = now.addingTimeInterval(leaseSeconds)
            try outbox.renewLease(of: owner, until: leaseUntil)
            var taken = Set<Int64>()
            var groups: [[Int64]] = []
            var notifying = false
            for id in try reader.readyIDs(now: now, lane: lane, limit: limit * 4) where groups.count < limit && !taken.contains(id) {
                guard let row = try conn.queryFirst("SELECT * FROM outbox WHERE id = ?", [.integer(id)]),
                    let target = Target(rawValue: row["target"].string ?? ""), targets.contains(target)
                else { continue }
                // A round that notifies the emergency service carries nothing else, so the
                // notification is the first request after link-up; SATUSEHAT's side follows.
                if target == .emergency { notifying = true } else if notifying { break }
                // The consent gate: what the patient does not allow is held, with the reason.
                if let patient = row.optionalString("patient_id"), let refusal = try ConsentGate(connection: conn).refusal(
                    patientID: patient, encounterID: row.optionalString("encounter_id"), resourceType: row.optionalString("resource_type"), now: now)
                {
                    try outbox.hold(id, by: nil, reason: .consent(refusal))
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
                members = members.filter { !taken.contains($0) }
                taken.formUnion(members)
                groups.append(members)
            }
            if groups.isEmpty { return [] }
            try outbox.register(owner)
            let claimed = Set(try outbox.claim(groups.flatMap { $0 }, by: owner, leaseUntil: leaseUntil))
            return try groups.compactMap { members in
                let items = try members.filter(claimed.contains).map { try load($0, conn) }
                return items.isEmpty ? nil : WorkUnit(kind: items.count > 1 ? .bundle : .single, items: items)
            }
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

    /// How many earlier versions of a resource an update is compared with after a 412.
    static let earlierVersionsKept = 20

    private func load(_ id: Int64, _ conn: Connection) throws -> ClaimedItem {
        guard let row = try conn.queryFirst(
            """
            SELECT o.*, r.json AS resource_json, r.identifier_system, r.identifier_value, r.server_id, r.server_version
            FROM outbox o LEFT JOIN resources r ON r.local_id = o.resource_id WHERE o.id = ?
            """, [.integer(id)])
        else { throw DatabaseError.misuse("outbox item \(id) vanished") }
        let system = row.optionalString("identifier_system")
        let payload = try row.optionalString("payload").map { try JSON.parse($0) }
        let resource = try row.optionalString("resource_json").map { try JSON.parse($0) }
        var item = ClaimedItem(
            id: id, operation: Operation(rawValue: row["operation"].string ?? "") ?? .create,
            target: Target(rawValue: row["target"].string ?? "") ?? .satusehat, resourceType: row.optionalString("resource_type"),
            resourceID: row.optionalString("resource_id"), reportID: row.optionalString("report_id"), groupID: row.optionalString("group_id"),
            payload: payload, resource: resource,
            identifier: system.map { BusinessIdentifier(system: $0, value: row.optionalString("identifier_value") ?? "") },
            serverID: row.optionalString("server_id"), attempts: row["attempts"].int ?? 0, maxRetries: row["max_retries"].int ?? 3,
            lane: Lane(rawValue: row["lane"].string ?? "") ?? .clinic, needsCheck: (row["needs_check"].int ?? 0) != 0)
        item.serverVersion = row.optionalString("server_version")
        if item.operation == .update, item.target == .satusehat, let resourceID = item.resourceID {
            item.earlierVersions = try conn.query("SELECT json FROM resource_history WHERE local_id = ? ORDER BY id DESC LIMIT ?",
                                                  [.text(resourceID), .integer(Int64(WorkFetcher.earlierVersionsKept))])
                .compactMap { row in row["json"].string.flatMap { try? JSON.parse($0) } }
        }
        item.references = try serverIDs(referencedBy: [payload, resource].compactMap { $0 }, conn)
        return item
    }

    /// The local resources the bodies reference, each with its server id once known.
    private func serverIDs(referencedBy bodies: [JSON], _ conn: Connection) throws -> [String: String?] {
        var ids: Set<String> = []
        for body in bodies {
            for site in body.references() { if case .relative(_, let id) = site.reference { ids.insert(id) } }
        }
        guard !ids.isEmpty else { return [:] }
        var map: [String: String?] = [:]
        for row in try conn.query("SELECT local_id, server_id FROM resources WHERE local_id IN (SELECT value FROM json_each(?))",
                                  [.text(JSON.array(ids.sorted().map(JSON.string)).text)]) {
            map[row["local_id"].string ?? ""] = .some(row.optionalString("server_id"))
        }
        return map
    }
}
