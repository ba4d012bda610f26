import Foundation
import SehatStore

/// `sehat bench ready`: fills the outbox with N items (most waiting on dependencies, a
/// tenth ready, some completed) and times the engine's ready query through its index,
/// beside the same query forced to scan the table (`NOT INDEXED`) as the baseline.
public enum ReadinessBenchmark {
    public struct Result: Sendable {
        public let items: Int
        public let batch: Int
        public let indexed: LatencyStats
        public let scan: LatencyStats
        public let plan: String
    }

    public static func run(items: Int, batch: Int = 50, repetitions: Int = 200, directory: String,
                           progress: (String) -> Void = { _ in }) throws -> Result {
        let path = directory + "/bench-ready.db"
        for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + suffix) }
        let client = try SehatClient(path: path)
        try SampleClinic.configure(client, directory: directory)
        try client.addLocation(code: "BENCH", name: "Bench")
        progress("filling the outbox with \(items) items")
        try client.database.write { conn in
            let resource = try conn.scalar("SELECT local_id FROM resources LIMIT 1")
            try conn.execute(
                """
                WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?)
                INSERT INTO outbox(lane, queue, target, operation, resource_type, resource_id, priority, status, unresolved_deps,
                                   max_retries, next_attempt_at, created_at, updated_at)
                SELECT CASE WHEN i % 97 = 0 THEN 'emergency' ELSE 'clinic' END, 'satusehat.observation.normal', 'satusehat',
                       'create', 'Observation', ?, 100 + i % 7,
                       CASE WHEN i % 5 = 0 THEN 'completed' ELSE 'pending' END,
                       CASE WHEN i % 10 = 1 THEN 0 ELSE 1 + i % 3 END, 3, i % 1000, '2025-01-01', '2025-01-01'
                FROM n
                """,
                [.integer(Int64(items)), resource])
        }
        let now = Int64(Date().timeIntervalSince1970 * 1000)
        let indexedSQL = OutboxReader.readySQL
        let scanSQL = indexedSQL.replacingOccurrences(of: "FROM outbox", with: "FROM outbox NOT INDEXED")
        return try client.database.read { conn in
            let plan = try conn.query("EXPLAIN QUERY PLAN " + indexedSQL, [.integer(now), .integer(Int64(batch))])
                .map { $0["detail"].string ?? "" }.joined(separator: "; ")
            func time(_ sql: String, _ times: Int) throws -> LatencyStats {
                var samples: [Double] = []
                for _ in 0..<times {
                    samples.append(try measure {
                        let ids = try conn.query(sql, [.integer(now), .integer(Int64(batch))])
                        precondition(ids.count == min(batch, items / 10), "ready query returned \(ids.count) rows")
                    })
                }
                return LatencyStats(samples: samples)
            }
            let indexed = try time(indexedSQL, repetitions)
            let scan = try time(scanSQL, max(3, repetitions / 20))
            return Result(items: items, batch: batch, indexed: indexed, scan: scan, plan: plan)
        }
    }
}
