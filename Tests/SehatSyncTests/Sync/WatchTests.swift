import SehatSupport
import Foundation
import SehatBench
import SehatFHIR
import SehatJSON
import SehatSandbox
import SehatStore
import XCTest

@testable import SehatSync

final class WatchTests: XCTestCase {
    /// An item that failed while nothing else happens is retried on its schedule: no new
    /// write, no restart.
    func testARetryNeverStalls() async throws {
        let setup = try SandboxClinic(register: false)
        defer { setup.stop() }
        try setup.client.addLocation(code: "POLI-UMUM", name: "Poli Umum")
        setup.sandbox.setFaults(try FaultPlan(spec: "503=1"))
        let engine = try setup.engine()
        let cycles = Locked(0)
        let client = setup.client
        let sandbox = setup.sandbox
        let token = try client.changeToken()
        var options = WatchOptions()
        options.stop = { cycles.withLock { $0 } > 40 || ((try? client.outboxCounts()) ?? []).allSatisfy { $0.status == .completed } }
        try await engine.watch(options) { event in
            guard case .synced = event else { return }
            // The server recovers after the first failed round; nobody touches the device.
            if cycles.withLock({ $0 += 1; return $0 }) == 1 { sandbox.setFaults(FaultPlan()) }
        }
        XCTAssertEqual(try client.outboxItems().map(\.status), [.completed])
        XCTAssertEqual(try client.changeToken(), token, "no write happened")
        XCTAssertGreaterThan(cycles.withLock { $0 }, 1)
    }

    /// Offline: the watch pauses and probes with backoff; when the link returns it drains.
    func testTheWatchFollowsTheLink() async throws {
        let setup = try SandboxClinic()
        defer { setup.stop() }
        try setup.client.recordEncounter(SampleClinic.visit(number: "W1", patient: SampleClinic.patients[0], finishedBefore: TestClinic.now))
        let link = Locked(LinkState(mode: .offline))
        var settings = SyncConfiguration()
        settings.requestsPerMinute = 0
        let engine = try SyncEngine(client: setup.client, transport: SimulatedLink(wrapping: URLSessionTransport()) { link.withLock { $0 } },
                                    configuration: settings, sleeper: ClockSleeper(clock: setup.clock))
        let events = Locked<[String]>([])
        let probes = Locked<[TimeInterval]>([])
        let client = setup.client
        var options = WatchOptions()
        options.stop = { events.withLock { $0.count } > 200 || ((try? client.outboxCounts()) ?? []).allSatisfy { $0.status == .completed } }
        try await engine.watch(options) { event in
            switch event {
            case .offline: events.withLock { $0.append("offline") }
            case .online: events.withLock { $0.append("online") }
            case .probing(let wait):
                let count = probes.withLock { $0.append(wait); return $0.count }
                if count == 6 { link.withLock { $0 = LinkState(mode: .online) } }
            case .synced(let report): events.withLock { $0.append("synced \(report.completed)") }
            case .health: events.withLock { $0.append("health") }
            case .pulled(let report): events.withLock { $0.append("pulled \(report.source.rawValue)") }
            }
        }
        let log = events.withLock { $0 }
        XCTAssertEqual(Array(log.prefix(3)), ["health", "synced 0", "offline"])
        XCTAssertTrue(log.contains("online"))
        XCTAssertEqual(try client.outboxCounts().map(\.status), [.completed])
        XCTAssertEqual(setup.sandbox.counts()["Encounter"], 1)
        // Probes back off: each wait is within [½, 1] × 1, 2, 4, 8, 16, 32 s.
        let waits = probes.withLock { $0 }
        XCTAssertEqual(waits.count, 6)
        for (i, wait) in waits.enumerated() {
            let ceiling = pow(2, Double(i))
            XCTAssertTrue((ceiling / 2...ceiling).contains(wait), "probe \(i): \(wait)")
        }
        let attempts = try client.outboxItems().map(\.attempts)
        XCTAssertEqual(Set(attempts), [1], "offline attempts did not count")
    }

    /// A record made by another process wakes the watch before its timer.
    func testANewWriteWakesTheWatch() async throws {
        let setup = try SandboxClinic()
        defer { setup.stop() }
        let engine = try setup.engine()
        let other = try SehatClient(path: setup.clinic.directory + "/clinic.db", clock: setup.clock)
        let wrote = Locked<Date?>(nil)
        let client = setup.client
        let clock = setup.clock
        var options = WatchOptions()
        options.timer = 600
        options.stop = {
            guard wrote.withLock({ $0 }) != nil else { return false }
            return ((try? client.outboxCounts()) ?? []).allSatisfy { $0.status == .completed }
        }
        try await engine.watch(options) { event in
            guard case .synced(let report) = event, report.exitStatus == 0, wrote.withLock({ $0 }) == nil else { return }
            // Idle now: another process records a visit.
            _ = try? other.recordEncounter(SampleClinic.visit(number: "WAKE", patient: SampleClinic.patients[1], finishedBefore: TestClinic.now))
            wrote.withLock { $0 = clock.now() }
        }
        XCTAssertEqual(setup.sandbox.counts()["Encounter"], 1)
        let waited = clock.now().timeIntervalSince(try XCTUnwrap(wrote.withLock { $0 }))
        XCTAssertLessThanOrEqual(waited, 2, "woken within a poll interval, not the 600 s timer")
    }
}
