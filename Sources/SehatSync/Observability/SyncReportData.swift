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
    public let progress: [TypeProgress]
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

    /// One resource type: how many were recorded, how many the server has.
    public struct TypeProgress: Sendable, Equatable {
        /// The FHIR type (or the queue, for webhooks).
        public let resourceType: String
        /// Resources recorded (a resource counts once, however many changes it queued);
        /// withdrawn ones are not counted.
        public let recorded: Int
        /// Of those, delivered with every change.
        public let sent: Int
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

/// Reads `SyncReportData` in one read transaction. Each chart is one pass over its table,
/// grouped in SQL, so a million items read in well under the two seconds a page may take.
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
            lastSuccess: try lastSuccess(),
            queue: try queue(from: from),
            requests: try requests(sent, from: from),
            endpoints: endpoints(sent, base: bases?["base_url"].string, emergency: bases?["emergency_url"].string),
            progress: try progress(),
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

    /// The newest 2xx answer per destination: the sync log's newest rows first, through its
    /// primary key, until both destinations are found (or the log ends).
    private func lastSuccess() throws -> [Target: Date] {
        var found: [Target: Date] = [:]
        for target in Target.allCases {
            let at = try connection.scalar(
                """
                SELECT s.created_at FROM sync_log s JOIN outbox o ON o.id = s.item_id
                WHERE s.status BETWEEN 200 AND 299 AND o.target = ? ORDER BY s.id DESC LIMIT 1
                """, [.text(target.rawValue)]).string
            if let at, let date = try? FHIRDateTime.parse(at) { found[target] = date }
        }
        return found
    }

    /// Hourly: items recorded, delivered and stopped in each hour, summed into the queue as
    /// it stood at the end of each hour. One grouped pass over the outbox.
    private func queue(from: String) throws -> [SyncReportData.QueuePoint] {
        let rows = try connection.query(
            """
            SELECT substr(created_at, 1, 13) AS recorded, substr(completed_at, 1, 13) AS delivered,
                   CASE WHEN status IN ('failed', 'held', 'dead') AND withdrawn = 0 THEN substr(updated_at, 1, 13) END AS stopped, count(*) AS n
            FROM outbox WHERE withdrawn = 0 GROUP BY 1, 2, 3
            """)
        var recorded: [String: Int] = [:], delivered: [String: Int] = [:], stopped: [String: Int] = [:]
        for row in rows {
            let n = row["n"].int ?? 0
            if let hour = row["recorded"].string { recorded[hour, default: 0] += n }
            if let hour = row["delivered"].string { delivered[hour, default: 0] += n }
            if let hour = row["stopped"].string { stopped[hour, default: 0] += n }
        }
        let start = String(from.prefix(13))
        let hours = Set(recorded.keys).union(delivered.keys).union(stopped.keys).union([String(FHIRDateTime.format(now).prefix(13))]).sorted()
        var points: [SyncReportData.QueuePoint] = []
        var (r, d, s) = (0, 0, 0)
        for hour in hours {
            r += recorded[hour] ?? 0
            d += delivered[hour] ?? 0
            s += stopped[hour] ?? 0
            guard hour >= start else { continue }
            points.append(.init(hour: hour, waiting: max(0, r - d - s), delivered: d, stopped: s))
        }
        return points
    }

    /// One row per request (a bundle's items share its request id): its hour, status,
    /// duration, method and URL. Attempts that were never sent carry no request id.
    private func requestRows(from: String) throws -> [Row] {
        try connection.query(
            """
            SELECT substr(min(s.created_at), 1, 13) AS hour, max(s.status) AS status, max(s.duration_ms) AS ms, min(s.method) AS method,
                   min(s.url) AS url, min(o.target) AS target
            FROM sync_log s JOIN outbox o ON o.id = s.item_id
            WHERE s.created_at >= ? AND s.request_id <> '-' GROUP BY s.request_id
            """, [.text(from)])
    }

    private func requests(_ sent: [Row], from: String) throws -> [SyncReportData.HourRequests] {
        var byHour: [String: (Int, Int, Int, Int)] = [:]
        for row in sent {
            let hour = row["hour"].string ?? ""
            var tally = byHour[hour] ?? (0, 0, 0, 0)
            switch row["status"].int {
            case .some(200..<300): tally.0 += 1
            case .some(429), .some(500...): tally.2 += 1
            case .some: tally.1 += 1
            case nil: tally.3 += 1
            }
            byHour[hour] = tally
        }
        for row in try connection.query(
            "SELECT substr(created_at, 1, 13) AS hour, count(*) AS n FROM sync_log WHERE created_at >= ? AND request_id = '-' GROUP BY 1", [.text(from)])
        {
            byHour[row["hour"].string ?? "", default: (0, 0, 0, 0)].3 += row["n"].int ?? 0
        }
        return byHour.keys.sorted().map { hour in
            let t = byHour[hour]!
            return .init(hour: hour, success: t.0, clientError: t.1, serverError: t.2, offline: t.3)
        }
    }

    private func endpoints(_ sent: [Row], base: String?, emergency: String?) -> [SyncReportData.EndpointStats] {
        var groups: [String: (target: Target, durations: [Int], errors: Int)] = [:]
        for row in sent {
            guard let target = Target(rawValue: row["target"].string ?? "") else { continue }
            let name = Self.endpoint(method: row["method"].string ?? "", url: row["url"].string ?? "", base: target == .emergency ? emergency : base)
            var group = groups["\(target.rawValue) \(name)"] ?? (target, [], 0)
            group.durations.append(row["ms"].int ?? 0)
            if !(200..<300).contains(row["status"].int ?? 0) { group.errors += 1 }
            groups["\(target.rawValue) \(name)"] = group
        }
        return groups.keys.sorted().map { key in
            let group = groups[key]!
            let sorted = group.durations.sorted()
            func percentile(_ p: Double) -> Int { sorted.isEmpty ? 0 : sorted[min(sorted.count - 1, Int((p * Double(sorted.count)).rounded(.up)) - 1)] }
            return .init(target: group.target, endpoint: String(key.drop { $0 != " " }.dropFirst()), requests: sorted.count,
                         p50Milliseconds: percentile(0.5), p95Milliseconds: percentile(0.95), errors: group.errors)
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

    /// Per type, resources rather than changes: a resource counts once however many updates
    /// it queued, and is sent when every one of them is delivered.
    private func progress() throws -> [SyncReportData.TypeProgress] {
        try connection.query(
            """
            SELECT type, count(*) AS recorded, sum(done) AS sent FROM (
                SELECT coalesce(resource_type, queue) AS type, coalesce(resource_id, report_id, id) AS resource, min(status = 'completed') AS done
                FROM outbox WHERE withdrawn = 0 GROUP BY 1, 2)
            GROUP BY type ORDER BY type
            """).map { SyncReportData.TypeProgress(resourceType: $0["type"].string ?? "", recorded: $0["recorded"].int ?? 0, sent: $0["sent"].int ?? 0) }
    }
}
