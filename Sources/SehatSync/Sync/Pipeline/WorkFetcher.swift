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
    /// How often the lease is renewed (every fetch when nil).
    var renewal: LeaseRenewal? = nil

    /// Claims up to `limit` units of one lane (or of both, emergency first, when nil), and loads them.
    func fetch(units limit: Int, lane: Lane? = nil, now: Date) throws -> [WorkUnit] {
        try claim(units: limit, lane: lane, now: now).compactMap { try load($0) }
    }

    /// Claims up to `limit` units: which items go together, decided and claimed in one short
    /// transaction. Their rows are loaded by `load`, each unit on its own task, so the engine's
    /// loop is not held while thousands of resources are read and parsed.
    func claim(units limit: Int, lane: Lane? = nil, now: Date) throws -> [ClaimedUnit] {
        try database.write { conn in
            let reader = OutboxReader(connection: conn)
            let outbox = OutboxLifecycle(connection: conn, now: now)
            let leaseUntil = now.addingTimeInterval(leaseSeconds)
            if renewal?.due(now) ?? true { try outbox.renewLease(of: owner, until: leaseUntil) }
            var taken = Set<Int64>()
            var consent = ConsentGate.Answers(gate: ConsentGate(connection: conn), now: now)
            // Each unit: its parts (independent groups), with its entries and bytes so far,
            // and what more may be packed into it (writes with writes, lookups with lookups).
            var units: [(parts: [[Int64]], entries: Int, bytes: Int, pack: Pack?)] = []
            var notifying = false
            let packing = configuration.bundles && configuration.packing
            let scan = packing ? limit * configuration.maxBundleEntries : limit * 4
            for id in try reader.readyIDs(now: now, lane: lane, limit: scan) where !taken.contains(id) {
                guard let row = try conn.queryFirst(Self.candidateSQL, [.integer(id)]),
                    let target = Target(rawValue: row["target"].string ?? ""), targets.contains(target)
                else { continue }
                // A round that notifies the emergency service carries nothing else, so the
                // notification is the first request after link-up; SATUSEHAT's side follows.
                if target == .emergency { notifying = true } else if notifying { break }
                // The consent gate: what the patient does not allow is held, with the reason.
                if let patient = row.optionalString("patient_id"), let refusal = try consent.refusal(
                    patientID: patient, encounterID: row.optionalString("encounter_id"), resourceType: row.optionalString("resource_type"))
                {
                    try outbox.hold(id, by: nil, reason: .consent(refusal))
                    continue
                }
                // A group is one visit (or import) of one patient, so this item's consent answer covers it.
                var members = [id]
                let alone = (row["send_singly"].int ?? 0) != 0
                let operation = row["operation"].string
                if configuration.bundles, let group = row.optionalString("group_id"), !alone, operation != Operation.lookup.rawValue {
                    // Part of it waits on something in flight: the whole group goes once that is back.
                    guard let ready = try bundleMembers(of: group, conn) else { continue }
                    members = ready.contains(id) ? ready : [id]
                }
                members = members.filter { !taken.contains($0) }
                // Independent groups ready together share a bundle: creates and updates of
                // SATUSEHAT resources in a transaction, lookups in a batch of searches; never an
                // item that must go alone (its bundle was refused).
                let pack: Pack? = !packing || target != .satusehat || alone ? nil
                    : operation == Operation.lookup.rawValue ? .searches
                    : operation == Operation.create.rawValue || operation == Operation.update.rawValue ? .writes : nil
                let bytes = pack != .writes ? 0 : members == [id] ? row["bytes"].int ?? 0 : try self.bytes(of: members, conn)
                if let pack, let index = units.lastIndex(where: { $0.pack == pack }),
                    units[index].entries + members.count <= configuration.maxBundleEntries, units[index].bytes + bytes <= configuration.maxBundleBytes
                {
                    units[index].parts.append(members)
                    units[index].entries += members.count
                    units[index].bytes += bytes
                } else if units.count < limit {
                    units.append(([members], members.count, bytes, pack))
                } else {
                    break
                }
                taken.formUnion(members)
            }
            if units.isEmpty { return [] }
            try outbox.register(owner)
            let claimed = Set(try outbox.claim(units.flatMap { $0.parts.flatMap { $0 } }, by: owner, leaseUntil: leaseUntil))
            return units.compactMap { unit in
                let parts = unit.parts.map { $0.filter(claimed.contains) }.filter { !$0.isEmpty }
                return parts.isEmpty ? nil : ClaimedUnit(parts: parts)
            }
        }
    }

    /// A claimed unit's items, read in one short transaction and parsed outside it; the
    /// server ids its resources reference, in one query for the whole unit. Nil when its
    /// items are gone (nothing else deletes claimed items).
    func load(_ unit: ClaimedUnit) throws -> WorkUnit? {
        let rows = try database.read { conn in try unit.parts.map { part in try part.compactMap { try row($0, conn) } } }
        var parts = try rows.map { part in try part.map { try item(from: $0) } }.filter { !$0.isEmpty }
        guard !parts.isEmpty else { return nil }
        var referenced: Set<String> = []
        for item in parts.joined() {
            for body in [item.payload, item.resource].compactMap({ $0 }) {
                for site in body.references() { if case .relative(_, let id) = site.reference { referenced.insert(id) } }
            }
        }
        if !referenced.isEmpty {
            let map = try database.read { try serverIDs(of: referenced, $0) }
            parts = parts.map { part in part.map { item in
                var item = item
                for body in [item.payload, item.resource].compactMap({ $0 }) {
                    for site in body.references() {
                        if case .relative(_, let id) = site.reference, let known = map[id] { item.references[id] = known }
                    }
                }
                return item
            } }
        }
        return WorkUnit(parts: parts)
    }

    /// What claiming needs to know of a ready item: where it goes, whose it is, how it may
    /// travel, and the bytes of what it sends.
    private static let candidateSQL = """
        SELECT o.target, o.patient_id, o.encounter_id, o.resource_type, o.send_singly, o.operation, o.group_id,
               length(coalesce(o.payload, r.json)) AS bytes
        FROM outbox o LEFT JOIN resources r ON r.local_id = o.resource_id WHERE o.id = ?
        """

    /// A group's pending writes with what each waits on (through `outbox_pending_by_group`).
    static let groupMembersSQL = """
        SELECT o.id, d.depends_on, dep.status AS dep_status
        FROM outbox o LEFT JOIN outbox_deps d ON d.item_id = o.id LEFT JOIN outbox dep ON dep.id = d.depends_on
        WHERE o.group_id = ? AND o.status = 'pending' AND o.send_singly = 0 AND o.operation IN ('create', 'update')
        ORDER BY o.id
        """

    /// What a unit packs: writes (a transaction) or lookups (a batch of searches).
    private enum Pack: Equatable {
        case writes
        case searches
    }

    /// The bytes the items' resources (or payloads) take, to keep a packed bundle within its size.
    private func bytes(of items: [Int64], _ conn: Connection) throws -> Int {
        try conn.scalar(
            """
            SELECT coalesce(sum(length(coalesce(o.payload, r.json))), 0) FROM outbox o LEFT JOIN resources r ON r.local_id = o.resource_id
            WHERE o.id IN (SELECT value FROM json_each(?))
            """, [.text("[" + items.map(String.init).joined(separator: ",") + "]")]).int ?? 0
    }

    /// The pending items of a group whose every dependency is completed or inside the set
    /// (a fixed point: drop any item that waits on something outside, and repeat), in
    /// sequence order, up to the bundle size; nil while any of them waits on an item in flight
    /// (a lookup, another part of the group): with no rounds, a slot frees before everything a
    /// visit needs is back, and sending the part that is ready would split the visit.
    private func bundleMembers(of group: String, _ conn: Connection) throws -> [Int64]? {
        let rows = try conn.query(Self.groupMembersSQL, [.text(group)])
        var members: [Int64] = []
        var waitsOn: [Int64: [Int64]] = [:]
        for row in rows {
            guard let id = row["id"].int64 else { continue }
            if members.last != id { members.append(id) }
            if let dependency = row["depends_on"].int64, row["dep_status"].string != ItemStatus.completed.rawValue {
                if row["dep_status"].string == ItemStatus.processing.rawValue { return nil }
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

    /// What `load` reads of one item, as text: parsed outside the transaction.
    private struct RawItem {
        let id: Int64
        let row: Row
        let earlierVersions: [String]
    }

    private func row(_ id: Int64, _ conn: Connection) throws -> RawItem? {
        guard let row = try conn.queryFirst(
            """
            SELECT o.*, r.json AS resource_json, r.identifier_system, r.identifier_value, r.server_id, r.server_version
            FROM outbox o LEFT JOIN resources r ON r.local_id = o.resource_id WHERE o.id = ?
            """, [.integer(id)])
        else { return nil }
        var earlier: [String] = []
        if row["operation"].string == Operation.update.rawValue, row["target"].string == Target.satusehat.rawValue, let resourceID = row.optionalString("resource_id") {
            earlier = try conn.query("SELECT json FROM resource_history WHERE local_id = ? ORDER BY id DESC LIMIT ?",
                                     [.text(resourceID), .integer(Int64(WorkFetcher.earlierVersionsKept))]).compactMap { $0["json"].string }
        }
        return RawItem(id: id, row: row, earlierVersions: earlier)
    }

    private func item(from raw: RawItem) throws -> ClaimedItem {
        let row = raw.row
        let system = row.optionalString("identifier_system")
        let payload = try row.optionalString("payload").map { try JSON.parse($0) }
        let resource = try row.optionalString("resource_json").map { try JSON.parse($0) }
        var item = ClaimedItem(
            id: raw.id, operation: Operation(rawValue: row["operation"].string ?? "") ?? .create,
            target: Target(rawValue: row["target"].string ?? "") ?? .satusehat, resourceType: row.optionalString("resource_type"),
            resourceID: row.optionalString("resource_id"), reportID: row.optionalString("report_id"), groupID: row.optionalString("group_id"),
            payload: payload, resource: resource,
            identifier: system.map { BusinessIdentifier(system: $0, value: row.optionalString("identifier_value") ?? "") },
            serverID: row.optionalString("server_id"), attempts: row["attempts"].int ?? 0, maxRetries: row["max_retries"].int ?? 3,
            lane: Lane(rawValue: row["lane"].string ?? "") ?? .clinic, needsCheck: (row["needs_check"].int ?? 0) != 0)
        item.serverVersion = row.optionalString("server_version")
        item.earlierVersions = raw.earlierVersions.compactMap { try? JSON.parse($0) }
        return item
    }

    /// The local resources among `ids`, each with its server id once known.
    private func serverIDs(of ids: Set<String>, _ conn: Connection) throws -> [String: String?] {
        var map: [String: String?] = [:]
        for row in try conn.query("SELECT local_id, server_id FROM resources WHERE local_id IN (SELECT value FROM json_each(?))",
                                  [.text(JSON.array(ids.sorted().map(JSON.string)).text)]) {
            map[row["local_id"].string ?? ""] = .some(row.optionalString("server_id"))
        }
        return map
    }
}

/// Items claimed together, by id: `WorkFetcher.load` reads them into a `WorkUnit`.
struct ClaimedUnit: Sendable {
    /// The independent groups, each in sequence order.
    let parts: [[Int64]]
    /// Every item.
    var ids: [Int64] { parts.flatMap { $0 } }
}
