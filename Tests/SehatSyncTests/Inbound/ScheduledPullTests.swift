import Foundation
import SehatBench
import SehatSandbox
import SehatSupport
import XCTest

@testable import SehatSync

/// Pulls on a schedule: due when the interval has passed since the last batch started (or
/// five minutes after a stopped one), and run by the watch daemon beside the outbound work.
final class ScheduledPullTests: XCTestCase {
    func testPullsAreDueOnTheirSchedule() async throws {
        let setup = try RegistryClinic(people: 50)
        defer { setup.stop() }
        let puller = setup.puller()
        let due1 = try await puller.pullDue()
        XCTAssertEqual(due1.map(\.source), [.kki, .sisdmk], "never pulled: both are due")
        let due2 = try await puller.pullDue()
        XCTAssertEqual(due2.count, 0, "pulled just now")
        setup.clinic.clock.advance(by: 86_400)
        let due3 = try await puller.pullDue()
        XCTAssertEqual(due3.map(\.status), [.completed, .completed], "a day later: daily sources are due again")

        // A source set to hourly, whose last pull stopped: due again after five minutes.
        var kki = try XCTUnwrap(try setup.client.registrySource(.kki))
        kki.schedule = .hourly
        try setup.client.setRegistrySource(kki)
        var sisdmk = try XCTUnwrap(try setup.client.registrySource(.sisdmk))
        sisdmk.schedule = .off
        try setup.client.setRegistrySource(sisdmk)
        setup.clinic.clock.advance(by: 3_600)
        setup.sandbox.setFaults(try FaultPlan(spec: "503=1"))
        let due4 = try await puller.pullDue()
        XCTAssertEqual(due4.map(\.reason), [.unreachable])
        setup.sandbox.setFaults(FaultPlan())
        let due5 = try await puller.pullDue()
        XCTAssertEqual(due5.count, 0, "not before five minutes")
        setup.clinic.clock.advance(by: 300)
        let due6 = try await puller.pullDue()
        XCTAssertEqual(due6.map(\.status), [.completed])
    }

    func testTheWatchDaemonPullsBesideTheOutboundWork() async throws {
        let setup = try SandboxClinic(registryPeople: 120)
        defer { setup.stop() }
        try "sandbox-secret\n".write(toFile: setup.clinic.directory + "/registry-secret", atomically: true, encoding: .utf8)
        for (source, url) in [(RegistrySource.kki, setup.sandbox.kkiURL), (.sisdmk, setup.sandbox.sisdmkURL)] {
            try setup.client.setRegistrySource(RegistrySourceSettings(source: source, baseURL: url, authURL: url + "/oauth/token", clientID: "sandbox-client",
                                                                      clientSecretFile: setup.clinic.directory + "/registry-secret"))
        }
        try setup.client.recordEncounter(SampleClinic.visit(number: "W-P", patient: SampleClinic.patients[0], finishedBefore: TestClinic.now))
        let engine = try setup.engine()
        let pulled = Locked<[RegistrySource]>([])
        let client = setup.client
        var options = WatchOptions()
        options.pulls = RegistryPuller(client: setup.client, sleeper: ClockSleeper(clock: setup.clock))
        options.stop = {
            pulled.withLock { $0.count } == 2 && ((try? client.outboxCounts()) ?? []).allSatisfy { $0.status == .completed }
        }
        try await engine.watch(options) { event in
            if case .pulled(let report) = event { pulled.withLock { $0.append(report.source) } }
        }
        XCTAssertEqual(Set(pulled.withLock { $0 }), [.kki, .sisdmk])
        XCTAssertEqual(try client.registryCount(), 120)
        XCTAssertTrue(try client.outboxItems().allSatisfy { $0.status == .completed }, "the visit went out too")
    }
}
