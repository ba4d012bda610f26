import Foundation
import SehatBench
import SehatFHIR
import SehatJSON
import XCTest

@testable import SehatSync

/// Corrections of people: the old version kept, the NIK changeable only until the server has
/// matched the person by it, and a person the device created on a plain FHIR server updated there.
final class PersonCorrectionTests: XCTestCase {
    func testAPatientIsCorrectedOnTheDeviceAndTheirLookupSearchesTheCorrectedNIK() throws {
        let clinic = try TestClinic()
        defer { clinic.remove() }
        let patient = SampleClinic.patients[0]
        let corrected = try clinic.client.updatePatient(nik: patient.nik, PersonCorrection(name: "Budi Santosa", nik: "3171022309900099"),
                                                        reason: "name and NIK mistyped at registration")
        XCTAssertTrue(corrected.changed)
        XCTAssertEqual(corrected.outboxItemIDs, [], "a SATUSEHAT patient is found by lookup: nothing to update there")
        let lookup = try XCTUnwrap(try clinic.client.outboxItems(limit: 1_000).first { $0.resourceID == corrected.localID && $0.operation == .lookup })
        let request = try XCTUnwrap(try clinic.client.outboxItem(lookup.id).request)
        XCTAssertTrue(request.contains("317102******0099"), request)
        let row = try clinic.client.database.read { try $0.queryFirst("SELECT nik, name FROM patients WHERE local_id = ?", [.text(corrected.localID)]) }
        XCTAssertEqual(row?["nik"].string, "3171022309900099")
        XCTAssertEqual(row?["name"].string, "Budi Santosa")
        let history = try clinic.client.database.read { try $0.scalar("SELECT count(*) FROM resource_history WHERE local_id = ?", [.text(corrected.localID)]).int }
        XCTAssertEqual(history, 1)

        let before = try clinic.tableCounts()
        for (change, field) in [(PersonCorrection(birthDate: "2999-01-01"), "birth-date"), (PersonCorrection(name: " "), "name"),
                                (PersonCorrection(nik: "123"), "new-nik"), (PersonCorrection(nik: SampleClinic.patients[1].nik), "new-nik")] {
            XCTAssertThrowsError(try clinic.client.updatePatient(nik: "3171022309900099", change, reason: "x"), field) { error in
                XCTAssertEqual((error as? FieldError)?.field, field, "\(error)")
            }
        }
        XCTAssertThrowsError(try clinic.client.updatePractitioner(nik: SampleClinic.practitioners[0].0, PersonCorrection(birthDate: "1980-01-01"), reason: "x"))
        XCTAssertEqual(try clinic.tableCounts(), before, "refusals write nothing")
    }

    func testTheNIKIsFixedOnceTheServerMatchedThePerson() async throws {
        let setup = try SandboxClinic()
        defer { setup.stop() }
        _ = try await setup.engine().sync()
        let nik = SampleClinic.practitioners[0].0
        XCTAssertThrowsError(try setup.client.updatePractitioner(nik: nik, PersonCorrection(nik: "3171021505809999"), reason: "typo")) { error in
            XCTAssertEqual((error as? FieldError)?.field, "new-nik")
            XCTAssertTrue((error as? FieldError)?.reason.contains("register the person again") == true)
        }
        let renamed = try setup.client.updatePractitioner(nik: nik, PersonCorrection(name: "dr. Siti Rahmawati, Sp.PD"), reason: "title added")
        XCTAssertTrue(renamed.changed)
        XCTAssertEqual(renamed.outboxItemIDs, [], "SATUSEHAT's national record is not the clinic's to change")
    }

    func testAPatientCreatedOnAPlainFHIRServerIsUpdatedThere() async throws {
        let setup = try SandboxClinic(mode: .fhir, profile: .fhir, seedPeople: false)
        defer { setup.stop() }
        _ = try await setup.engine().sync()
        let nik = SampleClinic.patients[0].nik
        let corrected = try setup.client.updatePatient(nik: nik, PersonCorrection(name: "Budi Santosa"), reason: "name misspelt")
        XCTAssertEqual(corrected.outboxItemIDs.count, 1)
        let report = try await setup.engine().sync()
        XCTAssertEqual(report.exitStatus, 0, "\(report.counts)")
        let patient = try XCTUnwrap(setup.sandbox.resources(ofType: "Patient").first {
            $0["identifier"]?.arrayValue?.contains { $0["value"]?.stringValue == nik } == true
        })
        XCTAssertEqual(patient.value(at: "name")?[0]?["text"]?.stringValue, "Budi Santosa")
        XCTAssertEqual(patient.value(at: "meta.versionId")?.stringValue, "2", "updated in place")
        XCTAssertFalse(try setup.client.updatePatient(nik: nik, PersonCorrection(name: "Budi Santosa"), reason: "again").changed)
    }
}
