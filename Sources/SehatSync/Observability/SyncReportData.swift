import Foundation
import SehatFHIR
import SehatStore

/// Everything `sehat report` draws, read from the device's database alone: typed numbers and
/// times, no sentences (the app words them, in its language).
///
///     let data = try client.reportData(since: Date().addingTimeInterval(-7 * 86_400))
///     print(data.progress.map { "\($0.resourceType): \($0.sent)/\($0.recorded)" })
public struct SyncReportData: Sendable, Equatable {
    /// When it was read.
    public let generatedAt: Date
    /// The start of the period the charts cover (the headline is always now).
    public let since: Date
    /// Items per lane and status now (maintained counters).
    public let counts: [OutboxCount]
    /// Items escalated after their retries and still retrying.
    public let escalated: Int
    /// Alerts raised for a person, by kind.
    public let alerts: [Tally]
    /// The last acknowledged request per destination (nil: none yet).
    public let lastSuccess: [Target: Date]
    /// The queue at each hour of the period, by status.
    public let queue: [QueuePoint]
    /// Requests per hour by how they were answered.
    public let requests: [HourRequests]
    /// Latency and errors per endpoint over the period.
    public let endpoints: [EndpointStats]
    /// Resources recorded and delivered, per resource type (what "unsynced" counts).
    public let progress: [ResourceProgress]
    /// Failed attempts by class and resolution, over the period.
    public let failures: [FailureTally]
    /// Panic reports of the period: recorded, and acknowledged by the emergency service.
    public let panics: [PanicTiming]
    /// Registry pulls of the period, newest first.
    public let pulls: [PullSummary]

    /// A count under a name.
    public struct Tally: Sendable, Equatable {
        /// What is counted.
        public let name: String
        /// How many.
        public let count: Int
    }

    /// The queue at one hour: items not yet delivered (pending or in flight), delivered, and
    /// stopped for a person (failed, held or dead since).
    public struct QueuePoint: Sendable, Equatable {
        /// The hour (`2026-01-10T10`, UTC).
        public let hour: String
        /// Recorded and not yet delivered nor stopped.
        public let waiting: Int
        /// Delivered, in all.
        public let delivered: Int
        /// Failed, held or dead (as they are now, since they stopped).
        public let stopped: Int
    }

    /// Requests of one hour by answer class. A packed bundle is one request.
    public struct HourRequests: Sendable, Equatable {
        /// The hour (`2026-01-10T10`, UTC).
        public let hour: String
        /// Answered 2xx.
        public let success: Int
        /// Answered 4xx.
        public let clientError: Int
        /// Answered 5xx (or 429).
        public let serverError: Int
        /// Not answered: offline, no answer, an open circuit, something else answered.
        public let offline: Int
    }

    /// One endpoint's requests over the period.
    public struct EndpointStats: Sendable, Equatable {
        /// Who receives them.
        public let target: Target
        /// `POST Bundle`, `GET Patient`, `POST Encounter`, `POST /notify` …
        public let endpoint: String
        /// Requests sent.
        public let requests: Int
        /// Median duration, milliseconds.
        public let p50Milliseconds: Int
        /// 95th percentile duration, milliseconds.
        public let p95Milliseconds: Int
        /// Requests not answered 2xx.
        public let errors: Int

        /// Errors ÷ requests.
        public var errorRate: Double { requests == 0 ? 0 : Double(errors) / Double(requests) }
    }

    /// Failed attempts of one class in one resolution state.
    public struct FailureTally: Sendable, Equatable {
        /// The class.
        public let category: FailureClass
        /// Where it stands.
        public let resolution: ErrorResolution
        /// How many.
        public let count: Int
    }

    /// One panic report.
    public struct PanicTiming: Sendable, Equatable {
        /// The emergency's id.
        public let emergencyID: String
        /// When it was recorded on the device.
        public let recordedAt: Date
        /// When the emergency service acknowledged it (nil: not yet).
        public let acknowledgedAt: Date?

        /// Seconds from recording to acknowledgement.
        public var seconds: Double? { acknowledgedAt.map { $0.timeIntervalSince(recordedAt) } }
    }

    /// One registry pull.
    public struct PullSummary: Sendable, Equatable {
        /// `kki` or `sisdmk`.
        public let source: String
        /// When it started.
        public let startedAt: String
        /// `running`, `completed` or `stopped`.
        public let status: String
        /// Rows received, and what they did.
        public let fetched: Int, inserted: Int, updated: Int, unchanged: Int, rejected: Int

        /// Rejected ÷ received.
        public var failureRate: Double { fetched == 0 ? 0 : Double(rejected) / Double(fetched) }
    }
}

/// Reads `SyncReportData` in one read transaction, from tables kept as things happen
/// (migration 12), so a million items read as fast as ten.
struct SyncReportReader {
    let connection: Connection
    let now: Date

    func read(since: Date) throws -> SyncReportData {
        let from = FHIRDateTime.format(since)
        let bases = try connection.queryFirst("SELECT base_url, emergency_url FROM config WHERE id = 1")
        let sent = try requestRows(from: from)
        return SyncReportData(
            generatedAt: now, since: since,
            counts: try OutboxReader(connection: connection).counts(),
            escalated: try OutboxReader(connection: connection).escalatedCount(),
            alerts: try connection.query("SELECT kind, count(*) AS n FROM alerts GROUP BY kind ORDER BY kind").map {
                SyncReportData.Tally(name: $0["kind"].string ?? "", count: $0["n"].int ?? 0)
            },
            lastSuccess: try Self.lastSuccess(connection),
            queue: try queue(from: from),
            requests: requests(sent),
            endpoints: endpoints(sent, base: bases?["base_url"].string, emergency: bases?["emergency_url"].string),
            progress: try Self.progress(connection),
            failures: try connection.query(
                "SELECT category, resolution_status, count(*) AS n FROM error_log WHERE created_at >= ? GROUP BY 1, 2 ORDER BY 1, 2", [.text(from)]
            ).compactMap { row in
                guard let category = FailureClass(rawValue: row["category"].string ?? ""),
                    let resolution = ErrorResolution(rawValue: row["resolution_status"].string ?? "") else { return nil }
                return SyncReportData.FailureTally(category: category, resolution: resolution, count: row["n"].int ?? 0)
            },
            panics: try connection.query(
                """
                SELECT p.emergency_id, p.created_at, (SELECT min(o.completed_at) FROM outbox o
                    WHERE o.report_id = p.emergency_id AND o.operation = 'notify' AND o.status = 'completed') AS acknowledged
                FROM panic_reports p WHERE p.created_at >= ? ORDER BY p.created_at
                """, [.text(from)]
            ).compactMap { row in
                guard let recorded = row["created_at"].string.flatMap({ try? FHIRDateTime.parse($0) }) else { return nil }
                return SyncReportData.PanicTiming(emergencyID: row["emergency_id"].string ?? "", recordedAt: recorded,
                                                  acknowledgedAt: row["acknowledged"].string.flatMap { try? FHIRDateTime.parse($0) })
            },
            pulls: try connection.query(
                """
                SELECT source, started_at, status, fetched, inserted, updated, unchanged, rejected FROM pull_batches
                WHERE started_at >= ? ORDER BY started_at DESC LIMIT 200
                """, [.text(from)]
            ).map { row in
                SyncReportData.PullSummary(source: row["source"].string ?? "", startedAt: row["started_at"].string ?? "", status: row["status"].string ?? "",
                                           fetched: row["fetched"].int ?? 0, inserted: row["inserted"].int ?? 0, updated: row["updated"].int ?? 0,
                                           unchanged: row["unchanged"].int ?? 0, rejected: row["rejected"].int ?? 0)
            })
    }

    /// The newest 2xx answer per destination (`last_success`, kept with the sync log).
    static func lastSuccess(_ connection: Connection) throws -> [Target: Date] {
        var found: [Target: Date] = [:]
        for row in try connection.query("SELECT target, at FROM last_success") {
            if let target = Target(rawValue: row["target"].string ?? ""), let at = row["at"].string, let date = try? FHIRDateTime.parse(at) {
                found[target] = date
            }
        }
        return found
    }

    /// Hourly: items recorded, delivered and stopped in each hour (`outbox_hours`, kept by
    /// triggers), summed into the queue as it stood at the end of each hour, up to this hour.
    private func queue(from: String) throws -> [SyncReportData.QueuePoint] {
        let start = String(from.prefix(13)), current = String(FHIRDateTime.format(now).prefix(13))
        var points: [SyncReportData.QueuePoint] = []
        var (recorded, delivered, stopped) = (0, 0, 0)
        for row in try connection.query("SELECT hour, recorded, delivered, stopped FROM outbox_hours ORDER BY hour") {
            let hour = row["hour"].string ?? ""
            recorded += row["recorded"].int ?? 0
            delivered += row["delivered"].int ?? 0
            stopped += row["stopped"].int ?? 0
            if hour >= start { points.append(.init(hour: hour, waiting: max(0, recorded - delivered - stopped), delivered: delivered, stopped: stopped)) }
        }
        if points.last.map({ $0.hour < current }) ?? true, current >= start {
            points.append(.init(hour: current, waiting: max(0, recorded - delivered - stopped), delivered: delivered, stopped: stopped))
        }
        return points
    }

    /// One row per request of the period (`sync_requests`: a bundle's items share one).
    private func requestRows(from: String) throws -> [Row] {
        try connection.query(
            "SELECT substr(created_at, 1, 13) AS hour, request_id, status, duration_ms AS ms, method, url, target FROM sync_requests WHERE created_at >= ?",
            [.text(from)])
    }

    private func requests(_ sent: [Row]) -> [SyncReportData.HourRequests] {
        var byHour: [String: (Int, Int, Int, Int)] = [:]
        for row in sent {
            let hour = row["hour"].string ?? ""
            var tally = byHour[hour] ?? (0, 0, 0, 0)
            switch row["request_id"].string == nil ? nil : row["status"].int {
            case .some(200..<300): tally.0 += 1
            case .some(429), .some(500...): tally.2 += 1
            case .some: tally.1 += 1
            case nil: tally.3 += 1
            }
            byHour[hour] = tally
        }
        return byHour.keys.sorted().map { hour in
            let t = byHour[hour]!
            return .init(hour: hour, success: t.0, clientError: t.1, serverError: t.2, offline: t.3)
        }
    }

    private func endpoints(_ sent: [Row], base: String?, emergency: String?) -> [SyncReportData.EndpointStats] {
        struct Key: Hashable, Comparable {
            let target: Target
            let endpoint: String
            static func < (a: Key, b: Key) -> Bool { (a.target.rawValue, a.endpoint) < (b.target.rawValue, b.endpoint) }
        }
        var groups: [Key: (durations: [Int], errors: Int)] = [:]
        for row in sent where row["request_id"].string != nil {
            guard let target = Target(rawValue: row["target"].string ?? "") else { continue }
            let key = Key(target: target, endpoint: Self.endpoint(method: row["method"].string ?? "", url: row["url"].string ?? "",
                                                                  base: target == .emergency ? emergency : base))
            groups[key, default: ([], 0)].durations.append(row["ms"].int ?? 0)
            if !(200..<300).contains(row["status"].int ?? 0) { groups[key, default: ([], 0)].errors += 1 }
        }
        return groups.keys.sorted().map { key in
            let sorted = groups[key]!.durations.sorted()
            func percentile(_ p: Double) -> Int { sorted.isEmpty ? 0 : sorted[min(sorted.count - 1, Int((p * Double(sorted.count)).rounded(.up)) - 1)] }
            return .init(target: key.target, endpoint: key.endpoint, requests: sorted.count,
                         p50Milliseconds: percentile(0.5), p95Milliseconds: percentile(0.95), errors: groups[key]!.errors)
        }
    }

    /// `POST Bundle` for a transaction at the base, `GET Patient` for a search, `PUT Encounter`
    /// for an update (ids and queries dropped), the path itself for the emergency service.
    static func endpoint(method: String, url: String, base: String?) -> String {
        var path = Substring(url)
        if let base, path.hasPrefix(base) { path = path.dropFirst(base.count) } else if let scheme = path.range(of: "://") {
            path = path[scheme.upperBound...].drop { $0 != "/" }
        }
        path = path.prefix { $0 != "?" }
        let parts = path.split(separator: "/")
        guard let first = parts.first else { return "\(method) Bundle" }
        return first.first?.isUppercase == true ? "\(method) \(first)" : "\(method) /\(parts.joined(separator: "/"))"
    }

    /// Per type, resources rather than changes: a resource counts once however many changes it
    /// queued, and is sent when every one is delivered. Counted when read, each part through
    /// an index: resources per type (the `resources` identifier index, covering), the
    /// resources with an item not yet delivered (`outbox_by_lane_status`, the statuses before
    /// `completed`), and those whose every item was withdrawn (`outbox_withdrawn`); webhooks,
    /// one resource each, from the emergency lane. Fast when little is waiting; with a million
    /// items waiting, the second part reads them all.
    static func progress(_ connection: Connection) throws -> [ResourceProgress] {
        var recorded: [String: Int] = [:], open: [String: Int] = [:], sent: [String: Int] = [:]
        for row in try connection.query("SELECT resource_type AS type, count(*) AS n FROM resources GROUP BY resource_type") {
            recorded[row["type"].string ?? "", default: 0] += row["n"].int ?? 0
        }
        for row in try connection.query(
            """
            SELECT resource_type AS type, count(DISTINCT resource_id) AS n FROM outbox o WHERE withdrawn = 1
              AND NOT EXISTS (SELECT 1 FROM outbox x WHERE x.resource_id = o.resource_id AND x.withdrawn = 0) GROUP BY resource_type
            """)
        {
            recorded[row["type"].string ?? "", default: 0] -= row["n"].int ?? 0
        }
        for row in try connection.query(
            """
            SELECT resource_type AS type, count(DISTINCT resource_id) AS n FROM outbox
            WHERE lane IN ('emergency', 'clinic') AND status IN ('pending', 'processing', 'failed', 'dead', 'held')
              AND withdrawn = 0 AND resource_id IS NOT NULL
            GROUP BY resource_type
            """)
        {
            open[row["type"].string ?? ""] = row["n"].int ?? 0
        }
        for row in try connection.query(
            """
            SELECT queue, count(*) AS n, sum(status = 'completed') AS done FROM outbox
            WHERE lane = 'emergency' AND resource_id IS NULL AND withdrawn = 0 GROUP BY queue
            """)
        {
            let queue = row["queue"].string ?? ""
            recorded[queue, default: 0] += row["n"].int ?? 0
            sent[queue, default: 0] += row["done"].int ?? 0
        }
        return recorded.keys.sorted().compactMap { type in
            guard let count = recorded[type], count > 0 else { return nil }
            return ResourceProgress(resourceType: type, recorded: count, sent: sent[type] ?? max(0, count - (open[type] ?? 0)))
        }
    }
}
