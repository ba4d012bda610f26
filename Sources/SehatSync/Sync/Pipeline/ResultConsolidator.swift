import Foundation
import SehatFHIR
import SehatStore

/// Stage 5 — consolidate results: applies every item's result and its sync-log lines in
/// one transaction: store the server id, complete the item and release its dependants,
/// or schedule the retry, or park it failed / held with its dependants held.
struct ResultConsolidator {
    let database: Database

    func apply(_ results: [(item: ClaimedItem, result: ItemResult)], log: [LogLine], now: Date) throws {
        let stamp = FHIRDateTime.format(now)
        let nowMs = Int64(now.timeIntervalSince1970 * 1000)
        try database.write { conn in
            for (item, result) in results {
                let attempt = item.attempts + 1
                switch result {
                case .completed(let serverID):
                    if let serverID, let resourceID = item.resourceID {
                        try conn.execute("UPDATE resources SET server_id = ?, updated_at = ? WHERE local_id = ?",
                                         [.text(serverID), .text(stamp), .text(resourceID)])
                        if item.operation == .lookup, let type = item.resourceType, ["Patient", "Practitioner"].contains(type) {
                            try conn.execute("UPDATE \(type == "Patient" ? "patients" : "practitioners") SET ihs_id = ? WHERE local_id = ?",
                                             [.text(serverID), .text(resourceID)])
                        }
                    }
                    if let reportID = item.reportID {
                        try conn.execute("UPDATE panic_reports SET status = 'notified' WHERE emergency_id = ? AND status = 'reported'", [.text(reportID)])
                    }
                    try conn.execute(
                        """
                        UPDATE outbox SET status = 'completed', attempts = ?, needs_check = 0, last_error = NULL, held_reason = NULL,
                                          completed_at = ?, updated_at = ?
                        WHERE id = ? AND status <> 'completed'
                        """, [.integer(Int64(attempt)), .text(stamp), .text(stamp), .integer(item.id)])
                    if conn.changes > 0 {
                        try conn.execute(
                            "UPDATE outbox SET unresolved_deps = unresolved_deps - 1 WHERE id IN (SELECT item_id FROM outbox_deps WHERE depends_on = ?)",
                            [.integer(item.id)])
                    }
                case .retry(let delay, let unknown, let counts, let error):
                    try conn.execute(
                        """
                        UPDATE outbox SET status = 'pending', attempts = attempts + ?, next_attempt_at = ?, last_error = ?,
                                          needs_check = CASE WHEN ? AND operation IN ('create', 'notify') THEN 1 ELSE needs_check END,
                                          updated_at = ?
                        WHERE id = ?
                        """,
                        [.integer(counts ? 1 : 0), .integer(nowMs + Int64(delay * 1000)), .text(error), .integer(unknown ? 1 : 0),
                         .text(stamp), .integer(item.id)])
                case .failed(let reason):
                    try park(item.id, status: .failed, reason: reason, attempts: attempt, conn, stamp)
                case .held(let reason):
                    try park(item.id, status: .held, reason: reason, attempts: attempt, conn, stamp)
                case .sendSingly(let error):
                    try conn.execute(
                        "UPDATE outbox SET status = 'pending', send_singly = 1, attempts = attempts + 1, last_error = ?, updated_at = ? WHERE id = ?",
                        [.text(error), .text(stamp), .integer(item.id)])
                }
            }
            for line in log {
                try conn.execute(
                    """
                    INSERT INTO sync_log(item_id, attempt, method, url, status, duration_ms, request_id, outcome, error, created_at)
                    VALUES (?, (SELECT attempts FROM outbox WHERE id = ?), ?, ?, ?, ?, ?, ?, ?, ?)
                    """,
                    [.integer(line.itemID), .integer(line.itemID), .text(line.attempt.call.method), .text(line.attempt.call.url),
                     SQLValue(line.attempt.status), .integer(Int64(line.attempt.milliseconds)), .text(line.attempt.requestID),
                     .text(line.outcome), SQLValue(line.error), .text(stamp)])
            }
        }
    }

    /// Parks an item and holds everything that (transitively) waits on it, naming it.
    private func park(_ id: Int64, status: ItemStatus, reason: String, attempts: Int, _ conn: Connection, _ stamp: String) throws {
        let isHeld = status == .held
        try conn.execute(
            "UPDATE outbox SET status = ?, attempts = ?, last_error = ?, held_reason = ?, updated_at = ? WHERE id = ?",
            [.text(status.rawValue), .integer(Int64(attempts)), isHeld ? .null : .text(reason), isHeld ? .text(reason) : .null,
             .text(stamp), .integer(id)])
        let what = try conn.scalar("SELECT resource_type FROM outbox WHERE id = ?", [.integer(id)]).string ?? "item"
        try conn.execute(
            """
            WITH RECURSIVE waiting(id) AS (
                SELECT item_id FROM outbox_deps WHERE depends_on = ?
                UNION SELECT d.item_id FROM outbox_deps d JOIN waiting w ON d.depends_on = w.id)
            UPDATE outbox SET status = 'held', held_reason = ?, updated_at = ?
            WHERE id IN (SELECT id FROM waiting) AND status IN ('pending', 'held')
            """,
            [.integer(id), .text("waits on item \(id) (\(what)), \(status.rawValue): \(reason.prefix(200))"), .text(stamp)])
    }
}
