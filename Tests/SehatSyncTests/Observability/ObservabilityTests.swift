import SehatSupport
import Foundation
import SehatBench
import SehatFHIR
import SehatJSON
import SehatSandbox
import SehatStore
import XCTest

@testable import SehatSync

/// Collects log entries in memory.
final class MemoryLogger: SyncLogger {
    let entries = Locked<[LogEntry]>([])
    func log(_ entry: LogEntry) { entries.withLock { $0.append(entry) } }
}

final class ObservabilityTests: XCTestCase {
    func testNIKsNeverReachALog() {
        XCTAssertEqual(LogMasking.mask("GET /Patient?identifier=https://fhir.kemkes.go.id/id/nik%7C3171022309900001"),
                       "GET /Patient?identifier=https://fhir.kemkes.go.id/id/nik%7C317102******0001")
        XCTAssertEqual(LogMasking.mask("nik 3171022309900001, ihs P02478375538, ms 1671109805593"),
                       "nik 317102******0001, ihs P02478375538, ms 1671109805593")
        let entry = LogEntry(timestamp: TestClinic.now, level: .info, event: "x", traceID: "t", fields: ["url": "…|3171022309900001"])
        XCTAssertFalse(entry.jsonLine.contains("3171022309900001"))
        XCTAssertEqual(try JSON.parse(entry.jsonLine).members?.map(\.key), ["timestamp", "level", "event", "trace_id", "url"])
    }

    func testEveryAttemptIsLoggedOnceWithTheRunsTraceID() async throws {
        let setup = try SandboxClinic()
        defer { setup.stop() }
        try setup.client.recordEncounter(SampleClinic.visit(number: "LOG-1", patient: SampleClinic.patients[0], finishedBefore: TestClinic.now))
        let logger = MemoryLogger()
        var settings = SyncConfiguration()
        settings.requestsPerMinute = 0
        settings.packing = false  // each lookup alone, so its URL (with the NIK) is logged and must be masked
        let engine = try SyncEngine(client: setup.client, configuration: settings, sleeper: ClockSleeper(clock: setup.clock), logger: logger)
        let report = try await engine.sync()
        XCTAssertEqual(report.exitStatus, 0)
        let entries = logger.entries.withLock { $0 }
        let requests = entries.filter { $0.event == "sync.request" }
        let stored = try setup.client.database.read { try $0.scalar("SELECT count(*) FROM sync_log").int }
        XCTAssertEqual(requests.count, stored, "one log line per attempt in the sync log")
        XCTAssertEqual(Set(entries.map(\.traceID)).count, 1, "one trace id for the run")
        XCTAssertEqual(entries.last?.event, "sync.run")
        XCTAssertTrue(requests.allSatisfy { $0.requestID != nil && $0.durationMilliseconds != nil })
        XCTAssertFalse(entries.map(\.jsonLine).joined().contains(SampleClinic.patients[0].nik), "the NIK in the lookup URL is masked")
        XCTAssertTrue(entries.map(\.jsonLine).joined().contains("317102******0001"))
    }

    func testMetricsAreValidPrometheusText() async throws {
        let setup = try SandboxClinic()
        defer { setup.stop() }
        try setup.client.recordEncounter(SampleClinic.visit(number: "MET-1", patient: SampleClinic.patients[0], finishedBefore: TestClinic.now))
        setup.sandbox.setFaults(try FaultPlan(spec: "503=1"))
        _ = try await setup.engine().sync()
        let text = try setup.client.metrics()
        let lines = text.split(separator: "\n").map(String.init)
        for line in lines where !line.hasPrefix("#") {
            XCTAssertNotNil(line.range(of: #"^[a-z_]+(\{[a-z_]+="[^"]*"(,[a-z_]+="[^"]*")*\})? [0-9.]+$"#, options: .regularExpression), line)
        }
        XCTAssertTrue(lines.contains(#"sehat_outbox_items{lane="clinic",status="pending"} 19"#), text)
        XCTAssertTrue(lines.contains { $0.hasPrefix(#"sehat_sync_requests_total{status="5xx"} "#) }, text)
        XCTAssertTrue(lines.contains { $0.hasPrefix(#"sehat_errors_total{category="transient",resolution="pending"} "#) }, text)
        XCTAssertEqual(lines.filter { $0.hasPrefix("# TYPE") }.count, 12, "seven outbound families, five inbound")
    }
}

extension ObservabilityTests {
    func testAppsCanFollowTheStatusAsItChanges() async throws {
        let setup = try SandboxClinic()
        defer { setup.stop() }
        try setup.client.recordEncounter(SampleClinic.visit(number: "STREAM-1", patient: SampleClinic.patients[0], finishedBefore: TestClinic.now))
        let engine = try setup.engine()
        let stream = await engine.statusUpdates()
        let seen = Locked<[Int]>([])
        let done = Locked(false)
        let last = Locked<SyncStatus?>(nil)
        let collector = Task {
            for await status in stream {
                seen.withLock { $0.append(status.count(.pending, lane: .clinic)) }
                last.withLock { $0 = status }
                if status.count(.completed) == 19, status.progress.contains(where: { $0.resourceType == "Observation" && $0.sent == $0.recorded }) {
                    done.withLock { $0 = true }
                    break
                }
            }
        }
        let report = try await engine.sync()
        XCTAssertEqual(report.exitStatus, 0)
        // The last update is already buffered; give the collector a bounded chance to read it.
        var spins = 0
        while !done.withLock({ $0 }) && spins < 100_000 {
            spins += 1
            await Task.yield()
        }
        collector.cancel()
        XCTAssertTrue(done.withLock { $0 }, "an update showed everything completed")
        let updates = seen.withLock { $0 }
        XCTAssertEqual(updates.first, 19, "the first update is the state when subscribing")
        XCTAssertEqual(updates.last, 0)
        // The end of the sync: per resource type, everything sent; and when SATUSEHAT last acknowledged.
        let final = try XCTUnwrap(last.withLock { $0 })
        XCTAssertFalse(final.progress.isEmpty)
        for type in final.progress { XCTAssertEqual(type.sent, type.recorded, type.resourceType) }
        XCTAssertEqual(final.progress.first { $0.resourceType == "Observation" }?.recorded,
                       try setup.client.outboxItems(limit: 1000).filter { $0.resourceType == "Observation" }.count)
        XCTAssertEqual(final.lastSuccess[.satusehat], setup.clock.now())
        XCTAssertNil(final.lastSuccess[.emergency], "nothing went to the emergency service")
        XCTAssertGreaterThanOrEqual(updates.count, 3, "one per round: lookups, then the visit's bundle")
        XCTAssertEqual(updates, updates.sorted(by: >), "pending only goes down")
    }
}

extension ObservabilityTests {
    /// The report's numbers after a sync: the queue's last hour is the outbox now, requests are
    /// requests (a bundle is one), and endpoints are named by method and resource type.
    func testTheReportDataMatchesTheOutboxAfterASync() async throws {
        let setup = try SandboxClinic()
        defer { setup.stop() }
        try setup.client.recordEncounter(SampleClinic.visit(number: "REP-1", patient: SampleClinic.patients[0], finishedBefore: TestClinic.now))
        let report = try await setup.engine().sync()
        XCTAssertEqual(report.exitStatus, 0)
        let data = try setup.client.reportData(since: TestClinic.now.addingTimeInterval(-86_400))
        let last = try XCTUnwrap(data.queue.last)
        XCTAssertEqual(last.hour, String(FHIRDateTime.format(setup.clock.now()).prefix(13)))
        XCTAssertEqual(last.delivered, try setup.client.outboxCounts().filter { $0.status == .completed }.reduce(0) { $0 + $1.count })
        XCTAssertEqual(last.waiting, 0)
        XCTAssertEqual(data.requests.reduce(0) { $0 + $1.success }, report.requests, "every request answered 2xx, counted once")
        XCTAssertTrue(data.endpoints.contains { $0.target == .satusehat && $0.endpoint == "POST Bundle" }, "\(data.endpoints.map(\.endpoint))")
        XCTAssertEqual(SyncReportReader.endpoint(method: "GET", url: "https://x/fhir-r4/v1/Patient?identifier=a|1", base: "https://x/fhir-r4/v1"), "GET Patient")
        XCTAssertEqual(SyncReportReader.endpoint(method: "PUT", url: "https://x/fhir-r4/v1/Encounter/e-1", base: "https://x/fhir-r4/v1"), "PUT Encounter")
        XCTAssertEqual(SyncReportReader.endpoint(method: "POST", url: "https://x/fhir-r4/v1", base: "https://x/fhir-r4/v1"), "POST Bundle")
        XCTAssertEqual(SyncReportReader.endpoint(method: "POST", url: "https://e/api/emergency/notify", base: "https://e"), "POST /api/emergency/notify")
    }
}
