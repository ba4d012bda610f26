import Foundation
import SehatStore
import SehatSync

/// `sehat bench scale`: an outbox of N items (most waiting on dependencies, a tenth ready, a
/// fifth completed, as `bench ready` fills it), and what a person or the engine reads from it —
/// opening the database with crash recovery, `status`, the outbox's first page, `metrics`, the
/// next ready batch, the report page's numbers — each beside the baseline of counting the outbox row by row, which is
/// what those screens did before the counts were maintained.
package enum ScaleBenchmark {
    package struct Result {
        package let items: Int
        package let bytesPerItem: Double
        package let open: LatencyStats
        package let status: LatencyStats
        package let firstPage: LatencyStats
        package let metrics: LatencyStats
        package let readyBatch: LatencyStats
        /// Everything the report page shows, read from the database (the page's numbers).
        package let report: LatencyStats
        /// Counting the outbox by lane and status, row by row: the baseline.
        package let counted: LatencyStats
    }

    package static func run(items: Int, repetitions: Int = 20, directory: String, progress: (String) -> Void) throws -> Result {
        let path = directory + "/bench-scale.db"
        do {
            let client = try ReadinessBenchmark.filledOutbox(items: items, path: path, directory: directory, progress: progress)
            try client.database.withoutTransaction { try $0.execute("PRAGMA wal_checkpoint(TRUNCATE)") }
        }
        let bytes = (try FileManager.default.attributesOfItem(atPath: path)[.size] as? NSNumber)?.doubleValue ?? 0
        progress("timing \(repetitions) runs of each")
        func time(_ times: Int, _ body: () throws -> Void) throws -> LatencyStats {
            LatencyStats(samples: try (0..<times).map { _ in try measure(body) })
        }
        // Opening: the schema check, then what a sync does first — taking back what a gone engine left in flight.
        let open = try time(repetitions) {
            let client = try SehatClient(path: path)
            let now = client.clock.now()
            _ = try client.database.write { try OutboxLifecycle(connection: $0, now: now).recover() }
        }
        let client = try SehatClient(path: path)
        let status = try time(repetitions) { _ = try client.status() }
        let firstPage = try time(repetitions) { _ = try client.outboxItems(limit: 200) }
        let metrics = try time(repetitions) { _ = try client.metrics() }
        let readyBatch = try time(repetitions * 10) { _ = try client.readyItems(limit: 50) }
        let weekAgo = client.clock.now().addingTimeInterval(-7 * 86_400)
        let report = try time(max(3, repetitions / 4)) { _ = try client.reportData(since: weekAgo) }
        let counted = try time(max(3, repetitions / 4)) {
            _ = try client.database.read { conn in
                try conn.query(
                    "SELECT lane, CASE WHEN withdrawn = 1 THEN 'withdrawn' WHEN conflict = 1 THEN 'conflict' ELSE status END, count(*) FROM outbox GROUP BY 1, 2")
            }
        }
        return Result(items: items, bytesPerItem: items > 0 ? bytes / Double(items) : 0, open: open, status: status, firstPage: firstPage,
                      metrics: metrics, readyBatch: readyBatch, report: report, counted: counted)
    }
}
