import Foundation
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
               try conn.query("SELECT lane, status, count(*) AS n FROM outbox GROUP BY lane, status ORDER BY lane, status").map {
                   ([("lane", $0["lane"].string ?? ""), ("status", $0["status"].string ?? "")], String($0["n"].int ?? 0))
               })
        family("sehat_outbox_escalated_items", "gauge", "Items escalated after max retries and still retrying.",
               [([], String(try conn.scalar("SELECT count(*) FROM outbox WHERE escalated_at IS NOT NULL AND status <> 'completed'").int ?? 0))])
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
        return out.joined(separator: "\n") + "\n"
    }

    private static func escape(_ text: String) -> String {
        text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"").replacingOccurrences(of: "\n", with: "\\n")
    }
}
