import Foundation
import SehatFHIR
import SehatStore

/// Stage 5 — consolidate: applies a unit's results in one transaction — every item's
/// transition (through `OutboxLifecycle`, fenced by the engine's claim), the id map, the
/// error log and alerts, the sync log, and what the domain's own recorders note (a person's
/// IHS id, a report notified) — then writes the JSON log lines.
struct ResultConsolidator: Sendable {
    let database: Database
    let owner: SyncOwner
    /// How long the owner's remaining claims last from now: every consolidation renews them,
    /// so a long run (rate limits, many duplicate searches) keeps what it still has in flight.
    var leaseSeconds: TimeInterval = 300
    /// How often the lease is renewed (every consolidation when nil).
    var renewal: LeaseRenewal? = nil
    var logger: any SyncLogger = SilentLogger()

    func apply(_ results: [(item: ClaimedItem, result: ItemResult)], log: [LogLine], now: Date, traceID: String = "-") throws {
        try database.write { conn in
            let outbox = OutboxLifecycle(connection: conn, now: now)
            let errors = ErrorLog(connection: conn, now: now)
            for (item, result) in results {
                if let failure = result.failure {
                    try errors.record(failure, item: item.id, resourceType: item.resourceType, resourceID: item.resourceID, operation: item.operation)
                }
                try apply(result, to: item, outbox, errors, conn, now: now)
            }
            try SyncLog(connection: conn, now: now).append(log)
            if renewal?.due(now) ?? true { try outbox.renewLease(of: owner, until: now.addingTimeInterval(leaseSeconds)) }
        }
        for line in log {
            let status = line.attempt.status
            logger.log(LogEntry(
                timestamp: now, level: status.map { $0 < 400 } ?? false ? .info : .warning, event: "sync.request", traceID: traceID,
                requestID: line.attempt.requestID, durationMilliseconds: line.attempt.milliseconds,
                fields: ["method": line.attempt.call.method, "url": line.attempt.call.url, "status": status.map(String.init) ?? "none",
                         "item": String(line.itemID), "outcome": line.note.rawValue, "error": line.error ?? ""].filter { !$0.value.isEmpty }))
        }
    }

    /// Returns claimed items to pending, marked to search first (used when an outcome could
    /// not be stored); best effort: if even this fails, the next engine's recovery does it.
    func release(_ ids: [Int64], now: Date) {
        try? database.write { try OutboxLifecycle(connection: $0, now: now).release(ids, by: owner) }
    }

    private func apply(_ result: ItemResult, to item: ClaimedItem, _ outbox: OutboxLifecycle, _ errors: ErrorLog, _ conn: Connection,
                       now: Date) throws {
        let attempts = item.attempts + 1
        switch result {
        case .completed(let serverID, let version):
            guard try outbox.complete(item.id, by: owner, attempts: attempts) else { return }
            if let resourceID = item.resourceID, item.target == .satusehat {
                // The server's version as it answered (none: it keeps no versions, and the next update goes without If-Match).
                try conn.execute("UPDATE resources SET server_id = coalesce(?, server_id), server_version = ?, updated_at = ? WHERE local_id = ?",
                                 [SQLValue(serverID), SQLValue(version), .text(outbox.stamp), .text(resourceID)])
                if let serverID, item.operation == .lookup { try RegistryRecorder.adoptIHSID(serverID, localID: resourceID, type: item.resourceType, conn) }
            }
            if let reportID = item.reportID, item.operation == .notify { try PanicRecorder.markNotified(reportID, conn) }
            try errors.resolve(item: item.id, as: .autoResolved, note: "succeeded on a later attempt")
        case .retry(let delay, let unknown, let counts, let error, _):
            if try outbox.scheduleRetry(item.id, by: owner, due: now.addingTimeInterval(delay), counted: counts, unknownOutcome: unknown,
                                        error: error) == .escalated {
                try errors.alertEscalation(item: item.id, error: error)
            }
        case .failed(let reason, _):
            try outbox.fail(item.id, by: owner, attempts: attempts, error: reason)
        case .confirmedAbsent(let delay):
            try outbox.scheduleRetry(item.id, by: owner, due: now.addingTimeInterval(delay), counted: false, unknownOutcome: false,
                                     error: "not on the server (searched); its group goes again later", checked: true)
        case .rebase(let version, let delay):
            // Our own earlier write, its answer lost: based on it now, sent again.
            guard try outbox.scheduleRetry(item.id, by: owner, due: now.addingTimeInterval(delay), counted: true, unknownOutcome: false,
                                           error: "the server holds an earlier version of ours; sending the current one again") != .notClaimed,
                  let resourceID = item.resourceID else { return }
            try conn.execute("UPDATE resources SET server_version = ?, updated_at = ? WHERE local_id = ?",
                             [SQLValue(version), .text(FHIRDateTime.format(now)), .text(resourceID)])
        case .conflict(let conflict, let failure):
            // Someone else changed it: both versions kept, the item failed as a conflict for a person to choose.
            guard let resourceID = item.resourceID, try outbox.markConflict(item.id, by: owner, attempts: attempts, error: failure.message) else { return }
            try VersionConflicts(connection: conn, stamp: FHIRDateTime.format(now)).record(conflict, item: item.id, resourceID: resourceID)
        case .dead(let reason, _):
            try outbox.deadLetter(item.id, by: owner, attempts: attempts, error: reason)
        case .held(let reason):
            try outbox.hold(item.id, by: owner, reason: reason, attempts: attempts)
        case .sendSingly(let error, _):
            try outbox.sendSingly(item.id, by: owner, error: error)
        case .recheckDependencies(let message, _, let recheckDelay):
            // The dependencies named in the message (all completed ones when none is named) go
            // back to be searched and re-created if they are gone; this item waits for them.
            let dependencies = try outbox.completedDependencies(of: item.id)
            let named = dependencies.filter { dependency in
                guard let type = dependency.resourceType, let serverID = dependency.serverID else { return false }
                return message.contains("\(type)/\(serverID)")
            }
            // What the server says is missing: one of this item's dependencies (check it again),
            // something else it names (not the device's to create: waiting will not help), or
            // nothing it names (check every dependency, while the item has retries left).
            let recheck: [Int64]
            if !named.isEmpty {
                recheck = named.map(\.item)
            } else if message.range(of: #"\b[A-Z][A-Za-z]+/[A-Za-z0-9.-]{1,64}"#, options: .regularExpression) != nil
                || item.attempts >= item.maxRetries {
                recheck = []  // it names something not the device's, or every check so far was in vain
            } else {
                recheck = dependencies.map(\.item)
            }
            guard !recheck.isEmpty else {
                try outbox.fail(item.id, by: owner, attempts: attempts, error: message)
                return
            }
            let note = message + " — checking \(recheck.count) dependenc\(recheck.count == 1 ? "y" : "ies") again"
            // Once per attempt, then it backs off like any counted attempt: never a hot loop.
            let retried = try outbox.scheduleRetry(item.id, by: owner, due: now.addingTimeInterval(recheckDelay), counted: true,
                                                   unknownOutcome: false, error: note)
            guard retried != .notClaimed else { return }
            if retried == .escalated { try errors.alertEscalation(item: item.id, error: message) }
            for dependency in recheck { try outbox.reopen(dependency) }
        }
    }
}

/// `sync_log`: one row per HTTP attempt per item, written with the attempt's outcome; with it
/// `sync_requests` (one row per request: a packed bundle's items share one) and
/// `last_success` (the newest 2xx per destination), which the report and the status read.
struct SyncLog {
    let connection: Connection
    let now: Date

    func append(_ lines: [LogLine]) throws {
        let stamp = FHIRDateTime.format(now)
        // A packed bundle's lines share one URL: masked once.
        var masked: [String: String] = [:]
        // One row per request: the lines of one attempt share its request id (none when
        // nothing was sent: then one row per unsent call).
        var requests: [String: (line: LogLine, items: Int)] = [:]
        var order: [String] = []
        for line in lines {
            let key = line.attempt.requestID == "-" ? "- \(line.attempt.call.method) \(line.attempt.call.url)" : line.attempt.requestID
            if requests[key] == nil { order.append(key) }
            requests[key, default: (line, 0)].items += 1
        }
        for key in order {
            let (line, items) = requests[key]!
            let url = line.attempt.call.url
            let maskedURL = masked[url] ?? LogMasking.mask(url)
            masked[url] = maskedURL
            try connection.execute(
                """
                INSERT INTO sync_requests(request_id, target, method, url, status, duration_ms, items, created_at)
                SELECT ?, target, ?, ?, ?, ?, ?, ? FROM outbox WHERE id = ?
                """,
                [line.attempt.requestID == "-" ? .null : .text(line.attempt.requestID), .text(line.attempt.call.method), .text(maskedURL),
                 SQLValue(line.attempt.status), .integer(Int64(line.attempt.milliseconds)), .integer(Int64(items)), .text(stamp), .integer(line.itemID)])
            if let status = line.attempt.status, (200..<300).contains(status), line.attempt.notTheReceiver == nil {
                try connection.execute(
                    """
                    INSERT INTO last_success(target, at) SELECT target, ? FROM outbox WHERE id = ?
                    ON CONFLICT(target) DO UPDATE SET at = max(at, excluded.at)
                    """, [.text(stamp), .integer(line.itemID)])
            }
        }
        for line in lines {
            let url = line.attempt.call.url
            let maskedURL = masked[url] ?? LogMasking.mask(url)
            masked[url] = maskedURL
            try connection.execute(
                """
                INSERT INTO sync_log(item_id, attempt, method, url, status, duration_ms, request_id, outcome, error, created_at)
                VALUES (?, (SELECT attempts FROM outbox WHERE id = ?), ?, ?, ?, ?, ?, ?, ?, ?)
                """,
                // What a person can read is masked as the logs are: a lookup's URL carries the NIK.
                [.integer(line.itemID), .integer(line.itemID), .text(line.attempt.call.method), .text(maskedURL),
                 SQLValue(line.attempt.status), .integer(Int64(line.attempt.milliseconds)), .text(line.attempt.requestID),
                 .text(line.note.rawValue), SQLValue(line.error.map(LogMasking.mask)), .text(stamp)])
        }
    }
}
