import Foundation
import SehatFHIR
import SehatJSON
import SehatStore

/// Everything a person needs to understand and fix one item.
public struct OutboxItemDetail: Sendable {
    /// The item itself.
    public let item: OutboxItem
    /// The request as it would be sent now (method, URL, body), when it can be built.
    public let request: String?
    /// Its failed attempts, oldest first.
    public let errors: [ErrorLogEntry]
    /// Items that wait on this one (directly or through others).
    public let waitingItems: [Int64]
}

/// What a person can do to items that need one: read, retry, give up.
struct OutboxActions {
    let connection: Connection

    func detail(_ id: Int64, baseURL: String?) throws -> OutboxItemDetail {
        guard let item = try OutboxReader(connection: connection).items(lane: nil, status: nil, ids: [id], limit: 1).first else {
            throw FieldError("id", "there is no outbox item \(id)")
        }
        let waiting = try connection.query(
            """
            WITH RECURSIVE waiting(id) AS (
                SELECT item_id FROM outbox_deps WHERE depends_on = ?
                UNION SELECT d.item_id FROM outbox_deps d JOIN waiting w ON d.depends_on = w.id)
            SELECT id FROM waiting ORDER BY id
            """, [.integer(id)]).compactMap { $0[0].int64 }
        // A person reads this: NIKs (in a lookup's URL, a Patient's identifier) are masked.
        return OutboxItemDetail(item: item, request: try requestPreview(id, baseURL: baseURL).map(LogMasking.mask),
                                errors: try ErrorLog(connection: connection, now: Date()).entries(item: id), waitingItems: waiting)
    }

    private func requestPreview(_ id: Int64, baseURL: String?) throws -> String? {
        guard let row = try connection.queryFirst(
            "SELECT o.operation, o.resource_type, o.payload, r.json, r.server_id, r.identifier_system, r.identifier_value FROM outbox o LEFT JOIN resources r ON r.local_id = o.resource_id WHERE o.id = ?",
            [.integer(id)]) else { return nil }
        let base = baseURL ?? "{base}"
        let type = row.optionalString("resource_type") ?? ""
        let body = (row.optionalString("payload") ?? row.optionalString("json")).flatMap { try? JSON.parse($0) }
        switch row["operation"].string {
        case "lookup":
            return "GET \(base)/\(type)?identifier=\(row.optionalString("identifier_system") ?? "")|\(row.optionalString("identifier_value") ?? "")"
        case "update":
            return "PUT \(base)/\(type)/\(row.optionalString("server_id") ?? "{server id}")\n" + (body?.prettyText ?? "")
        case "notify":
            return "POST {emergency service}/api/emergency/notify\n" + (body?.prettyText ?? "")
        default:
            return "POST \(base)/\(type)   (local references become server ids when sent)\n" + (body?.prettyText ?? "")
        }
    }

    /// Back to pending now, attempts reset; what was held behind it is released; its open
    /// errors are marked resolved by a person.
    func retry(_ id: Int64, now: Date) throws {
        try OutboxLifecycle(connection: connection, now: now).revive(id)
        try ErrorLog(connection: connection, now: now).resolve(item: id, as: .manualResolved, note: "retried by a person")
    }

    /// Gives up on an item: dead-lettered with the reason; it stays, and can be revived.
    func ignore(_ id: Int64, reason: String, now: Date) throws {
        let outbox = OutboxLifecycle(connection: connection, now: now)
        guard let status = try outbox.status(of: id) else { throw FieldError("id", "there is no outbox item \(id)") }
        guard status != .completed else { throw FieldError("id", "item \(id) is completed; there is nothing to ignore") }
        try outbox.deadLetter(id, by: nil, error: "ignored by a person: \(reason)")
        try ErrorLog(connection: connection, now: now).resolve(item: id, as: .ignored, note: reason)
    }
}
