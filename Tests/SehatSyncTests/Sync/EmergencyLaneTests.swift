import SehatSupport
import Foundation
import SehatBench
import SehatFHIR
import SehatJSON
import SehatSandbox
import SehatStore
import XCTest

@testable import SehatSync

/// Holds every request it is told to (by default, to one URL prefix) until opened; everything
/// else passes.
final class GateTransport: HTTPTransport {
    private let base = URLSessionTransport()
    private let holds: @Sendable (HTTPCall) -> Bool
    /// Whether the gate is open, and who waits at it: one lock, so opening and parking
    /// cannot interleave (a request parked between them would wait for ever).
    private let gate = Locked<(open: Bool, waiting: [CheckedContinuation<Void, Never>])>((false, []))

    init(holding prefix: String) { holds = { $0.url.hasPrefix(prefix) } }

    init(holdingWhere holds: @escaping @Sendable (HTTPCall) -> Bool) { self.holds = holds }

    /// How many requests wait at the gate now.
    var parked: Int { gate.withLock { $0.waiting.count } }

    func release() {
        let parked = gate.withLock { state -> [CheckedContinuation<Void, Never>] in
            state.open = true
            defer { state.waiting = [] }
            return state.waiting
        }
        parked.forEach { $0.resume() }
    }

    func send(_ call: HTTPCall) async throws -> HTTPAnswer {
        if holds(call) {
            await withCheckedContinuation { continuation in
                let parked = gate.withLock { state -> Bool in
                    guard !state.open else { return false }
                    state.waiting.append(continuation)
                    return true
                }
                if !parked { continuation.resume() }
            }
        }
        return try await base.send(call)
    }
}

final class EmergencyLaneTests: XCTestCase {
    /// seeds/000: retries 1, 2, 4, 8, 16, 32 s after each failure, then the dead-letter queue.
    func testTheWebhookRetryScheduleIsExactThenDeadLettered() async throws {
        let setup = try SandboxClinic(register: false)
        defer { setup.stop() }
        let panic = try setup.client.recordPanic(PanicReport(latitude: -6.2, longitude: 106.8, severity: .critical, type: "cardiac_arrest"))
        setup.sandbox.setFaults(try FaultPlan(spec: "503=1"))
        let report = try await setup.engine().sync(untilIdle: true, timeout: 3600)
        XCTAssertEqual(report.exitStatus, 4)
        let times = setup.sandbox.requestLog().filter { $0.path == "/api/emergency/notify" }.compactMap(\.at)
        XCTAssertEqual(times.count, 7, "the first attempt and 6 retries")
        let gaps = zip(times.dropFirst(), times).map { $0.timeIntervalSince($1) }
        XCTAssertEqual(gaps, [1, 2, 4, 8, 16, 32])
        let item = try XCTUnwrap(try setup.client.outboxItems(lane: .emergency).first)
        XCTAssertEqual(item.status, .dead)
        XCTAssertTrue(item.lastError?.hasPrefix("dead-lettered after 6 retries (1, 2, 4, 8, 16, 32 s): 503") == true, item.lastError ?? "")
        XCTAssertEqual(try setup.client.status().count(.dead, lane: .emergency), 1)
        // Never silently dropped: a person revives it.
        setup.sandbox.setFaults(FaultPlan())
        try setup.client.retryItem(item.id)
        let revived = try await setup.engine().sync()
        XCTAssertEqual(revived.exitStatus, 0)
        XCTAssertEqual(setup.sandbox.emergencyNotifications().compactMap { $0["event_id"]?.stringValue }, [panic.eventID])
    }

    /// The emergency lane has its own slots: a clinic request that hangs does not delay it.
    func testASlowClinicRequestNeverDelaysAPanicReport() async throws {
        let setup = try SandboxClinic()
        defer { setup.stop() }
        try setup.client.recordEncounter(SampleClinic.visit(number: "SLOW", patient: SampleClinic.patients[0], finishedBefore: TestClinic.now))
        let gate = GateTransport(holding: setup.sandbox.fhirBaseURL)
        var settings = SyncConfiguration()
        settings.requestsPerMinute = 0
        let engine = try SyncEngine(client: setup.client, transport: gate, configuration: settings, sleeper: ClockSleeper(clock: setup.clock))
        let panic = try setup.client.recordPanic(PanicReport(latitude: -6.2, longitude: 106.8, severity: .critical, type: "fall"))
        let sync = Task { try await engine.sync() }
        // The clinic requests are stuck at the gate; the panic report goes through regardless.
        let deadline = Date().addingTimeInterval(20)  // a bound, not a wait: the loop only yields
        while setup.sandbox.emergencyNotifications().isEmpty && Date() < deadline {
            await Task.yield()
        }
        XCTAssertEqual(setup.sandbox.emergencyNotifications().compactMap { $0["event_id"]?.stringValue }, [panic.eventID])
        XCTAssertEqual(setup.sandbox.counts()["Encounter"], nil, "the clinic lane is still waiting")
        gate.release()
        let report = try await sync.value
        XCTAssertEqual(report.exitStatus, 0, "\(report.counts)")
        XCTAssertEqual(setup.sandbox.counts()["Encounter"], 1)
    }

    /// With many clinic items queued and the link down, a panic report recorded last is the
    /// first request sent when the link comes up.
    func testAPanicRecordedLastIsSentFirst() async throws {
        let setup = try SandboxClinic()
        defer { setup.stop() }
        for i in 0..<150 {
            try setup.client.recordEncounter(SampleClinic.visit(number: "Q-\(i)", patient: SampleClinic.patients[i % 3], finishedBefore: TestClinic.now))
        }
        try setup.client.addLocation(code: "POLI-X", name: "Poli X")
        let panic = try setup.client.recordPanic(PanicReport(latitude: -6.2, longitude: 106.8, severity: .critical, type: "drowning"))
        let report = try await setup.engine().sync()
        XCTAssertEqual(report.exitStatus, 0)
        let first = try XCTUnwrap(setup.sandbox.requestLog().first { $0.path != "/oauth2/v1/accesstoken" })
        XCTAssertEqual(first.path, "/api/emergency/notify")
        XCTAssertEqual(setup.sandbox.emergencyNotifications().first?["event_id"]?.stringValue, panic.eventID)
    }
}
