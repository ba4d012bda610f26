import Foundation
import SehatBench
import SehatSandbox
import SehatStore
import XCTest

@testable import SehatSync

/// Behind a Wi-Fi login page (a `200 text/html`, or a `302` to it) nothing counts as
/// delivered: not the panic report's webhook, not a clinic visit. The attempts do not count,
/// nothing is dead-lettered, and when the real link appears everything arrives once.
final class CaptivePortalTests: XCTestCase {
    func testBehindACaptivePortalNothingIsDeliveredAndNothingIsLost() async throws {
        for status in [200, 302] {
            let setup = try SandboxClinic(name: "captive\(status)")
            defer { setup.stop() }
            try setup.client.recordEncounter(SampleClinic.visit(number: "ENC-WIFI", patient: SampleClinic.patients[0], finishedBefore: TestClinic.now))
            let panic = try setup.client.recordPanic(PanicReport(latitude: -6.2, longitude: 106.8, severity: .critical, type: "cardiac_arrest"))
            setup.sandbox.setFaults(try FaultPlan(spec: "captive=\(status)"))
            let engine = try setup.engine()
            for _ in 0..<3 {
                let report = try await engine.sync()
                XCTAssertEqual(report.exitStatus, 3, "\(status): \(report.counts)")
                XCTAssertTrue(report.offline)
                XCTAssertTrue(report.notTheReceiver?.contains("captive portal") == true, report.notTheReceiver ?? "")
                XCTAssertEqual(report.completed, 0)
                setup.clock.advance(by: 120)
            }
            let items = try setup.client.outboxItems(limit: 1000)
            XCTAssertTrue(items.allSatisfy { $0.status == .pending && $0.attempts == 0 }, "\(items.map { "\($0.id) \($0.status) \($0.attempts)" })")
            XCTAssertEqual(try setup.client.emergencies().first?.status, .reported, "the report is not notified")
            let status = try setup.client.status()
            XCTAssertFalse(status.online)
            XCTAssertTrue(status.health.contains { $0.error?.contains("captive portal") == true })
            XCTAssertTrue(setup.sandbox.emergencyNotifications().isEmpty)
            // The real link: everything arrives, once.
            setup.sandbox.setFaults(FaultPlan())
            let report = try await engine.sync(untilIdle: true, timeout: 600)
            XCTAssertEqual(report.exitStatus, 0, "\(report.counts)")
            XCTAssertEqual(setup.sandbox.emergencyNotifications().map { $0["event_id"]?.stringValue }, [panic.eventID])
            XCTAssertEqual(setup.sandbox.counts()["Encounter"], 1)
            XCTAssertEqual(try setup.client.emergencies().first?.status, .notified)
        }
    }

    /// The reader's test on its own: whose answer is it?
    func testOnlyTheReceiversOwnAnswerCounts() {
        func check(_ status: Int, _ body: String, url: String = Fake.base + "/Observation", headers: [String: String] = [:]) -> String? {
            Fake.attempt(status, body, headers: headers, url: url).notTheReceiver
        }
        XCTAssertNil(check(201, #"{"resourceType":"Observation","id":"o1"}"#))
        XCTAssertNil(check(200, #"[{"ruleNumber":"20002","message":"dup"}]"#), "SATUSEHAT's rule array is its own answer")
        XCTAssertNil(check(400, "<html>bad request</html>"), "an error is read as a refusal, not as a portal")
        XCTAssertNotNil(check(200, "<html>login</html>", headers: ["content-type": "text/html"]))
        XCTAssertNotNil(check(200, #"{"ok":true}"#), "JSON of the wrong shape")
        XCTAssertNotNil(check(302, "", headers: ["location": "http://login.portal/"]))
        XCTAssertNil(check(202, #"{"success":true,"data":{},"error":null}"#, url: "http://e.test/api/emergency/notify"))
        XCTAssertNotNil(check(200, "<html>login</html>", url: "http://e.test/api/emergency/notify"))
        XCTAssertNotNil(check(200, #"{"success":false}"#, url: "http://e.test/api/emergency/notify"))
    }
}

extension CaptivePortalTests {
    /// The watch's connectivity probe: a login page is not the server coming back.
    func testTheWatchsProbeIsNotFooledByALoginPage() async throws {
        let clinic = try TestClinic()
        defer { clinic.remove() }
        let portal = ScriptedTransport([HTTPAnswer(status: 200, headers: ["content-type": "text/html"], body: Array("<html>login</html>".utf8))])
        let behindPortal = try SyncEngine(client: clinic.client, transport: portal, sleeper: ClockSleeper(clock: clinic.clock))
        let fooled = await behindPortal.probe()
        XCTAssertFalse(fooled)
        let server = ScriptedTransport([HTTPAnswer(status: 200, body: Array(#"{"resourceType":"CapabilityStatement"}"#.utf8))])
        let online = try SyncEngine(client: clinic.client, transport: server, sleeper: ClockSleeper(clock: clinic.clock))
        let reached = await online.probe()
        XCTAssertTrue(reached)
    }
}
