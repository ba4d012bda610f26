import Foundation
import SehatFHIR
import SehatJSON
import SehatStore

/// A pull's progress after each page: the batch's counts so far (a resumed batch counts what
/// it took before), and the rows the source says the batch holds, when it says.
public struct PullProgress: Sendable, Equatable {
    /// Which registry.
    public let source: RegistrySource
    /// Pages taken.
    public let pages: Int
    /// Rows received, and what they did.
    public let fetched: Int, inserted: Int, updated: Int, unchanged: Int, rejected: Int
    /// The rows of the whole batch (SISDMK's `meta.total`); nil when the source does not say.
    public let total: Int?
}


/// What one pull (a batch) did.
public struct PullReport: Sendable, Equatable {
    /// Which source.
    public let source: RegistrySource
    /// The batch's trace id (its requests carry it in `X-Request-ID`).
    public let traceID: String
    /// Completed, or stopped before the end.
    public let status: PullStatus
    /// Why it stopped, when it did.
    public let reason: PullStopReason?
    /// What went wrong, for a person.
    public let detail: String?
    /// Pages taken.
    public let pages: Int
    /// Rows received.
    public let fetched: Int
    /// New registry entries.
    public let inserted: Int
    /// Entries changed (a source's new data, or a second source vouching).
    public let updated: Int
    /// Rows that changed nothing.
    public let unchanged: Int
    /// Rows refused, each recorded with its reason.
    public let rejected: Int
    /// Whether more than 20 % of the rows were rejected (an alert is raised).
    public let alert: Bool
    /// Wall time.
    public let seconds: Double

    /// Rejected rows per row received (0 when none came).
    public var failureRate: Double { fetched == 0 ? 0 : Double(rejected) / Double(fetched) }
}

extension PullStopReason {
    /// Whether stopping for this reason needs a person (an alert): a source down or refusing
    /// the device does; being taken over or asked to stop does not.
    var raisesAlert: Bool { self != .superseded && self != .cancelled }
}

/// Pulls the health-workforce registry from KKI or SISDMK onto the device (seeds/001,
/// seeds/003): page by page, each page's rows, rejections and checkpoint in one
/// transaction; a bad row is recorded and the batch goes on; a source that does not answer
/// is tried 3 times with backoff, then the batch stops with an alert and the next pull
/// resumes it; an expired token is refreshed once, and a refused refresh stops the batch.
/// Only one page is in memory at a time.
///
///     let puller = RegistryPuller(client: client)
///     let report = try await puller.pull(.kki)
///     print(report.inserted, report.updated, report.rejected)
public final class RegistryPuller: Sendable {
    /// A batch whose rejected share is above this raises an alert (seeds/003: 20 %).
    public static let alertThreshold = 0.2
    /// Tries per page before the source counts as unreachable (seeds/003: 3).
    public static let tries = 3

    private let client: SehatClient
    private let transport: any HTTPTransport
    private let sleeper: any Sleeper
    private let pageSize: Int
    private let timeout: TimeInterval

    /// A puller for `client`'s database. `transport` defaults to URLSession; `sleeper` is how
    /// backoff waits (tests pass one driven by their clock).
    public init(client: SehatClient, transport: (any HTTPTransport)? = nil, sleeper: any Sleeper = SystemSleeper(), pageSize: Int = 500,
                timeout: TimeInterval = 30) {
        self.client = client
        self.transport = transport ?? URLSessionTransport()
        self.sleeper = sleeper
        self.pageSize = max(1, min(pageSize, 10_000))
        self.timeout = timeout
    }

    /// One batch from `source`: resumes an unfinished one, else asks for what changed since
    /// the last (everything when `full`).
    public func pull(_ source: RegistrySource, full: Bool = false, shouldStop: @Sendable () -> Bool = { false },
                     progress: (@Sendable (PullProgress) -> Void)? = nil) async throws -> PullReport {
        guard let settings = try client.registrySource(source) else {
            throw FieldError("source", "\(source.rawValue) is not set up on this device: run `sehat source set \(source.rawValue) …` first")
        }
        let started = DispatchTime.now().uptimeNanoseconds
        let traceID = UUID().uuidString.lowercased()
        let position = try client.database.write { try PullLedger(connection: $0, now: client.clock.now()).begin(source, full: full, traceID: traceID) }
        let tokens = TokenManager(authURL: settings.authURL, clientID: settings.clientID, secret: { try settings.readClientSecret() },
                                  transport: transport, clock: client.clock, timeout: timeout)
        let feed = source.feed
        var mark = position.mark
        var outcome: (reason: PullStopReason, detail: String)?
        var pageNumber = 0
        while true {
            pageNumber += 1
            let url = feed.url(base: settings.baseURL, since: position.since, mark: mark, pageSize: pageSize)
            let fetched = await fetchPage(url, feed: feed, tokens: tokens, traceID: traceID, page: pageNumber)
            guard case .success(let page) = fetched else {
                if case .failure(let stop) = fetched { outcome = (stop.reason, stop.detail) }
                break
            }
            do {
                try commit(page, source: source, traceID: traceID)
            } catch is PullSuperseded {
                outcome = (.superseded, "another pull of \(source.rawValue) took over")
                break
            }
            if let progress, let row = try client.database.read({ try $0.queryFirst("SELECT * FROM pull_batches WHERE trace_id = ?", [.text(traceID)]) }) {
                progress(PullProgress(source: source, pages: row.optionalInt("pages") ?? 0, fetched: row.optionalInt("fetched") ?? 0,
                                      inserted: row.optionalInt("inserted") ?? 0, updated: row.optionalInt("updated") ?? 0,
                                      unchanged: row.optionalInt("unchanged") ?? 0, rejected: row.optionalInt("rejected") ?? 0, total: page.total))
            }
            guard let next = page.next else { break }
            mark = next
            if shouldStop() {
                outcome = (.cancelled, "stopped between pages; the next pull resumes")
                break
            }
        }
        let milliseconds = Int((DispatchTime.now().uptimeNanoseconds - started) / 1_000_000)
        return try client.database.write { conn in
            let ledger = PullLedger(connection: conn, now: client.clock.now())
            let counts = try conn.queryFirst("SELECT * FROM pull_batches WHERE trace_id = ?", [.text(traceID)])
            let fetched = counts?.optionalInt("fetched") ?? 0
            let rejected = counts?.optionalInt("rejected") ?? 0
            let overThreshold = fetched > 0 && Double(rejected) / Double(fetched) > RegistryPuller.alertThreshold
            var status = PullStatus.completed
            if let outcome {
                status = .stopped
                let alarming = outcome.reason.raisesAlert
                try ledger.stop(traceID: traceID, reason: outcome.reason, detail: outcome.detail, alert: alarming || overThreshold, milliseconds: milliseconds)
                if alarming { try ledger.alert("pull from \(source.rawValue) stopped (\(outcome.reason.rawValue)): \(outcome.detail)") }
            } else {
                do {
                    try ledger.complete(source, traceID: traceID, alert: overThreshold, milliseconds: milliseconds)
                } catch is PullSuperseded {
                    status = .stopped
                    outcome = (.superseded, "another pull of \(source.rawValue) took over")
                    try ledger.stop(traceID: traceID, reason: .superseded, detail: outcome?.detail, alert: false, milliseconds: milliseconds)
                }
            }
            if overThreshold {
                try ledger.alert("pull from \(source.rawValue) (trace \(traceID)): \(rejected) of \(fetched) rows rejected, above the 20 % threshold")
            }
            return PullReport(
                source: source, traceID: traceID, status: status, reason: outcome?.reason, detail: outcome?.detail, pages: counts?.optionalInt("pages") ?? 0,
                fetched: fetched, inserted: counts?.optionalInt("inserted") ?? 0, updated: counts?.optionalInt("updated") ?? 0,
                unchanged: counts?.optionalInt("unchanged") ?? 0, rejected: rejected, alert: overThreshold || (outcome?.reason.raisesAlert ?? false),
                seconds: Double(milliseconds) / 1000)
        }
    }

    /// Pulls every configured source whose schedule is due: its interval has passed since its
    /// last batch started, or its last batch stopped and five minutes have passed (so an
    /// unreachable source is tried again soon, but not hammered). `sehat sync --watch` runs it
    /// beside the outbound work.
    public func pullDue(shouldStop: @Sendable () -> Bool = { false }) async throws -> [PullReport] {
        var reports: [PullReport] = []
        for source in RegistrySource.allCases {
            guard !shouldStop(), let settings = try client.registrySource(source), let interval = settings.schedule.interval else { continue }
            let last = try client.pullHistory(source: source, limit: 1).first
            let now = client.clock.now()
            if let last, let started = try? FHIRDateTime.parse(last.startedAt) {
                let wait = last.status == .stopped ? min(interval, 300) : interval
                guard now.timeIntervalSince(started) >= wait else { continue }
            }
            reports.append(try await pull(source, shouldStop: shouldStop))
        }
        return reports
    }

    /// Why fetching a page gave up.
    private struct Stop: Error {
        let reason: PullStopReason
        let detail: String
    }

    /// A page, after up to `tries` attempts; a 401 refreshes the token once per attempt.
    private func fetchPage(_ url: String, feed: any RegistryFeed, tokens: TokenManager, traceID: String, page: Int) async -> Result<FeedPage, Stop> {
        var last = Stop(reason: .unreachable, detail: "no answer")
        for attempt in 1...RegistryPuller.tries {
            if attempt > 1 { await sleeper.sleep(seconds: last.reason == .unreachable ? backoff(attempt) : 1) }
            var refreshed = false
            while true {
                let token: String
                do {
                    token = try await tokens.token()
                } catch let error as AuthError {
                    if error.refused { return .failure(Stop(reason: .authRefused, detail: error.message)) }
                    last = Stop(reason: .unreachable, detail: "token endpoint: \(error.message)")
                    break
                } catch {
                    // The secret file cannot be read: waiting will not help.
                    return .failure(Stop(reason: .authRefused, detail: "\(error)"))
                }
                let call = HTTPCall(method: "GET", url: url, headers: [
                    "Authorization": "Bearer \(token)", "Accept": "application/json", "X-Request-ID": "\(traceID)-p\(page)-a\(attempt)",
                ], timeout: timeout)
                let answer: HTTPAnswer
                do {
                    answer = try await transport.send(call)
                } catch {
                    last = Stop(reason: .unreachable, detail: "\(error)")
                    break
                }
                if answer.status == 401, !refreshed {
                    // Expired: one refresh, then the same request again.
                    await tokens.invalidate(token)
                    refreshed = true
                    continue
                }
                if answer.status == 401 || answer.status == 403 {
                    return .failure(Stop(reason: .authRefused, detail: "the source refused a fresh token (\(answer.status))"))
                }
                guard answer.status == 200 else {
                    last = Stop(reason: .unreachable, detail: "the source answered \(answer.status)")
                    break
                }
                do {
                    let json = try JSON.parse(bytes: answer.body)
                    return .success(try feed.read(json, now: client.clock.now()))
                } catch {
                    last = Stop(reason: .malformedPage, detail: "page \(page) is not the source's shape: \(String(describing: error).prefix(200))")
                    break
                }
            }
        }
        return .failure(last)
    }

    /// 1 s, then 2 s, … between tries.
    private func backoff(_ attempt: Int) -> TimeInterval { pow(2, Double(attempt - 2)) }

    /// A page's rows, rejections and checkpoint, in one transaction.
    private func commit(_ page: FeedPage, source: RegistrySource, traceID: String) throws {
        try client.database.write { conn in
            let now = client.clock.now()
            let store = RegistryStore(connection: conn, stamp: FHIRDateTime.format(now))
            var counts = PageCounts()
            var rejections: [RowRejection] = []
            for row in page.rows {
                counts.fetched += 1
                switch row {
                case .rejected(let rejection):
                    counts.rejected += 1
                    rejections.append(rejection)
                case .row(let row):
                    switch try store.apply(row, from: source) {
                    case .inserted: counts.inserted += 1
                    case .updated: counts.updated += 1
                    case .unchanged: counts.unchanged += 1
                    }
                    if counts.highWater.map({ row.updatedAt > $0 }) ?? true { counts.highWater = row.updatedAt }
                }
            }
            try PullLedger(connection: conn, now: now).commitPage(source, traceID: traceID, counts: counts, rejections: rejections, next: page.next)
        }
    }
}
