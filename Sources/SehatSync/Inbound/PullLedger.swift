import Foundation
import SehatFHIR
import SehatStore

/// Where a pull (a batch) stands.
public enum PullStatus: String, Sendable, CaseIterable {
    /// Pages are being fetched (or the process died while they were: the next pull resumes it).
    case running
    /// Every page was taken; the next pull asks only for what changed since.
    case completed
    /// It stopped before the end, for `PullStopReason`; the next pull resumes where it stopped.
    case stopped
}

/// Why a pull stopped before its last page.
public enum PullStopReason: String, Sendable, CaseIterable {
    /// The source did not answer (or answered 5xx / 429) three times in a row.
    case unreachable
    /// The token endpoint refused the credentials, or refused to refresh an expired token.
    case authRefused = "auth_refused"
    /// Three times an answer that is not the source's page (a login page, another shape).
    case malformedPage = "malformed_page"
    /// Another pull of the same source took over (or this one died and was resumed).
    case superseded
    /// Asked to stop (the watch daemon is stopping); the next pull resumes.
    case cancelled
}

/// What one page did to the registry.
struct PageCounts: Sendable {
    var fetched = 0
    var inserted = 0
    var updated = 0
    var unchanged = 0
    var rejected = 0
    /// The latest `updated_at` among the rows taken.
    var highWater: String?
}

/// Where the open batch of a source is, to resume it.
struct PullPosition: Sendable {
    let traceID: String
    let since: String?
    let mark: PageMark?
    /// The batch this one continues, when it resumes one.
    let resumes: String?
}

/// The owner of `pull_batches`, `pull_checkpoints` and `pull_rejections`: the state machine
/// of a batch (running → completed | stopped) and the checkpoint that makes a pull
/// resumable. A page's counts, rejections and the checkpoint move in the caller's
/// transaction together with the page's rows, so a pull killed at any moment resumes at
/// the first page whose rows are not in the registry.
struct PullLedger {
    let connection: Connection
    let now: Date
    var stamp: String { FHIRDateTime.format(now) }

    /// Opens a batch: a full pull starts from the beginning; otherwise an unfinished batch is
    /// resumed (same `updated_since`, from its checkpoint) or a new one asks for what changed
    /// since the last completed batch.
    func begin(_ source: RegistrySource, full: Bool, traceID: String) throws -> PullPosition {
        let checkpoint = try connection.queryFirst("SELECT * FROM pull_checkpoints WHERE source = ?", [.text(source.rawValue)])
        let open = checkpoint?.optionalString("open_trace_id")
        if let open {
            // Whoever held it is done with it: a dead process, a stopped pull, or one about to lose its next commit.
            try connection.execute("UPDATE pull_batches SET status = 'stopped', reason = 'superseded', finished_at = ? WHERE trace_id = ? AND status = 'running'",
                                   [.text(stamp), .text(open)])
        }
        let position: PullPosition
        if let open, !full {
            let mark: PageMark? = checkpoint?.optionalString("cursor").map(PageMark.cursor) ?? checkpoint?.optionalInt("page").map(PageMark.page)
            position = PullPosition(traceID: traceID, since: checkpoint?.optionalString("since"), mark: mark, resumes: open)
        } else {
            position = PullPosition(traceID: traceID, since: full ? nil : checkpoint?.optionalString("watermark"), mark: nil, resumes: nil)
        }
        try connection.execute(
            """
            INSERT INTO pull_checkpoints(source, open_trace_id, since, cursor, page, high_water, watermark) VALUES (?, ?, ?, ?, ?, ?, NULL)
            ON CONFLICT(source) DO UPDATE SET open_trace_id = excluded.open_trace_id, since = excluded.since, cursor = excluded.cursor,
                page = excluded.page, high_water = CASE WHEN ? THEN high_water ELSE NULL END
            """,
            [.text(source.rawValue), .text(traceID), SQLValue(position.since), SQLValue(position.mark.cursor), SQLValue(position.mark.page),
             .null, .integer(position.resumes == nil ? 0 : 1)])
        try connection.execute(
            "INSERT INTO pull_batches(trace_id, source, full_pull, since, resumes, status, started_at) VALUES (?, ?, ?, ?, ?, 'running', ?)",
            [.text(traceID), .text(source.rawValue), .integer(full ? 1 : 0), SQLValue(position.since), SQLValue(position.resumes), .text(stamp)])
        return position
    }

    /// Records a page: its counts and rejections, and the checkpoint moved to `next`. Fenced
    /// by the trace id: when another pull has taken the source over, nothing is written and
    /// `superseded` is thrown, so two pulls never both advance one checkpoint.
    func commitPage(_ source: RegistrySource, traceID: String, counts: PageCounts, rejections: [RowRejection], next: PageMark?) throws {
        try connection.execute(
            """
            UPDATE pull_checkpoints SET cursor = ?, page = ?,
                high_water = CASE WHEN ? IS NOT NULL AND (high_water IS NULL OR ? > high_water) THEN ? ELSE high_water END
            WHERE source = ? AND open_trace_id = ?
            """,
            [SQLValue(next.cursor), SQLValue(next.page), SQLValue(counts.highWater), SQLValue(counts.highWater), SQLValue(counts.highWater),
             .text(source.rawValue), .text(traceID)])
        guard connection.changes == 1 else { throw PullSuperseded() }
        try connection.execute(
            """
            UPDATE pull_batches SET pages = pages + 1, fetched = fetched + ?, inserted = inserted + ?, updated = updated + ?,
                unchanged = unchanged + ?, rejected = rejected + ? WHERE trace_id = ?
            """,
            [.integer(Int64(counts.fetched)), .integer(Int64(counts.inserted)), .integer(Int64(counts.updated)), .integer(Int64(counts.unchanged)),
             .integer(Int64(counts.rejected)), .text(traceID)])
        for rejection in rejections {
            try connection.execute("INSERT INTO pull_rejections(source, trace_id, row_key, field, reason, created_at) VALUES (?, ?, ?, ?, ?, ?)",
                                   [.text(source.rawValue), .text(traceID), .text(rejection.key), .text(rejection.field), .text(rejection.reason), .text(stamp)])
        }
    }

    /// Closes a batch that took its last page: the next pull asks for what changed since the
    /// latest `updated_at` seen (kept from earlier batches when this one took nothing).
    func complete(_ source: RegistrySource, traceID: String, alert: Bool, milliseconds: Int) throws {
        try connection.execute(
            """
            UPDATE pull_checkpoints SET watermark = CASE WHEN high_water IS NOT NULL AND (watermark IS NULL OR high_water > watermark)
                THEN high_water ELSE watermark END, open_trace_id = NULL, since = NULL, cursor = NULL, page = NULL, high_water = NULL
            WHERE source = ? AND open_trace_id = ?
            """, [.text(source.rawValue), .text(traceID)])
        guard connection.changes == 1 else { throw PullSuperseded() }
        try finish(traceID, status: .completed, reason: nil, detail: nil, alert: alert, milliseconds: milliseconds)
    }

    /// Stops a batch before its end; the checkpoint stays, so the next pull resumes it.
    func stop(traceID: String, reason: PullStopReason, detail: String?, alert: Bool, milliseconds: Int) throws {
        try finish(traceID, status: .stopped, reason: reason, detail: detail, alert: alert, milliseconds: milliseconds)
    }

    private func finish(_ traceID: String, status: PullStatus, reason: PullStopReason?, detail: String?, alert: Bool, milliseconds: Int) throws {
        try connection.execute(
            "UPDATE pull_batches SET status = ?, reason = ?, detail = ?, alert = ?, finished_at = ?, duration_ms = ? WHERE trace_id = ?",
            [.text(status.rawValue), SQLValue(reason?.rawValue), SQLValue(detail.map { String($0.prefix(500)) }), .integer(alert ? 1 : 0), .text(stamp),
             .integer(Int64(milliseconds)), .text(traceID)])
    }

    /// Raises an alert about a source (a batch over the failure threshold, a source down, credentials refused).
    func alert(_ message: String) throws {
        try connection.execute("INSERT INTO alerts(kind, message, created_at) VALUES ('pull', ?, ?)", [.text(String(message.prefix(500))), .text(stamp)])
    }
}

/// Another pull took the source over: this one stops without writing.
struct PullSuperseded: Error {}

extension Optional where Wrapped == PageMark {
    var cursor: String? { if case .cursor(let cursor)? = self { return cursor } else { return nil } }
    var page: Int? { if case .page(let page)? = self { return page } else { return nil } }
}
