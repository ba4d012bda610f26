import Foundation
import SehatFHIR
import SehatStore

/// What to queue: one operation on one resource (or one emergency report).
struct NewOutboxItem {
    var lane: Lane = .clinic
    var queue: String
    var target: Target = .satusehat
    var operation: Operation
    var resourceType: String?
    var resourceID: String?
    var reportID: String?
    var encounterID: String?
    /// Items sent together as one transaction bundle when they can be (an encounter, an import).
    var groupID: String?
    /// The registered patient whose consent decides whether the item may leave the device.
    var patientID: String?
    /// What is sent, when it is not the resource's current JSON (e.g. the `arrived` Encounter).
    var payload: JSON?
    var priority: Int
    var maxRetries: Int
    /// Dependencies beyond those the payload's references imply.
    var extraDependencies: [Int64] = []
}

/// Writes outbox items and their dependency edges inside the caller's transaction.
///
/// Edges are derived, not listed by hand: an item depends on the item that makes each
/// resource it references exist on the server (that resource's `create` or `lookup`), an
/// `update` depends on its own resource's `create`, plus any explicit extra edges (an
/// encounter's closing update waits for everything recorded within it).
struct OutboxWriter {
    let connection: Connection
    let now: Date

    /// Inserts `item` and its edges; returns its id (the outbox sequence number).
    @discardableResult
    func enqueue(_ item: NewOutboxItem, resourceJSON: JSON?) throws -> Int64 {
        var referenced: [String] = []
        for site in (item.payload ?? resourceJSON)?.references() ?? [] {
            if case .relative(_, let id) = site.reference, id != item.resourceID, !referenced.contains(id) { referenced.append(id) }
        }
        if item.operation == .update, let own = item.resourceID { referenced.append(own) }
        // Each dependency with whether it is still unresolved (not completed).
        var dependencies: [(id: Int64, open: Bool)] = []
        for id in referenced {
            if let establishing = try establishingItem(forResource: id), !dependencies.contains(where: { $0.id == establishing.id }) {
                dependencies.append(establishing)
            }
        }
        for id in item.extraDependencies where !dependencies.contains(where: { $0.id == id }) {
            let status = try connection.scalar("SELECT status FROM outbox WHERE id = ?", [.integer(id)]).string
            dependencies.append((id, status != ItemStatus.completed.rawValue))
        }
        let unresolved = dependencies.filter(\.open).count
        let stamp = FHIRDateTime.format(now)
        try connection.execute(
            """
            INSERT INTO outbox(lane, queue, target, operation, resource_type, resource_id, report_id, encounter_id, group_id, patient_id,
                               payload, priority, unresolved_deps, max_retries, next_attempt_at, created_at, updated_at)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """,
            [
                .text(item.lane.rawValue), .text(item.queue), .text(item.target.rawValue), .text(item.operation.rawValue),
                SQLValue(item.resourceType), SQLValue(item.resourceID), SQLValue(item.reportID), SQLValue(item.encounterID),
                SQLValue(item.groupID ?? item.encounterID), SQLValue(item.patientID), SQLValue(item.payload?.text), .integer(Int64(item.priority)), .integer(Int64(unresolved)),
                .integer(Int64(item.maxRetries)), .integer(Int64(now.timeIntervalSince1970 * 1000)), .text(stamp), .text(stamp),
            ]
        )
        let id = connection.lastInsertRowID
        for dependency in dependencies {
            try connection.execute("INSERT INTO outbox_deps(item_id, depends_on) VALUES (?, ?)", [.integer(id), .integer(dependency.id)])
        }
        return id
    }

    /// The item that makes a local resource exist on the server: its first create or lookup.
    /// Nil when the id is not a local resource (a server id, such as `Organization/{orgId}`).
    func establishingItem(forResource localID: String) throws -> (id: Int64, open: Bool)? {
        guard let row = try connection.queryFirst(
            "SELECT id, status FROM outbox WHERE resource_id = ? AND operation IN ('create', 'lookup') ORDER BY id LIMIT 1",
            [.text(localID)]), let id = row[0].int64
        else { return nil }
        return (id, row[1].string != ItemStatus.completed.rawValue)
    }
}
