import Foundation
import SehatBench
import SehatFHIR
import SehatJSON
import SehatSandbox
import SehatStore
import XCTest

@testable import SehatSync

final class SyncEngineTests: XCTestCase {
    func testAFullEncounterArrivesCompleteWithServerReferences() async throws {
        let setup = try SandboxClinic(keepBodies: true)
        defer { setup.stop() }
        let recorded = try setup.client.recordEncounter(setup.clinic.fullVisit(number: "ENC-E2E"))
        let engine = try setup.engine()
        let report = try await engine.sync()
        XCTAssertEqual(report.exitStatus, 0, "\(report.counts)")
        XCTAssertEqual(report.count(.completed), 7 + 1 + 13, "registry, the practitioner's role, the visit")
        // Everything of the visit is on the server, once, with every reference resolved there.
        let counts = setup.sandbox.counts()
        for (type, expected) in ["Encounter": 1, "Observation": 3, "Condition": 1, "Procedure": 1, "Medication": 1, "MedicationRequest": 1,
                                 "MedicationDispense": 1, "ServiceRequest": 1, "DiagnosticReport": 1, "Composition": 1, "Location": 2] {
            XCTAssertEqual(counts[type], expected, type)
        }
        XCTAssertEqual(setup.danglingReferences(), [])
        XCTAssertEqual(setup.duplicatedIdentifiers(), [])
        let encounter = try XCTUnwrap(setup.sandbox.resources(ofType: "Encounter").first)
        XCTAssertEqual(encounter["status"], "finished")
        XCTAssertEqual(try setup.client.serverID(forLocalID: recorded.encounterID), encounter["id"]?.stringValue)
        XCTAssertEqual(encounter.value(at: "subject.reference")?.stringValue?.hasPrefix("Patient/P"), true)
        // The order the server accepted: lookups and locations before the visit's bundle.
        let log = setup.sandbox.requestLog().filter { $0.path != "/oauth2/v1/accesstoken" }
        let bundleIndex = try XCTUnwrap(log.lastIndex { $0.method == "POST" && $0.path == "/fhir-r4/v1" }, "the visit's bundle goes last")
        XCTAssertTrue(log[..<bundleIndex].contains { ($0.body ?? "").contains(#""type":"batch""#) && ($0.body ?? "").contains("Patient?identifier=") },
                      "the lookups, in one batch of searches, before the visit")
        XCTAssertTrue(log.allSatisfy { ($0.status ?? 0) < 300 }, "no request was refused: \(log.map { "\($0.method) \($0.path) \($0.status ?? 0)" })")
        // Stored history keeps local references; the patient learned its IHS id.
        let stored = try setup.client.database.read { try $0.scalar("SELECT json FROM resources WHERE local_id = ?", [.text(recorded.encounterID)]).string }
        XCTAssertFalse(stored?.contains("Patient/P") ?? true)
        let ihs = try setup.client.database.read { try $0.scalar("SELECT ihs_id FROM patients WHERE nik = ?", [.text(setup.clinic.patients.first?.nik ?? SampleClinic.patients[0].nik)]).string }
        XCTAssertEqual(ihs?.hasPrefix("P"), true)
        // A second sync sends nothing.
        let before = setup.sandbox.requestLog().count
        let again = try await engine.sync()
        XCTAssertEqual(again.requests, 0)
        XCTAssertEqual(setup.sandbox.requestLog().count, before)
        let fetches = await engine.tokenFetches()
        XCTAssertEqual(fetches, 1, "one token for the whole run")
        let logged = try setup.client.database.read { try $0.scalar("SELECT count(*) FROM sync_log WHERE request_id IS NOT NULL").int }
        XCTAssertGreaterThanOrEqual(logged ?? 0, 20)
    }

    func testSingleRequestsWithoutBundlesAlsoArriveInOrder() async throws {
        let setup = try SandboxClinic()
        defer { setup.stop() }
        try setup.client.recordEncounter(setup.clinic.fullVisit(number: "ENC-SINGLE"))
        let report = try await setup.engine { $0.bundles = false; $0.concurrency = 1 }.sync()
        XCTAssertEqual(report.exitStatus, 0, "\(report.counts)")
        XCTAssertEqual(setup.sandbox.counts()["Encounter"], 1)
        XCTAssertEqual(setup.sandbox.resources(ofType: "Encounter").first?["status"], "finished", "created arrived, then updated")
        XCTAssertEqual(setup.sandbox.resources(ofType: "Encounter").first?.value(at: "meta.versionId"), "2")
        XCTAssertEqual(setup.danglingReferences(), [])
        XCTAssertFalse(setup.sandbox.requestLog().contains { $0.path == "/fhir-r4/v1" }, "no bundle was sent")
    }

    func testAFailedItemHoldsOnlyItsDependants() async throws {
        let setup = try SandboxClinic()
        defer { setup.stop() }
        let broken = try setup.client.recordEncounter(SampleClinic.visit(number: "ENC-BAD", patient: SampleClinic.patients[0], finishedBefore: TestClinic.now))
        let healthy = try setup.client.recordEncounter(SampleClinic.visit(number: "ENC-OK", patient: SampleClinic.patients[1], finishedBefore: TestClinic.now))
        // Corrupt one stored Observation so that only the server refuses it.
        let badObservation = broken.resourceIDs[1]
        try setup.client.database.write { conn in
            let json = try conn.scalar("SELECT json FROM resources WHERE local_id = ?", [.text(badObservation)]).string!
            try conn.execute("UPDATE resources SET json = ? WHERE local_id = ?",
                             [.text(json.replacingOccurrences(of: "\"effectiveDateTime\":\"2026", with: "\"effectiveDateTime\":\"2027")), .text(badObservation)])
        }
        let report = try await setup.engine().sync()
        XCTAssertEqual(report.exitStatus, 4)
        let items = try setup.client.outboxItems(limit: 10_000)
        let bad = try XCTUnwrap(items.first { $0.resourceID == badObservation })
        XCTAssertEqual(bad.status, .failed)
        XCTAssertTrue(bad.lastError?.contains("in the future") == true, bad.lastError ?? "")
        // Its dependants (the closing update and the summary) are held and say why; its siblings went through.
        let brokenItems = items.filter { $0.encounterID == broken.encounterID }
        let held = brokenItems.filter { $0.status == .held }
        XCTAssertEqual(Set(held.map { "\($0.resourceType!).\($0.operation.rawValue)" }), ["Encounter.update", "Composition.create"])
        XCTAssertTrue(held.allSatisfy { $0.hold == .waitsOn(item: bad.id, because: .failed) })
        XCTAssertEqual(brokenItems.filter { $0.status == .completed }.count, brokenItems.count - 3)
        XCTAssertTrue(items.filter { $0.encounterID == healthy.encounterID }.allSatisfy { $0.status == .completed })
        XCTAssertEqual(setup.sandbox.counts()["Encounter"], 2)
        XCTAssertEqual(setup.danglingReferences(), [])
    }

    func testAnUnknownPatientIsHeldAsRegistrationRequired() async throws {
        let setup = try SandboxClinic()
        defer { setup.stop() }
        let stranger = PatientInput(nik: "3171000000000077", name: "Belum Terdaftar", gender: .female, birthDate: "1999-09-09")
        try setup.client.addPatient(stranger)
        let visit = try setup.client.recordEncounter(SampleClinic.visit(number: "ENC-NEW", patient: stranger, finishedBefore: TestClinic.now))
        let report = try await setup.engine().sync()
        XCTAssertEqual(report.exitStatus, 3)
        let items = try setup.client.outboxItems(limit: 1000)
        let lookup = try XCTUnwrap(items.first { $0.operation == .lookup && $0.status == .held })
        XCTAssertEqual(lookup.hold, .registrationRequired)
        // Everything of the visit waits on the lookup, except the Medication, which does not reference the patient.
        let visitItems = items.filter { $0.encounterID == visit.encounterID }
        XCTAssertTrue(visitItems.filter { $0.resourceType != "Medication" }.allSatisfy { $0.status == .held })
        XCTAssertEqual(visitItems.filter { $0.status == .completed }.map(\.resourceType), ["Medication"])
        XCTAssertEqual(setup.sandbox.counts()["Encounter"], nil)
    }

    func testAnAnswerLostAfterTheServerCommittedNeverDuplicates() async throws {
        for mode in [Sandbox.Mode.satusehat, .fhir] {
            let setup = try SandboxClinic(mode: mode, profile: mode == .fhir ? .fhir : .satusehat, seedPeople: mode == .satusehat, name: "lost-\(mode)")
            defer { setup.stop() }
            try setup.client.recordEncounter(setup.clinic.fullVisit(number: "ENC-LOST"))
            let engine = try setup.engine { ($0.criticalTimeout, $0.requestTimeout, $0.longTimeout) = (2, 2, 2) }
            // Prerequisites first, then lose the answer to the visit's bundle after the server stored it.
            _ = try await engine.sync()
            let withoutVisit = setup.sandbox.counts()
            XCTAssertEqual(withoutVisit["Encounter"], 1, "\(mode): the first run already sent the bundle")
            // A second visit, whose bundle's answer is lost after the server stored it.
            try setup.client.recordEncounter(SampleClinic.visit(number: "ENC-LOST-2", patient: SampleClinic.patients[1], finishedBefore: TestClinic.now))
            setup.sandbox.setFaults(try FaultPlan(spec: "commit-drop=1"))
            let lost = try await engine.sync()
            XCTAssertEqual(lost.exitStatus, 3, "\(mode)")
            XCTAssertEqual(setup.sandbox.counts()["Encounter"], 2, "\(mode): the server committed the bundle")
            let flagged = try setup.client.database.read { try $0.scalar("SELECT count(*) FROM outbox WHERE needs_check = 1").int }
            XCTAssertGreaterThan(flagged ?? 0, 0, "\(mode)")
            setup.sandbox.setFaults(FaultPlan())
            let settled = try await engine.sync(untilIdle: true, timeout: 600)
            XCTAssertEqual(settled.exitStatus, 0, "\(mode): \(settled.counts)")
            XCTAssertEqual(setup.sandbox.counts()["Encounter"], 2, "\(mode): no second copy")
            XCTAssertEqual(setup.sandbox.counts()["Observation"], 3 + 4, "\(mode)")
            XCTAssertEqual(setup.duplicatedIdentifiers(), [], "\(mode)")
            XCTAssertEqual(setup.danglingReferences(), [], "\(mode)")
        }
    }

    func testAnExpiredTokenIsRefreshedOnceAndTheRequestRetried() async throws {
        let setup = try SandboxClinic()
        defer { setup.stop() }
        let engine = try setup.engine()
        try setup.client.recordEncounter(SampleClinic.visit(number: "T1", patient: SampleClinic.patients[0], finishedBefore: TestClinic.now))
        _ = try await engine.sync()
        let first = await engine.tokenFetches()
        XCTAssertEqual(first, 1)
        setup.sandbox.expireTokens()
        try setup.client.recordEncounter(SampleClinic.visit(number: "T2", patient: SampleClinic.patients[1], finishedBefore: TestClinic.now))
        let report = try await engine.sync()
        XCTAssertEqual(report.exitStatus, 0, "\(report.counts)")
        let second = await engine.tokenFetches()
        XCTAssertEqual(second, 2)
        XCTAssertEqual(setup.sandbox.requestLog().filter { $0.status == 401 }.count, 1)
    }

    func testPanicReportsReachTheEmergencyServiceFirstAndOnce() async throws {
        let setup = try SandboxClinic()
        defer { setup.stop() }
        try setup.client.recordEncounter(SampleClinic.visit(number: "P1", patient: SampleClinic.patients[0], finishedBefore: TestClinic.now))
        let panic = try setup.client.recordPanic(PanicReport(latitude: -6.2, longitude: 106.8, severity: .critical, type: "cardiac_arrest"))
        let report = try await setup.engine { $0.concurrency = 1 }.sync()
        XCTAssertEqual(report.exitStatus, 0)
        let first = try XCTUnwrap(setup.sandbox.requestLog().first { $0.path != "/oauth2/v1/accesstoken" })
        XCTAssertEqual(first.path, "/api/emergency/notify")
        XCTAssertEqual(setup.sandbox.emergencyNotifications().map { $0["event_id"]?.stringValue }, [panic.eventID])
        let status = try setup.client.database.read { try $0.scalar("SELECT status FROM panic_reports").string }
        XCTAssertEqual(status, "notified")
    }
}
