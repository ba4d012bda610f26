import Foundation
import SehatSupport
import SehatFHIR
import SehatJSON
import SehatStore
import SehatSandbox
import SehatSync

/// `sehat bench sync`: drains N recorded encounters to an in-process sandbox that adds
/// `latency` to every FHIR answer, and compares the SDK — with no rate limit, and with the
/// settings a clinic gets by default (60 requests a minute, bursts of 10; real time) — with
/// the naive way (one request per resource, each awaited before the next) on identical data,
/// beside the lower bound that round trips set.
package enum SyncBenchmark {
    package struct Side {
        package let requests: Int
        /// Requests that carried the visits (their Encounters' creates), the last dependency level.
        package var visitRequests = 0
        package let seconds: Double
        package let resources: Int
        package var perSecond: Double { seconds > 0 ? Double(resources) / seconds : 0 }
    }

    /// What is drained.
    package enum Workload {
        /// The clinic's visits, recorded.
        case visits(Int)
        /// `copies` bundles of a real-world bundle's shape (copy 0 is the bundle itself), imported
        /// on the generic FHIR path; the server is seeded with `seed` (what conditional references name).
        case bundles(SyntheaShape, copies: Int, seed: [JSON])
    }

    package struct Result {
        /// Visits, or bundles of the real-world shape.
        package let encounters: Int
        package let latencyMilliseconds: Int
        package let concurrency: Int
        package let sdk: Side
        /// The SDK with the default settings (the spec's request budget), when measured.
        package let defaults: Side?
        package let naive: Side?
        /// Σ over dependency levels of ⌈requests at the level ÷ concurrency⌉ × latency.
        package let boundSeconds: Double
        package let levels: [Int]
    }

    package static func run(encounters: Int, latencyMilliseconds: Int, concurrency: Int, includeNaive: Bool, includeDefaults: Bool = true,
                            directory: String, progress: (String) -> Void) throws -> Result {
        try run(.visits(encounters), latencyMilliseconds: latencyMilliseconds, concurrency: concurrency, includeNaive: includeNaive,
                includeDefaults: includeDefaults, directory: directory, progress: progress)
    }

    package static func run(_ workload: Workload, latencyMilliseconds: Int, concurrency: Int, includeNaive: Bool, includeDefaults: Bool = true,
                            directory: String, progress: (String) -> Void) throws -> Result {
        let encounters: Int
        switch workload {
        case .visits(let count): encounters = count
        case .bundles(_, let copies, _): encounters = copies
        }
        let sdk = try side(workload, latency: latencyMilliseconds, directory: directory, name: "sdk") {
            $0.concurrency = concurrency
        }
        progress(String(format: "sdk: %d requests in %.2f s", sdk.side.requests, sdk.side.seconds))
        var defaults: Side?
        if includeDefaults {
            defaults = try side(workload, latency: latencyMilliseconds, directory: directory, name: "defaults") {
                $0 = SyncConfiguration()  // what a clinic gets: 60 a minute, bursts of 10, packing on
            }.side
            progress(String(format: "default settings: %d requests in %.2f s", defaults!.requests, defaults!.seconds))
        }
        var naive: Side?
        if includeNaive {
            naive = try side(workload, latency: latencyMilliseconds, directory: directory, name: "naive") {
                $0.concurrency = 1
                $0.bundles = false
            }.side
            progress(String(format: "naive: %d requests in %.2f s", naive!.requests, naive!.seconds))
        }
        // The SDK's requests by dependency level: lookups, locations and roles first, then the
        // requests that carried the visits (packed: as many as the bundle limits need).
        let levels = [sdk.side.requests - sdk.side.visitRequests, sdk.side.visitRequests]
        let bound = levels.reduce(0.0) { total, count in
            total + (Double(count) / Double(concurrency)).rounded(.up) * Double(latencyMilliseconds) / 1000
        }
        return Result(encounters: encounters, latencyMilliseconds: latencyMilliseconds, concurrency: concurrency, sdk: sdk.side, defaults: defaults,
                      naive: naive, boundSeconds: bound, levels: levels)
    }

    /// Records the workload into a fresh database, then times one full sync.
    private static func side(_ workload: Workload, latency: Int, directory: String, name: String,
                             configure: (inout SyncConfiguration) -> Void) throws -> (side: Side, report: SyncReport) {
        var settings = Sandbox.Configuration()
        switch workload {
        case .visits:
            settings.resources = (0..<50).map { i in
                i < SampleClinic.patients.count ? Sandbox.person("Patient", nik: SampleClinic.patients[i].nik, name: SampleClinic.patients[i].name)
                    : Sandbox.person("Patient", nik: String(format: "35%014d", i), name: "Pasien \(i)")
            } + SampleClinic.practitioners.map { Sandbox.person("Practitioner", nik: $0.0, name: $0.1) }
        case .bundles(_, _, let seed):
            settings.mode = .fhir
            settings.resources = seed
        }
        var faults = FaultPlan()
        faults.latencyMilliseconds = latency
        settings.faults = faults
        let sandbox = try Sandbox(configuration: settings)
        defer { sandbox.stop() }
        let path = "\(directory)/bench-sync-\(name).db"
        for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + suffix) }
        let client = try SehatClient(path: path)
        try SampleClinic.configure(client, directory: directory, baseURL: sandbox.fhirBaseURL, authURL: sandbox.authURL)
        switch workload {
        case .visits(let encounters):
            let patients = try SampleClinic.register(client, patientCount: 50)
            let now = client.clock.now()
            for i in 0..<encounters {
                try client.recordEncounter(SampleClinic.visit(number: "BENCH-\(i)", patient: patients[i % patients.count], finishedBefore: now,
                                                              offsetMinutes: i % 600))
            }
        case .bundles(let shape, let copies, _):
            var configuration = try client.configuration()!
            configuration.profile = .fhir
            try client.configure(configuration)
            for copy in 0..<copies { try client.importBundle(json: shape.bundle(copy).text) }
        }
        let resources = try client.outboxItems(limit: 10_000_000).filter { $0.operation != .update }.count
        var configuration = SyncConfiguration()
        configuration.requestsPerMinute = 0  // measure the engine, not the spec's 60-a-minute budget
        configure(&configuration)
        let engine = try SyncEngine(client: client, configuration: configuration)
        let report = try waitFor { try await engine.sync() }
        guard report.exitStatus == 0 else { throw BenchError(message: "\(name): the sync did not finish: \(report.counts)") }
        var side = Side(requests: report.requests, seconds: report.seconds, resources: resources)
        side.visitRequests = try client.database.read { conn in
            try conn.scalar(
                """
                SELECT count(DISTINCT s.request_id) FROM sync_log s JOIN outbox o ON o.id = s.item_id
                WHERE o.resource_type = 'Encounter' AND o.operation = 'create'
                """).int ?? 0
        }
        return (side, report)
    }

    package struct BenchError: Error, CustomStringConvertible {
        package let message: String
        package var description: String { message }
        package init(message: String) { self.message = message }
    }
}
