import Foundation
import SehatBench
import SehatFHIR
import SehatJSON
import SehatSandbox
import SehatStore
import XCTest

@testable import SehatSync

final class ConsentTests: XCTestCase {
    func testConsentDecidesWhatLeavesTheDevice() async throws {
        let setup = try SandboxClinic(register: false)
        defer { setup.stop() }
        try setup.client.addLocation(code: "POLI-UMUM", name: "Poli Umum")
        try setup.client.addPractitioner(nik: SampleClinic.practitioners[0].0, name: SampleClinic.practitioners[0].1)
        var withheld = SampleClinic.patients[0]
        withheld.consent = .none
        try setup.client.addPatient(withheld)
        try setup.client.addPatient(SampleClinic.patients[1])
        let held = try setup.client.recordEncounter(SampleClinic.visit(number: "C-NONE", patient: withheld, finishedBefore: TestClinic.now))
        try setup.client.recordEncounter(SampleClinic.visit(number: "C-ALL", patient: SampleClinic.patients[1], finishedBefore: TestClinic.now))
        let engine = try setup.engine()
        _ = try await engine.sync()
        // Nothing of the patient without consent left; the other patient's visit did.
        XCTAssertEqual(setup.sandbox.counts()["Encounter"], 1)
        XCTAssertFalse(setup.sandbox.requestLog().contains { $0.query.contains(withheld.nik) }, "not even the lookup by NIK")
        let lookup = try XCTUnwrap(try setup.client.outboxItems(status: .held).first { $0.resourceType == "Patient" })
        XCTAssertEqual(lookup.hold, .consent(.notGiven))
        // Granting consent releases it.
        XCTAssertEqual(Set(try setup.client.outboxItems(status: .held).compactMap(\.resourceType)), ["Patient", "Medication"],
                       "the visit's items that wait on nothing were held at the gate; the rest wait behind them")
        XCTAssertEqual(try setup.client.recordConsent(nik: withheld.nik, scope: .all), 2)
        let granted = try await engine.sync()
        XCTAssertEqual(granted.exitStatus, 0, "\(granted.counts)")
        XCTAssertEqual(setup.sandbox.counts()["Encounter"], 2)
        XCTAssertNotNil(try setup.client.serverID(forLocalID: held.encounterID))
        // Revoking stops what is not yet sent.
        try setup.client.recordConsent(nik: withheld.nik, scope: nil, revoke: true)
        try setup.client.recordEncounter(SampleClinic.visit(number: "C-REVOKED", patient: withheld, finishedBefore: TestClinic.now))
        _ = try await engine.sync()
        XCTAssertEqual(setup.sandbox.counts()["Encounter"], 2)
        XCTAssertTrue(try setup.client.outboxItems(status: .held).contains { $0.hold == .consent(.revoked) })
    }

    func testConsentExpiresByTheClock() async throws {
        let setup = try SandboxClinic(register: false)
        defer { setup.stop() }
        try setup.client.addLocation(code: "POLI-UMUM", name: "Poli Umum")
        try setup.client.addPractitioner(nik: SampleClinic.practitioners[0].0, name: SampleClinic.practitioners[0].1)
        var patient = SampleClinic.patients[0]
        patient.consentValidUntil = TestClinic.now.addingTimeInterval(3600)
        try setup.client.addPatient(patient)
        try setup.client.recordEncounter(SampleClinic.visit(number: "C-EXP", patient: patient, finishedBefore: TestClinic.now))
        setup.clock.advance(by: 7200)
        _ = try await setup.engine().sync()
        let held = try XCTUnwrap(try setup.client.outboxItems(status: .held).first)
        XCTAssertEqual(held.hold, .consent(.expired))
        XCTAssertEqual(setup.sandbox.counts()["Encounter"], nil)
    }

    func testEncounterOnlyAllowsIdentityAndEncountersButNothingElse() throws {
        let clinic = try TestClinic()
        defer { clinic.remove() }
        let patientID = try clinic.client.database.read { try $0.scalar("SELECT local_id FROM patients WHERE consent_scope = 'encounter_only'").string! }
        try clinic.client.database.read { conn in
            let gate = ConsentGate(connection: conn)
            XCTAssertNil(try gate.refusal(patientID: patientID, encounterID: nil, resourceType: "Patient", now: TestClinic.now))
            XCTAssertNil(try gate.refusal(patientID: patientID, encounterID: "e1", resourceType: "Observation", now: TestClinic.now))
            XCTAssertEqual(try gate.refusal(patientID: patientID, encounterID: nil, resourceType: "Observation", now: TestClinic.now), .encounterOnly)
        }
        XCTAssertThrowsError(try clinic.client.recordConsent(nik: "3171999999999999", scope: .all)) { XCTAssertEqual(($0 as? FieldError)?.field, "nik") }
        XCTAssertThrowsError(try clinic.client.recordConsent(nik: SampleClinic.patients[0].nik, scope: .all, until: TestClinic.now.addingTimeInterval(-1)))
    }
}
