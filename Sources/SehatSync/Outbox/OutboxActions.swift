import Foundation
import SehatFHIR
import SehatStore

/// One entry of the error log.
public struct ErrorLogEntry: Sendable, Equatable {
    public let id: Int64
    public let category: String
    public let httpStatus: Int?
    public let message: String
    public let requestID: String?
    public let resolution: String
    public let createdAt: String
}

/// Everything a person needs to understand and fix one item.
public struct OutboxItemDetail: Sendable {
    public let item: OutboxItem
    /// The request as it would be sent now (method, URL, body), when it can be built.
    public let request: String?
    public let errors: [ErrorLogEntry]
    /// What to do about it, in words.
    public let advice: String
    /// Items that wait on this one.
    public let waitingItems: [Int64]
}

/// What a person can do to items that need one: read, retry, give up.
struct OutboxActions {
    let connection: Connection

    func detail(_ id: Int64, baseURL: String?) throws -> OutboxItemDetail {
        guard let item = try OutboxReader(connection: connection).items(lane: nil, status: nil, ids: [id], limit: 1).first else {
            throw FieldError("id", "there is no outbox item \(id)")
        }
        let errors = try connection.query(
            "SELECT * FROM error_log WHERE item_id = ? ORDER BY id", [.integer(id)]).map { row in
            ErrorLogEntry(id: row["id"].int64 ?? 0, category: row["category"].string ?? "", httpStatus: row.optionalInt("http_status"),
                          message: row["message"].string ?? "", requestID: row.optionalString("request_id"),
                          resolution: row["resolution_status"].string ?? "", createdAt: row["created_at"].string ?? "")
        }
        let waiting = try connection.query(
            """
            WITH RECURSIVE waiting(id) AS (
                SELECT item_id FROM outbox_deps WHERE depends_on = ?
                UNION SELECT d.item_id FROM outbox_deps d JOIN waiting w ON d.depends_on = w.id)
            SELECT id FROM waiting ORDER BY id
            """, [.integer(id)]).compactMap { $0[0].int64 }
        return OutboxItemDetail(item: item, request: try requestPreview(id, baseURL: baseURL), errors: errors,
                                advice: OutboxActions.advice(for: item, errors: errors), waitingItems: waiting)
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

    static func advice(for item: OutboxItem, errors: [ErrorLogEntry]) -> String {
        let last = errors.last
        switch item.status {
        case .completed: return "Nothing to do: the server has it."
        case .pending, .processing:
            return item.lastError == nil ? "Nothing to do: it is queued." : "Nothing to do: it is retried on its own (\(item.attempts) attempts so far)."
        case .held:
            if let reason = item.heldReason, reason.hasPrefix("registration required") {
                return "Register the person in SATUSEHAT through another channel (e.g. P-Care), then `sehat outbox retry \(item.id)`."
            }
            if let reason = item.heldReason, reason.hasPrefix("consent") {
                return "The patient's consent does not allow this to leave the device. Record new consent with `sehat patient consent`."
            }
            return "It waits on another item; fix that one (see the reason) and this one follows."
        case .failed:
            switch last?.category {
            case "client":
                return "The server refused the data. Correct the field named in the error above in the source record, then `sehat outbox retry \(item.id)` — or `sehat outbox ignore \(item.id)` to give up on it."
            case "duplicate":
                return "The server reports a duplicate it cannot show: check the identifier on the server, then retry or ignore."
            default:
                return "Read the error above, fix its cause, then `sehat outbox retry \(item.id)` or `sehat outbox ignore \(item.id)`."
            }
        case .dead:
            return "Dead-lettered: `sehat outbox retry \(item.id)` revives it once its cause is fixed."
        }
    }

    /// Back to pending now, attempts reset; what was held behind it is released; its open
    /// errors are marked resolved by a person.
    func retry(_ id: Int64, now: Date) throws {
        guard let status = try connection.scalar("SELECT status FROM outbox WHERE id = ?", [.integer(id)]).string.flatMap(ItemStatus.init) else {
            throw FieldError("id", "there is no outbox item \(id)")
        }
        guard [.failed, .dead, .held].contains(status) else {
            throw FieldError("id", "item \(id) is \(status.rawValue); only failed, dead or held items can be retried")
        }
        let stamp = FHIRDateTime.format(now)
        try connection.execute(
            """
            UPDATE outbox SET status = 'pending', attempts = 0, next_attempt_at = ?, escalated_at = NULL, held_reason = NULL,
                              updated_at = ?
            WHERE id = ?
            """, [.integer(Int64(now.timeIntervalSince1970 * 1000)), .text(stamp), .integer(id)])
        try connection.execute(
            "UPDATE outbox SET status = 'pending', held_reason = NULL, updated_at = ? WHERE status = 'held' AND held_reason LIKE ?",
            [.text(stamp), .text("waits on item \(id) (%")])
        try resolveErrors(of: id, as: "manual_resolved", note: "retried by a person", stamp)
    }

    /// Gives up on an item: dead-lettered with the reason; it stays, and can be revived.
    func ignore(_ id: Int64, reason: String, now: Date) throws {
        guard let status = try connection.scalar("SELECT status FROM outbox WHERE id = ?", [.integer(id)]).string.flatMap(ItemStatus.init) else {
            throw FieldError("id", "there is no outbox item \(id)")
        }
        guard status != .completed else { throw FieldError("id", "item \(id) is completed; there is nothing to ignore") }
        let stamp = FHIRDateTime.format(now)
        let text = "ignored by a person: \(reason)"
        try connection.execute("UPDATE outbox SET status = 'dead', last_error = ?, updated_at = ? WHERE id = ?", [.text(text), .text(stamp), .integer(id)])
        try ResultConsolidator.holdDependants(of: id, because: "dead: \(text)", connection, stamp)
        try resolveErrors(of: id, as: "ignored", note: reason, stamp)
    }

    private func resolveErrors(of id: Int64, as resolution: String, note: String, _ stamp: String) throws {
        try connection.execute(
            "UPDATE error_log SET resolution_status = ?, resolution_notes = ?, resolved_at = ? WHERE item_id = ? AND resolution_status = 'pending'",
            [.text(resolution), .text(note), .text(stamp), .integer(id)])
    }
}
