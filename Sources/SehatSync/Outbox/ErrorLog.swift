import Foundation
import SehatFHIR
import SehatStore

/// Where a logged failure stands (seeds/004, US-11.5).
public enum ErrorResolution: String, Sendable, CaseIterable {
    /// Open: the item has not succeeded since.
    case pending
    /// A later attempt succeeded on its own.
    case autoResolved = "auto_resolved"
    /// A person sent the item again.
    case manualResolved = "manual_resolved"
    /// A person gave up on the item.
    case ignored
}

/// One entry of the error log: one failed attempt of one item.
public struct ErrorLogEntry: Sendable, Equatable {
    /// The entry's sequence number.
    public let id: Int64
    /// What kind of failure it was, which decided what happened next.
    public let category: FailureClass
    /// The HTTP status, when the receiver answered.
    public let httpStatus: Int?
    /// What the receiver or the transport said.
    public let message: String
    /// The attempt's `X-Request-ID`.
    public let requestID: String?
    /// Where it stands now.
    public let resolution: ErrorResolution
    /// When it was logged (UTC, RFC 3339).
    public let createdAt: String
}

/// One failed attempt, as the error log keeps it.
struct FailureRecord: Sendable, Equatable {
    let category: FailureClass
    let status: Int?
    let message: String
    let url: String
    let requestID: String
}

/// The failure records: `error_log` (one row per failed attempt, with its resolution) and
/// `alerts` (what a person must look at). Written in the caller's transaction.
struct ErrorLog {
    let connection: Connection
    let now: Date

    private var stamp: String { FHIRDateTime.format(now) }

    /// Logs a failed attempt of an item.
    func record(_ failure: FailureRecord, item: Int64, resourceType: String?, resourceID: String?, operation: Operation) throws {
        try connection.execute(
            """
            INSERT INTO error_log(item_id, resource_type, resource_id, operation, category, http_status, message, request_url, request_id, created_at)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """,
            [.integer(item), SQLValue(resourceType), SQLValue(resourceID), .text(operation.rawValue), .text(failure.category.rawValue),
             SQLValue(failure.status), .text(LogMasking.mask(failure.message)), .text(LogMasking.mask(failure.url)), .text(failure.requestID),
             .text(stamp)])
    }

    /// Marks an item's open errors resolved.
    func resolve(item: Int64, as resolution: ErrorResolution, note: String) throws {
        try connection.execute(
            "UPDATE error_log SET resolution_status = ?, resolution_notes = ?, resolved_at = ? WHERE item_id = ? AND resolution_status = 'pending'",
            [.text(resolution.rawValue), .text(note), .text(stamp), .integer(item)])
    }

    /// An item's errors, oldest first.
    func entries(item: Int64) throws -> [ErrorLogEntry] {
        try connection.query("SELECT * FROM error_log WHERE item_id = ? ORDER BY id", [.integer(item)]).map { row in
            ErrorLogEntry(id: row["id"].int64 ?? 0, category: FailureClass(rawValue: row["category"].string ?? "") ?? .unknown,
                          httpStatus: row.optionalInt("http_status"), message: row["message"].string ?? "",
                          requestID: row.optionalString("request_id"),
                          resolution: ErrorResolution(rawValue: row["resolution_status"].string ?? "") ?? .pending,
                          createdAt: row["created_at"].string ?? "")
        }
    }

    /// The newest error no later attempt has resolved.
    func newestOpenMessage() throws -> String? {
        try connection.scalar(Self.newestOpenSQL).string
    }

    /// Read by `status` and every progress line: through `error_log_open`, however many
    /// resolved errors the log holds.
    static let newestOpenSQL = "SELECT message FROM error_log WHERE resolution_status = 'pending' ORDER BY id DESC LIMIT 1"

    /// Raises an escalation alert for an item that keeps failing (it keeps retrying).
    func alertEscalation(item: Int64, error: String) throws {
        let row = try connection.queryFirst("SELECT resource_type, queue, attempts FROM outbox WHERE id = ?", [.integer(item)])
        let what = row?.optionalString("resource_type") ?? row?.optionalString("queue") ?? "item"
        try connection.execute(
            "INSERT INTO alerts(kind, item_id, message, created_at) VALUES ('escalation', ?, ?, ?)",
            [.integer(item), .text("item \(item) (\(what)) has failed \(row?["attempts"].int ?? 0) times and keeps retrying: \(error.prefix(300))"),
             .text(stamp)])
    }

    /// Raises an alert that the token endpoint refuses the device's credentials — once, until
    /// a request succeeds again.
    func alertAuthFailure(_ message: String) throws {
        guard try openAuthFailure() == nil else { return }
        try connection.execute("INSERT INTO alerts(kind, message, created_at) VALUES ('auth', ?, ?)",
                               [.text("SATUSEHAT's token endpoint refuses this device's credentials: \(message.prefix(300))"), .text(stamp)])
    }

    /// The open authentication alert: raised, and no request has succeeded since.
    func openAuthFailure() throws -> String? {
        try connection.scalar(
            """
            SELECT message FROM alerts WHERE kind = 'auth'
              AND created_at >= coalesce((SELECT max(created_at) FROM sync_log WHERE status BETWEEN 200 AND 299), '')
            ORDER BY id DESC LIMIT 1
            """).string
    }

    /// How many alerts have been raised.
    func alertCount() throws -> Int { try connection.scalar("SELECT count(*) FROM alerts").int ?? 0 }
}
