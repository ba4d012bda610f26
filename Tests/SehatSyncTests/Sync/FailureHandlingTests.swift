import Foundation
import SehatBench
import SehatFHIR
import SehatJSON
import SehatSandbox
import SehatStore
import XCTest

@testable import SehatSync

final class FailureHandlingTests: XCTestCase {
    func testEveryStatusHasItsClass() {
        XCTAssertEqual([429, 503].map(FailureClass.of), [.transient, .transient])
        XCTAssertEqual([401, 403].map(FailureClass.of), [.auth, .auth])
        XCTAssertEqual([400, 409, 412, 422].map(FailureClass.of), [.client, .client, .client, .client])
        XCTAssertEqual(FailureClass.of(status: 404), .notFound)
        XCTAssertEqual([500, 502, 504].map(FailureClass.of), [.server, .server, .server])
        XCTAssertEqual([405, 410, 501].map(FailureClass.of), [.unknown, .unknown, .unknown])
    }

    func testBackoffIsExponentialWithFullJitterCappedAndHonoursRetryAfter() {
        let backoff = Backoff(initial: 1, cap: 60)
        XCTAssertEqual(backoff.delay(afterAttempt: 1, draw: 1), 1)
        XCTAssertEqual(backoff.delay(afterAttempt: 2, draw: 1), 2)
        XCTAssertEqual(backoff.delay(afterAttempt: 4, draw: 1), 8)
        XCTAssertEqual(backoff.delay(afterAttempt: 10, draw: 1), 60, "capped at 60 s")
        XCTAssertEqual(backoff.delay(afterAttempt: 10, draw: 0), 0, "full jitter reaches zero")
        XCTAssertEqual(backoff.delay(afterAttempt: 3, draw: 0.5), 2)
        XCTAssertEqual(backoff.delay(afterAttempt: 1, retryAfter: 7, draw: 1), 7, "Retry-After wins when longer")
        for attempt in 1...12 {
            let delay = backoff.delay(afterAttempt: attempt)
            XCTAssertTrue((0...min(60, pow(2, Double(attempt - 1)))).contains(delay))
        }
    }

    /// A refused Observation: shown with its error and advice, fixed, retried; its dependants follow.
    func testAFailedItemCanBeReadFixedAndRetried() async throws {
        let setup = try SandboxClinic()
        defer { setup.stop() }
        let visit = try setup.client.recordEncounter(SampleClinic.visit(number: "ENC-FIX", patient: SampleClinic.patients[0], finishedBefore: TestClinic.now))
        let observation = visit.resourceIDs[1]
        let original = try setup.client.database.read { try $0.scalar("SELECT json FROM resources WHERE local_id = ?", [.text(observation)]).string! }
        try setup.client.database.write { conn in
            try conn.execute("UPDATE resources SET json = ? WHERE local_id = ?",
                             [.text(original.replacingOccurrences(of: "\"effectiveDateTime\":\"2026", with: "\"effectiveDateTime\":\"2027")), .text(observation)])
        }
        let engine = try setup.engine()
        _ = try await engine.sync()
        let failed = try XCTUnwrap(try setup.client.outboxItems(status: .failed).first)
        let detail = try setup.client.outboxItem(failed.id)
        XCTAssertEqual(detail.errors.last?.category, .client)
        XCTAssertEqual(detail.errors.last?.httpStatus, 400)
        XCTAssertEqual(detail.errors.last?.resolution, .pending)
        XCTAssertTrue(detail.request?.hasPrefix("POST \(setup.sandbox.fhirBaseURL)/Observation") == true, detail.request ?? "")
        XCTAssertEqual(detail.waitingItems.count, 2, "the closing update and the summary wait on it")
        XCTAssertThrowsError(try setup.client.retryItem(visit.outboxItemIDs[0])) { XCTAssertEqual(($0 as? FieldError)?.field, "id") }
        // A person fixes the data and retries.
        try setup.client.database.write { try $0.execute("UPDATE resources SET json = ? WHERE local_id = ?", [.text(original), .text(observation)]) }
        try setup.client.retryItem(failed.id)
        XCTAssertEqual(try setup.client.outboxItems(status: .held), [], "what waited on it is released")
        let report = try await engine.sync()
        XCTAssertEqual(report.exitStatus, 0, "\(report.counts)")
        // Its errors (the refused bundle, then its own refused request) were resolved by the person's retry.
        let errors = try setup.client.outboxItem(failed.id).errors
        XCTAssertEqual(errors.map(\.resolution), [.manualResolved, .manualResolved])
        XCTAssertEqual(errors.map(\.message).last?.hasPrefix("400:"), true)
        XCTAssertEqual(setup.danglingReferences(), [])
    }

    func testAnIgnoredItemIsDeadLetteredAndKept() async throws {
        let setup = try SandboxClinic()
        defer { setup.stop() }
        let visit = try setup.client.recordEncounter(SampleClinic.visit(number: "ENC-IGN", patient: SampleClinic.patients[0], finishedBefore: TestClinic.now))
        let encounterItem = visit.outboxItemIDs[0]
        try setup.client.ignoreItem(encounterItem, reason: "recorded by mistake")
        let item = try XCTUnwrap(try setup.client.outboxItems().first { $0.id == encounterItem })
        XCTAssertEqual(item.status, .dead)
        XCTAssertEqual(item.lastError, "ignored by a person: recorded by mistake")
        let report = try await setup.engine().sync()
        XCTAssertEqual(report.exitStatus, 4)
        XCTAssertEqual(setup.sandbox.counts()["Encounter"], nil)
        XCTAssertTrue(try setup.client.outboxItems(status: .held).allSatisfy { $0.hold == .waitsOn(item: encounterItem, because: .dead) })
        try setup.client.retryItem(encounterItem)
        let revived = try await setup.engine().sync()
        XCTAssertEqual(revived.exitStatus, 0, "a dead item is revived by retry: \(revived.counts)")
    }

    /// A server error that persists: escalated once, with an alert, and never dropped.
    func testPersistentServerErrorsEscalateAndKeepRetrying() async throws {
        let setup = try SandboxClinic(register: false)
        defer { setup.stop() }
        try setup.client.addLocation(code: "POLI-UMUM", name: "Poli Umum")
        setup.sandbox.setFaults(try FaultPlan(spec: "500=1"))
        let report = try await setup.engine().sync(untilIdle: true, timeout: 600)
        XCTAssertEqual(report.exitStatus, 3, "still pending, not dead")
        let item = try XCTUnwrap(try setup.client.outboxItems().first)
        XCTAssertEqual(item.status, .pending)
        XCTAssertGreaterThan(item.attempts, 3)
        let (escalated, alerts, errors) = try setup.client.database.read { conn in
            (try conn.scalar("SELECT escalated_at FROM outbox").string, try conn.scalar("SELECT count(*) FROM alerts WHERE kind = 'escalation'").int,
             try conn.query("SELECT category FROM error_log").compactMap { $0[0].string })
        }
        XCTAssertNotNil(escalated)
        XCTAssertEqual(alerts, 1, "one alert, not one per attempt")
        XCTAssertEqual(Set(errors), ["server"])
        XCTAssertEqual(errors.count, item.attempts)
        setup.sandbox.setFaults(FaultPlan())
        let healed = try await setup.engine().sync(untilIdle: true, timeout: 600)
        XCTAssertEqual(healed.exitStatus, 0)
        let resolved = try setup.client.database.read { try $0.query("SELECT DISTINCT resolution_status FROM error_log").compactMap { $0[0].string } }
        XCTAssertEqual(resolved, ["auto_resolved"])
    }

    /// The server says a referenced resource does not exist: the dependency is looked up again.
    func testNotFoundRechecksTheDependencyItNames() async throws {
        let setup = try SandboxClinic()
        defer { setup.stop() }
        let engine = try setup.engine()
        _ = try await engine.sync()
        let patient = SampleClinic.patients[0]
        let patientID = try setup.client.database.read { try $0.scalar("SELECT local_id FROM patients WHERE nik = ?", [.text(patient.nik)]).string! }
        let realID = try XCTUnwrap(try setup.client.serverID(forLocalID: patientID))
        // The device holds a stale id for the patient.
        try setup.client.database.write { try $0.execute("UPDATE resources SET server_id = 'P00000000000' WHERE local_id = ?", [.text(patientID)]) }
        try setup.client.recordEncounter(SampleClinic.visit(number: "ENC-404", patient: patient, finishedBefore: TestClinic.now))
        let report = try await engine.sync(untilIdle: true, timeout: 600)
        XCTAssertEqual(report.exitStatus, 0, "\(report.counts)")
        XCTAssertEqual(try setup.client.serverID(forLocalID: patientID), realID, "found again by NIK")
        XCTAssertEqual(setup.sandbox.resources(ofType: "Encounter").first?.value(at: "subject.reference")?.stringValue, "Patient/\(realID)")
        let categories = try setup.client.database.read { try $0.query("SELECT category FROM error_log").compactMap { $0[0].string } }
        XCTAssertTrue(categories.contains("not_found") || categories.contains("client"), "\(categories)")
    }
}
