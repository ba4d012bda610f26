import Foundation
import SehatBench
import SehatStore
import XCTest

@testable import SehatSync

final class RegistryRecorderTests: XCTestCase {
    func testSatusehatLooksUpPeopleAndAFHIRServerCreatesThem() throws {
        let satusehat = try TestClinic()
        defer { satusehat.remove() }
        let fhir = try TestClinic(profile: .fhir)
        defer { fhir.remove() }
        func operations(_ clinic: TestClinic) throws -> [String: Set<SehatSync.Operation>] {
            Dictionary(grouping: try clinic.client.outboxItems(), by: { $0.resourceType ?? "" }).mapValues { Set($0.map(\.operation)) }
        }
        XCTAssertEqual(try operations(satusehat), ["Location": [.create], "Practitioner": [.lookup], "Patient": [.lookup]])
        XCTAssertEqual(try operations(fhir), ["Location": [.create], "Practitioner": [.create], "Patient": [.create]])
    }

    func testDuplicatesAndBadInputAreRefusedWithoutWriting() throws {
        let clinic = try TestClinic()
        defer { clinic.remove() }
        let before = try clinic.tableCounts()
        func field(_ body: () throws -> Void) -> String? {
            do { try body(); return nil } catch { return (error as? FieldError)?.field ?? "\(error)" }
        }
        XCTAssertEqual(field { try clinic.client.addPatient(clinic.patients[0]) }, "nik")
        XCTAssertEqual(field { try clinic.client.addPatient(PatientInput(nik: "12", name: "A", gender: .male, birthDate: "1990-01-01")) }, "nik")
        XCTAssertEqual(field { try clinic.client.addPatient(PatientInput(nik: "3171000000000009", name: " ", gender: .male, birthDate: "1990-01-01")) }, "name")
        XCTAssertEqual(field { try clinic.client.addPatient(PatientInput(nik: "3171000000000009", name: "A", gender: .male, birthDate: "1990-02-30")) }, "birth-date")
        XCTAssertEqual(field { try clinic.client.addPatient(PatientInput(nik: "3171000000000009", name: "A", gender: .male, birthDate: "2027-01-01")) }, "birth-date")
        XCTAssertEqual(field { try clinic.client.addPatient(PatientInput(nik: "3171000000000009", name: "A", gender: .male, birthDate: "1990-01-01",
                                                                         consentValidUntil: TestClinic.now.addingTimeInterval(-1))) }, "consent-until")
        XCTAssertEqual(field { try clinic.client.addPractitioner(nik: SampleClinic.practitioners[0].0, name: "Again") }, "nik")
        XCTAssertEqual(field { try clinic.client.addLocation(code: "POLI-UMUM", name: "Again") }, "code")
        XCTAssertEqual(field { try clinic.client.addLocation(code: "poli umum", name: "Spaces") }, "code")
        XCTAssertEqual(try clinic.tableCounts(), before)
    }

    func testConsentIsStoredWithThePatient() throws {
        let clinic = try TestClinic()
        defer { clinic.remove() }
        let until = TestClinic.now.addingTimeInterval(86_400 * 365)
        try clinic.client.addPatient(PatientInput(nik: "3171000000000009", name: "Ani", gender: .female, birthDate: "2001-05-05", consent: .none, consentValidUntil: until))
        let row = try clinic.client.database.read { try $0.queryFirst("SELECT * FROM patients WHERE nik = '3171000000000009'") }
        XCTAssertEqual(row?["consent_scope"], "none")
        XCTAssertEqual(row?["consent_valid_from"].string, FHIRDateTime.format(TestClinic.now))
        XCTAssertEqual(row?["consent_valid_until"].string, FHIRDateTime.format(until))
        XCTAssertEqual(row?["consent_revoked_at"], .null)
    }
}

extension RegistryRecorderTests {
    func testAKnownIHSIDNeedsNoLookupAndIsUsedDirectly() throws {
        let clinic = try TestClinic()
        defer { clinic.remove() }
        let patient = PatientInput(nik: "3171000000000009", name: "Ani", gender: .female, birthDate: "2001-05-05", ihsID: "P02478375538")
        let patientID = try clinic.client.addPatient(patient)
        let doctorID = try clinic.client.addPractitioner(nik: "3171000000000010", name: "dr. Known", ihsID: "10009880728")
        XCTAssertFalse(try clinic.client.outboxItems().contains { $0.resourceID == patientID || $0.resourceID == doctorID })
        let serverIDs = try clinic.client.database.read { conn in
            try conn.query("SELECT server_id FROM resources WHERE local_id IN (?, ?) ORDER BY resource_type", [.text(patientID), .text(doctorID)]).map { $0[0] }
        }
        XCTAssertEqual(serverIDs, ["P02478375538", "10009880728"])
        var visit = SampleClinic.visit(number: "K1", patient: patient, finishedBefore: TestClinic.now)
        visit.practitionerNIK = "3171000000000010"
        let recorded = try clinic.client.recordEncounter(visit)
        let encounter = try XCTUnwrap(try clinic.client.outboxItems().first { $0.id == recorded.outboxItemIDs[0] })
        XCTAssertEqual(encounter.dependsOn.count, 2, "only the Location and the practitioner's role there remain to be created")
        XCTAssertThrowsError(try clinic.client.addPractitioner(nik: "3171000000000011", name: "x", ihsID: "not an id!")) {
            XCTAssertEqual(($0 as? FieldError)?.field, "ihs-id")
        }
    }
}
