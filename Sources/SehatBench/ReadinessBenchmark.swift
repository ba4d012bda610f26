import Foundation
import SehatFHIR
import SehatJSON
import SehatSync
import SehatStore

/// `sehat bench ready`: fills the outbox with N items (most waiting on dependencies, a
/// tenth ready, some completed) and times the engine's ready query through its index,
/// beside the same query forced to scan the table (`NOT INDEXED`) as the baseline.
public enum ReadinessBenchmark {
    /// What one run measured.
    public struct Result: Sendable {
        /// Items queued.
        public let items: Int
        /// Items picked per query.
        public let batch: Int
        /// The engine's ready query, through its index.
        public let indexed: LatencyStats
        /// The same query forced to scan the table (the baseline).
        public let scan: LatencyStats
        /// SQLite's query plan for the engine's query.
        public let plan: String
    }

    /// Fills a fresh database in `directory` and times both queries.
    public static func run(items: Int, batch: Int = 50, repetitions: Int = 200, directory: String,
                           progress: (String) -> Void = { _ in }) throws -> Result {
        let client = try filledOutbox(items: items, path: directory + "/bench-ready.db", directory: directory, progress: progress)
        let nowMs = Int64(Date().timeIntervalSince1970 * 1000)
        let indexedSQL = OutboxReader.readySQL
        let scanSQL = indexedSQL.replacingOccurrences(of: "FROM outbox", with: "FROM outbox NOT INDEXED")
        return try client.database.read { conn in
            let plan = try conn.query("EXPLAIN QUERY PLAN " + indexedSQL, [.integer(nowMs), .integer(Int64(batch))])
                .map { $0["detail"].string ?? "" }.joined(separator: "; ")
            func time(_ sql: String, _ times: Int) throws -> LatencyStats {
                var samples: [Double] = []
                for _ in 0..<times {
                    samples.append(try measure {
                        let ids = try conn.query(sql, [.integer(nowMs), .integer(Int64(batch))])
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

    /// A fresh configured database at `path` whose outbox holds `items` synthetic items: most
    /// waiting on dependencies, a tenth ready, a fifth completed, 1 in 97 in the emergency lane.
    static func filledOutbox(items: Int, path: String, directory: String, progress: (String) -> Void) throws -> SehatClient {
        for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + suffix) }
        let client = try SehatClient(path: path)
        try SampleClinic.configure(client, directory: directory)
        try client.addLocation(code: "BENCH", name: "Bench")
        progress("filling the outbox with \(items) items")
        let now = client.clock.now()
        try client.database.write { conn in
            let resource = try conn.scalar("SELECT local_id FROM resources LIMIT 1").string ?? ""
            try OutboxLifecycle(connection: conn, now: now).loadSyntheticQueue(count: items, resourceID: resource)
        }
        return client
    }
}
