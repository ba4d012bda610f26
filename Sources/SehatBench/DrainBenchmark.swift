import Foundation
import SehatSupport
import SehatSandbox
import SehatStore
import SehatSync

/// `sehat bench drain`: records visits (50 to a transaction, `recordEncounters`) until the
/// outbox holds N items, then — in a fresh process, as a clinic's sync would start after a
/// migration — drains every one to an in-process sandbox that keeps what it is sent on disk — with the default settings but no request budget (at 60 a minute a million
/// items would take half an hour of waiting, which measures the budget, not the engine) — and
/// reports the cost per item of each tenth of the queue, so the last tenth can be held
/// against the first, and the process's peak memory during the drain, sandbox included.
package enum DrainBenchmark {
    /// What filling the outbox left.
    package struct Filled {
        package let items: Int
        package let visits: Int
        package let seconds: Double
        /// The device's database, per queued item.
        package let bytesPerItem: Double
    }

    /// What draining it measured.
    package struct Drained {
        package let items: Int
        package let seconds: Double
        package let requests: Int
        /// Seconds each tenth of the items took to complete, in order.
        package let tenths: [Double]
        /// Resident memory when the drain began, and the highest during it (bytes).
        package let residentAtStart: Int
        package let peakResident: Int
        package var perSecond: Double { seconds > 0 ? Double(items) / seconds : 0 }
        /// The last tenth's cost per item ÷ the first's (the target is ≤ 1.25).
        package var lastToFirst: Double { (tenths.first ?? 0) > 0 ? (tenths.last ?? 0) / tenths[0] : 0 }
    }

    static let visitsPerTransaction = 50

    /// The device's database in `directory`.
    package static func databasePath(_ directory: String) -> String { directory + "/bench-drain.db" }

    /// A fresh database whose outbox holds at least `items` items: real visits, recorded the
    /// way an import or a migration would, 50 to a transaction.
    package static func fill(items: Int, directory: String, progress: (String) -> Void) throws -> Filled {
        let path = databasePath(directory)
        for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + suffix) }
        let start = Date()
        let client = try SehatClient(path: path)
        try SampleClinic.configure(client, directory: directory)
        let patients = try SampleClinic.register(client)
        let now = client.clock.now()
        var visits = 0
        var queued = try queuedItems(client)
        while queued < items {
            let batch = (visits..<visits + visitsPerTransaction).map { i in
                SampleClinic.visit(number: "DRAIN-\(i)", patient: patients[i % patients.count], finishedBefore: now, offsetMinutes: i % 600)
            }
            try client.recordEncounters(batch)
            visits += batch.count
            queued = try queuedItems(client)
            if visits % 5_000 == 0 { progress("recorded \(visits) visits: \(queued) items queued") }
        }
        try client.database.withoutTransaction { try $0.execute("PRAGMA wal_checkpoint(TRUNCATE)") }
        let bytes = (try FileManager.default.attributesOfItem(atPath: path)[.size] as? NSNumber)?.doubleValue ?? 0
        return Filled(items: queued, visits: visits, seconds: Date().timeIntervalSince(start), bytesPerItem: queued > 0 ? bytes / Double(queued) : 0)
    }

    /// Drains the database `fill` left in `directory` to an in-process sandbox that keeps what
    /// it is sent on disk, watching from outside when each tenth of the items completes.
    package static func drain(directory: String, progress: @escaping @Sendable (String) -> Void) throws -> Drained {
        var settings = Sandbox.Configuration()
        settings.resources = SampleClinic.patients.map { Sandbox.person("Patient", nik: $0.nik, name: $0.name) }
            + SampleClinic.practitioners.map { Sandbox.person("Practitioner", nik: $0.0, name: $0.1) }
        settings.storage = .disk(directory: directory)
        settings.requestLogLimit = 1_000
        let sandbox = try Sandbox(configuration: settings)
        defer { sandbox.stop() }
        let client = try SehatClient(path: databasePath(directory))
        try SampleClinic.configure(client, directory: directory, baseURL: sandbox.fhirBaseURL, authURL: sandbox.authURL)
        let queued = try queuedItems(client)
        guard queued > 0 else { throw SyncBenchmark.BenchError(message: "nothing is queued in \(databasePath(directory)): fill it first") }

        var configuration = SyncConfiguration()
        configuration.requestsPerMinute = 0
        let engine = try SyncEngine(client: client, configuration: configuration)
        ProcessMemory.resetPeak()
        let residentAtStart = ProcessMemory.resident() ?? 0
        let start = Date()
        let report = Locked<Swift.Result<SyncReport, Error>?>(nil)
        Task {
            let outcome: Swift.Result<SyncReport, Error>
            do { outcome = .success(try await engine.sync()) } catch { outcome = .failure(error) }
            report.withLock { $0 = outcome }
        }
        var marks: [Double] = []
        var done = 0
        while report.withLock({ $0 == nil }) {
            usleep(20_000)  // the benchmark's own watch, in real time: nothing here runs on a test clock
            done = try completedItems(client)
            while marks.count < 9, done >= queued * (marks.count + 1) / 10 {
                marks.append(Date().timeIntervalSince(start))
                progress(String(format: "%d%% of the items in %.1f s", marks.count * 10, marks.last!))
            }
        }
        let seconds = Date().timeIntervalSince(start)
        let finished = try report.withLock { $0! }.get()
        done = try completedItems(client)
        guard finished.exitStatus == 0, done == queued else {
            throw SyncBenchmark.BenchError(message: "the drain did not finish: \(done) of \(queued) completed, \(finished.counts)")
        }
        marks.append(seconds)
        let tenths = marks.enumerated().map { index, mark in mark - (index == 0 ? 0 : marks[index - 1]) }
        return Drained(items: queued, seconds: seconds, requests: finished.requests, tenths: tenths, residentAtStart: residentAtStart,
                       peakResident: ProcessMemory.peak() ?? 0)
    }

    private static func queuedItems(_ client: SehatClient) throws -> Int {
        try client.database.read { try $0.scalar("SELECT coalesce(sum(n), 0) FROM outbox_counts").int ?? 0 }
    }

    private static func completedItems(_ client: SehatClient) throws -> Int {
        try client.database.read { try $0.scalar("SELECT coalesce(sum(n), 0) FROM outbox_counts WHERE status = 'completed'").int ?? 0 }
    }
}
