import Foundation
import SehatFHIR
import SehatStore

/// The device's state in the Prometheus text format (version 0.0.4).
enum Metrics {
    static func render(_ conn: Connection) throws -> String {
        var out: [String] = []
        func family(_ name: String, _ type: String, _ help: String, _ samples: [(labels: [(String, String)], value: String)]) {
            out.append("# HELP \(name) \(help)")
            out.append("# TYPE \(name) \(type)")
            for sample in samples {
                let labels = sample.labels.isEmpty ? "" : "{" + sample.labels.map { "\($0.0)=\"\(escape($0.1))\"" }.joined(separator: ",") + "}"
                out.append("\(name)\(labels) \(sample.value)")
            }
        }
        family("sehat_outbox_items", "gauge", "Outbox items by lane and status.",
               try OutboxReader(connection: conn).counts().map { ([("lane", $0.lane.rawValue), ("status", $0.status.rawValue)], String($0.count)) })
        family("sehat_outbox_escalated_items", "gauge", "Items escalated after max retries and still retrying.",
               [([], String(try OutboxReader(connection: conn).escalatedCount()))])
        family("sehat_sync_requests_total", "counter", "HTTP attempts by status class (none: no answer).",
               try conn.query(
                   """
                   SELECT CASE WHEN status IS NULL THEN 'none' ELSE (status / 100) || 'xx' END AS class, count(*) AS n
                   FROM sync_log GROUP BY class ORDER BY class
                   """).map { ([("status", $0["class"].string ?? "")], String($0["n"].int ?? 0)) })
        family("sehat_sync_request_duration_milliseconds_sum", "counter", "Total time spent in HTTP attempts.",
               [([], String(try conn.scalar("SELECT coalesce(sum(duration_ms), 0) FROM sync_log").int ?? 0))])
        family("sehat_errors_total", "counter", "Failed attempts by class and resolution.",
               try conn.query("SELECT category, resolution_status, count(*) AS n FROM error_log GROUP BY 1, 2 ORDER BY 1, 2").map {
                   ([("category", $0["category"].string ?? ""), ("resolution", $0["resolution_status"].string ?? "")], String($0["n"].int ?? 0))
               })
        family("sehat_alerts_total", "counter", "Alerts raised for a person.", [([], String(try conn.scalar("SELECT count(*) FROM alerts").int ?? 0))])
        family("sehat_endpoint_healthy", "gauge", "Latest health check per endpoint (1 healthy, 0.5 degraded, 0 unhealthy).",
               try conn.query(
                   "SELECT endpoint, status FROM health_checks WHERE id IN (SELECT max(id) FROM health_checks GROUP BY endpoint) ORDER BY endpoint"
               ).map { row in
                   let value = ["healthy": "1", "degraded": "0.5"][row["status"].string ?? ""] ?? "0"
                   return ([("endpoint", row["endpoint"].string ?? "")], value)
               })
        // Inbound (seeds/003: counts succeeded and failed, and durations, per source).
        family("sehat_registry_entries", "gauge", "People in the workforce registry on the device.",
               [([], String(try conn.scalar("SELECT count(*) FROM registry_entries").int ?? 0))])
        family("sehat_pull_batches_total", "counter", "Registry pulls by source and how they ended.",
               try conn.query("SELECT source, status, count(*) AS n FROM pull_batches GROUP BY 1, 2 ORDER BY 1, 2").map {
                   ([("source", $0["source"].string ?? ""), ("status", $0["status"].string ?? "")], String($0["n"].int ?? 0))
               })
        family("sehat_pull_rows_total", "counter", "Rows received from each source, by what they did.",
               try conn.query(
                   """
                   SELECT source, sum(inserted) AS inserted, sum(updated) AS updated, sum(unchanged) AS unchanged, sum(rejected) AS rejected
                   FROM pull_batches GROUP BY source ORDER BY source
                   """).flatMap { row in
                   ["inserted", "updated", "unchanged", "rejected"].map { outcome in
                       ([("source", row["source"].string ?? ""), ("outcome", outcome)], String(row[outcome].int ?? 0))
                   }
               })
        family("sehat_pull_last_completed_timestamp_seconds", "gauge", "When each source last completed a pull (Unix time).",
               try conn.query("SELECT source, max(finished_at) AS at FROM pull_batches WHERE status = 'completed' GROUP BY source ORDER BY source").map { row in
                   let seconds = (row["at"].string).flatMap { try? FHIRDateTime.parse($0) }.map { String(Int($0.timeIntervalSince1970)) } ?? "0"
                   return ([("source", row["source"].string ?? "")], seconds)
               })
        family("sehat_pull_last_duration_seconds", "gauge", "How long each source's latest pull took.",
               try conn.query(
                   """
                   SELECT source, duration_ms FROM pull_batches b WHERE duration_ms IS NOT NULL
                     AND started_at = (SELECT max(started_at) FROM pull_batches WHERE source = b.source AND duration_ms IS NOT NULL) ORDER BY source
                   """).map { ([("source", $0["source"].string ?? "")], String(format: "%.3f", Double($0["duration_ms"].int ?? 0) / 1000)) })
        return out.joined(separator: "\n") + "\n"
    }

    private static func escape(_ text: String) -> String {
        text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"").replacingOccurrences(of: "\n", with: "\\n")
    }
}
