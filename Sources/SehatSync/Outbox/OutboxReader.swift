import Foundation
import SehatStore

/// Read-side queries over the outbox.
package struct OutboxReader {
    let connection: Connection

    /// The ready query: pending, every dependency completed, due. Ordered by lane (emergency
    /// first), priority, then sequence, and answered from the partial index `outbox_ready`
    /// (a test asserts the plan), so it stays fast with a million items queued.
    package static let readySQL = """
        SELECT id FROM outbox
        WHERE status = 'pending' AND unresolved_deps = 0 AND next_attempt_at <= ?
        ORDER BY lane_rank, priority, id
        LIMIT ?
        """

    /// The same, for one lane: a range of the same index (`lane_rank = ?`).
    package static let laneReadySQL = """
        SELECT id FROM outbox
        WHERE status = 'pending' AND unresolved_deps = 0 AND lane_rank = ? AND next_attempt_at <= ?
        ORDER BY lane_rank, priority, id
        LIMIT ?
        """

    func readyIDs(now: Date, lane: Lane? = nil, limit: Int) throws -> [Int64] {
        let nowMs = SQLValue.integer(Int64(now.timeIntervalSince1970 * 1000))
        let rows = try lane.map { lane in
            try connection.query(OutboxReader.laneReadySQL, [.integer(lane == .emergency ? 0 : 1), nowMs, .integer(Int64(limit))])
        } ?? connection.query(OutboxReader.readySQL, [nowMs, .integer(Int64(limit))])
        return rows.compactMap { $0[0].int64 }
    }

    /// Items escalated after max retries and still retrying (through their own partial index).
    func escalatedCount() throws -> Int {
        try connection.scalar("SELECT count(*) FROM outbox WHERE escalated_at IS NOT NULL AND status <> 'completed'").int ?? 0
    }

    /// Items per lane and public status, as the triggers on `outbox` keep them (never counted:
    /// a million items read as fast as ten).
    func counts() throws -> [OutboxCount] {
        try connection.query("SELECT lane, status, n FROM outbox_counts WHERE n > 0 ORDER BY lane, status").compactMap { row in
            guard let lane = Lane(rawValue: row["lane"].string ?? ""), let status = ItemStatus(rawValue: row["status"].string ?? "") else {
                return nil
            }
            return OutboxCount(lane: lane, status: status, count: row["n"].int ?? 0)
        }
    }

    func items(lane: Lane?, status: ItemStatus?, ids: [Int64]? = nil, limit: Int) throws -> [OutboxItem] {
        var conditions: [String] = []
        var arguments: [SQLValue] = []
        if let lane {
            conditions.append("lane = ?")
            arguments.append(.text(lane.rawValue))
        }
        if let status {
            // A withdrawn item is stored dead with its `withdrawn` flag set; a conflict, failed with its `conflict` flag.
            switch status {
            case .withdrawn: conditions.append("withdrawn = 1")
            case .conflict: conditions.append("conflict = 1")
            default:
                conditions.append("status = ? AND withdrawn = 0 AND conflict = 0")
                arguments.append(.text(status.rawValue))
            }
        }
        if let ids {
            conditions.append("id IN (SELECT value FROM json_each(?))")
            arguments.append(.text("[" + ids.map(String.init).joined(separator: ",") + "]"))
        }
        let whereClause = conditions.isEmpty ? "" : "WHERE " + conditions.joined(separator: " AND ")
        arguments.append(.integer(Int64(limit)))
        let rows = try connection.query(
            """
            SELECT o.*, (SELECT group_concat(depends_on) FROM (SELECT depends_on FROM outbox_deps WHERE item_id = o.id ORDER BY depends_on)) AS deps
            FROM outbox o \(whereClause) ORDER BY lane_rank, priority, id LIMIT ?
            """,
            arguments
        )
        return try rows.map(Self.item)
    }

    static func item(_ row: Row) throws -> OutboxItem {
        func decode<T: RawRepresentable>(_ column: String) throws -> T where T.RawValue == String {
            guard let value = T(rawValue: try row.string(column)) else {
                throw DatabaseError.misuse("unknown \(column) \(row[column]) in outbox")
            }
            return value
        }
        return OutboxItem(
            id: row["id"].int64 ?? 0, lane: try decode("lane"), queue: try row.string("queue"), target: try decode("target"),
            operation: try decode("operation"), resourceType: row.optionalString("resource_type"),
            resourceID: row.optionalString("resource_id"), reportID: row.optionalString("report_id"),
            encounterID: row.optionalString("encounter_id"), priority: try row.int("priority"), status: try row["withdrawn"].int == 1 ? ItemStatus.withdrawn : row["conflict"].int == 1 ? .conflict : decode("status"),
            attempts: try row.int("attempts"), maxRetries: try row.int("max_retries"),
            nextAttemptAt: row["next_attempt_at"].int64 ?? 0,
            dependsOn: (row.optionalString("deps") ?? "").split(separator: ",").compactMap { Int64($0) },
            unresolvedDependencies: try row.int("unresolved_deps"),
            hold: HoldReason(kind: row.optionalString("hold_kind"), detail: row.optionalString("hold_detail"), item: row["hold_item"].int64),
            lastError: row.optionalString("last_error"), escalated: row.optionalString("escalated_at") != nil
        )
    }
}
