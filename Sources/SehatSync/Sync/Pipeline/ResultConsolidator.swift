import Foundation
import SehatFHIR
import SehatStore

/// Stage 5 — consolidate results: applies every item's result, its error-log rows and its
/// sync-log lines in one transaction: store the server id, complete the item and release its
/// dependants; or schedule the retry (escalating after max retries); or park it failed /
/// dead / held with its dependants held; or send its dependencies to be checked again.
struct ResultConsolidator {
    let database: Database
    var logger: any SyncLogger = SilentLogger()

    func apply(_ results: [(item: ClaimedItem, result: ItemResult)], log: [LogLine], now: Date, traceID: String = "-") throws {
        try store(results, log: log, now: now)
        for line in log {
            let status = line.attempt.status
            logger.log(LogEntry(
                timestamp: now, level: status.map { $0 < 400 } ?? false ? .info : .warning, event: "sync.request", traceID: traceID,
                requestID: line.attempt.requestID, durationMilliseconds: line.attempt.milliseconds,
                fields: ["method": line.attempt.call.method, "url": line.attempt.call.url, "status": status.map(String.init) ?? "none",
                         "item": String(line.itemID), "outcome": line.outcome, "error": line.error ?? ""].filter { !$0.value.isEmpty }))
        }
    }

    private func store(_ results: [(item: ClaimedItem, result: ItemResult)], log: [LogLine], now: Date) throws {
        let stamp = FHIRDateTime.format(now)
        try database.write { conn in
            for (item, result) in results {
                if let failure = result.failure { try logError(failure, for: item, conn, stamp) }
                try apply(result, to: item, conn, now: now, stamp: stamp)
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

    /// Returns claimed items to pending, marked to search first (used when an outcome could
    /// not be stored); best effort.
    func release(_ ids: [Int64], now: Date) {
        try? database.write { conn in
            for id in ids {
                try conn.execute(
                    """
                    UPDATE outbox SET status = 'pending', needs_check = CASE WHEN operation IN ('create', 'notify') THEN 1 ELSE needs_check END,
                                      updated_at = ?
                    WHERE id = ? AND status = 'processing'
                    """, [.text(FHIRDateTime.format(now)), .integer(id)])
            }
        }
    }

    private func apply(_ result: ItemResult, to item: ClaimedItem, _ conn: Connection, now: Date, stamp: String) throws {
        let attempt = item.attempts + 1
        switch result {
        case .completed(let serverID):
            try complete(item, serverID: serverID, attempts: attempt, conn, stamp)
        case .retry(let delay, let unknown, let counts, let error, _):
            try conn.execute(
                """
                UPDATE outbox SET status = 'pending', attempts = attempts + ?, next_attempt_at = ?, last_error = ?,
                                  needs_check = CASE WHEN ? AND operation IN ('create', 'notify') THEN 1 ELSE needs_check END,
                                  updated_at = ?
                WHERE id = ?
                """,
                [.integer(counts ? 1 : 0), .integer(Int64((now.timeIntervalSince1970 + delay) * 1000)), .text(error),
                 .integer(unknown ? 1 : 0), .text(stamp), .integer(item.id)])
            if counts { try escalateIfPersistent(item.id, error: error, conn, stamp) }
        case .failed(let reason, _):
            try park(item.id, status: .failed, reason: reason, attempts: attempt, conn, stamp)
        case .dead(let reason, _):
            try park(item.id, status: .dead, reason: reason, attempts: attempt, conn, stamp)
        case .held(let reason):
            try park(item.id, status: .held, reason: reason, attempts: attempt, conn, stamp)
        case .sendSingly(let error, _):
            try conn.execute(
                "UPDATE outbox SET status = 'pending', send_singly = 1, attempts = attempts + 1, last_error = ?, updated_at = ? WHERE id = ?",
                [.text(error), .text(stamp), .integer(item.id)])
        case .recheckDependencies(let error, _):
            try recheckDependencies(of: item, named: error, conn, now: now, stamp: stamp)
        }
    }

    private func complete(_ item: ClaimedItem, serverID: String?, attempts: Int, _ conn: Connection, _ stamp: String) throws {
        if let serverID, let resourceID = item.resourceID {
            try conn.execute("UPDATE resources SET server_id = ?, updated_at = ? WHERE local_id = ?", [.text(serverID), .text(stamp), .text(resourceID)])
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
            """, [.integer(Int64(attempts)), .text(stamp), .text(stamp), .integer(item.id)])
        if conn.changes > 0 {
            try conn.execute(
                "UPDATE outbox SET unresolved_deps = unresolved_deps - 1 WHERE id IN (SELECT item_id FROM outbox_deps WHERE depends_on = ?)",
                [.integer(item.id)])
        }
        try conn.execute(
            """
            UPDATE error_log SET resolution_status = 'auto_resolved', resolution_notes = 'succeeded on a later attempt', resolved_at = ?
            WHERE item_id = ? AND resolution_status = 'pending'
            """, [.text(stamp), .integer(item.id)])
    }

    /// After `max_retries` counted attempts the item is flagged and an alert raised for a
    /// person, once; it keeps retrying at the backoff cap (a transient failure never drops data).
    private func escalateIfPersistent(_ id: Int64, error: String, _ conn: Connection, _ stamp: String) throws {
        try conn.execute(
            "UPDATE outbox SET escalated_at = ? WHERE id = ? AND escalated_at IS NULL AND attempts >= max_retries",
            [.text(stamp), .integer(id)])
        guard conn.changes > 0 else { return }
        let row = try conn.queryFirst("SELECT resource_type, queue, attempts FROM outbox WHERE id = ?", [.integer(id)])
        let what = row?.optionalString("resource_type") ?? row?.optionalString("queue") ?? "item"
        try conn.execute(
            "INSERT INTO alerts(kind, item_id, message, created_at) VALUES ('escalation', ?, ?, ?)",
            [.integer(id), .text("item \(id) (\(what)) has failed \(row?["attempts"].int ?? 0) times and keeps retrying: \(error.prefix(300))"), .text(stamp)])
    }

    private func logError(_ failure: FailureRecord, for item: ClaimedItem, _ conn: Connection, _ stamp: String) throws {
        try conn.execute(
            """
            INSERT INTO error_log(item_id, resource_type, resource_id, operation, category, http_status, message, request_url, request_id, created_at)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """,
            [.integer(item.id), SQLValue(item.resourceType), SQLValue(item.resourceID), .text(item.operation.rawValue),
             .text(failure.category.rawValue), SQLValue(failure.status), .text(failure.message), .text(failure.url),
             .text(failure.requestID), .text(stamp)])
    }

    /// Parks an item and holds everything that (transitively) waits on it, naming it.
    private func park(_ id: Int64, status: ItemStatus, reason: String, attempts: Int, _ conn: Connection, _ stamp: String) throws {
        let isHeld = status == .held
        try conn.execute(
            "UPDATE outbox SET status = ?, attempts = ?, last_error = ?, held_reason = ?, updated_at = ? WHERE id = ?",
            [.text(status.rawValue), .integer(Int64(attempts)), isHeld ? .null : .text(reason), isHeld ? .text(reason) : .null,
             .text(stamp), .integer(id)])
        try ResultConsolidator.holdDependants(of: id, because: "\(status.rawValue): \(reason.prefix(200))", conn, stamp)
    }

    static func holdDependants(of id: Int64, because reason: String, _ conn: Connection, _ stamp: String) throws {
        let what = try conn.scalar("SELECT resource_type FROM outbox WHERE id = ?", [.integer(id)]).string ?? "item"
        try conn.execute(
            """
            WITH RECURSIVE waiting(id) AS (
                SELECT item_id FROM outbox_deps WHERE depends_on = ?
                UNION SELECT d.item_id FROM outbox_deps d JOIN waiting w ON d.depends_on = w.id)
            UPDATE outbox SET status = 'held', held_reason = ?, updated_at = ?
            WHERE id IN (SELECT id FROM waiting) AND status IN ('pending', 'held')
            """,
            [.integer(id), .text("waits on item \(id) (\(what)), \(reason)"), .text(stamp)])
    }

    /// A 404 (or a not-found OperationOutcome): the dependencies named in the message (all
    /// completed ones when none is named) go back to pending, to be searched and re-created
    /// if they are gone; this item waits for them again.
    private func recheckDependencies(of item: ClaimedItem, named message: String, _ conn: Connection, now: Date, stamp: String) throws {
        let dependencies = try conn.query(
            """
            SELECT o.id, r.server_id, r.resource_type FROM outbox_deps d JOIN outbox o ON o.id = d.depends_on
            LEFT JOIN resources r ON r.local_id = o.resource_id
            WHERE d.item_id = ? AND o.status = 'completed'
            """, [.integer(item.id)])
        let named = dependencies.filter { row in
            guard let type = row.optionalString("resource_type"), let serverID = row.optionalString("server_id") else { return false }
            return message.contains("\(type)/\(serverID)")
        }
        let recheck = (named.isEmpty ? dependencies : named).compactMap { $0["id"].int64 }
        for dependency in recheck {
            try conn.execute(
                """
                UPDATE outbox SET status = 'pending', needs_check = CASE WHEN operation = 'create' THEN 1 ELSE 0 END,
                                  completed_at = NULL, next_attempt_at = ?, updated_at = ?
                WHERE id = ? AND status = 'completed'
                """, [.integer(Int64(now.timeIntervalSince1970 * 1000)), .text(stamp), .integer(dependency)])
            if conn.changes > 0 {
                // Everything not yet completed that waits on it waits again.
                try conn.execute(
                    """
                    UPDATE outbox SET unresolved_deps = unresolved_deps + 1
                    WHERE id IN (SELECT item_id FROM outbox_deps WHERE depends_on = ?) AND status <> 'completed'
                    """, [.integer(dependency)])
            }
        }
        try conn.execute(
            "UPDATE outbox SET status = 'pending', attempts = attempts + 1, last_error = ?, updated_at = ? WHERE id = ?",
            [.text(message + " — checking \(recheck.count) dependenc\(recheck.count == 1 ? "y" : "ies") again"), .text(stamp), .integer(item.id)])
        try escalateIfPersistent(item.id, error: message, conn, stamp)
    }
}
