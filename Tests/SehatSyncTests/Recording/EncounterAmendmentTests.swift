import Foundation
import SehatBench
import SehatFHIR
import SehatJSON
import XCTest

@testable import SehatSync

/// "Log, fix data, retry" (seeds/004 US-11.5): amending a recorded visit, before and after it
/// reached the server.
final class EncounterAmendmentTests: XCTestCase {
    private static let example = try! String(contentsOf: TestClinic.repositoryRoot.appendingPathComponent("Schemas/examples/encounter.json"), encoding: .utf8)

    private func document(_ change: (inout JSON) -> Void = { _ in }) throws -> EncounterDocument {
        var json = try JSON.parse(EncounterAmendmentTests.example)
        change(&json)
        return try EncounterDocument(json: json.text)
    }

    func testAMedicationRefusedForItsKFACodeIsAmendedAndItsDependantsFollow() async throws {
        let setup = try SandboxClinic(unknownCodes: ["93001019"])
        defer { setup.stop() }
        try setup.client.recordEncounter(try document())
        let first = try await setup.engine().sync()
        XCTAssertEqual(first.exitStatus, 4, "the Medication is refused: \(first.counts)")
        let medication = try XCTUnwrap(try setup.client.outboxItems(limit: 1_000).first { $0.resourceType == "Medication" })
        XCTAssertEqual(medication.status, .failed)
        XCTAssertEqual(setup.sandbox.counts()["MedicationRequest"] ?? 0, 0, "what needs the Medication waits")

        let amended = try setup.client.amendEncounter(try document {
            $0["prescriptions"] = [.obj(["kfa_code": "93001020", "display": "Paracetamol 500 mg Tablet", "dosage": "3 x 1 tablet after meals",
                                         "quantity": 10, "unit": "TAB", "dispensed_at": "2025-12-26T09:40:00+07:00"])]
        }, reason: "KFA code corrected")
        XCTAssertTrue(amended.changedResources.contains(medication.resourceID ?? "?"))
        XCTAssertEqual(amended.resentItems, [medication.id])
        XCTAssertEqual(amended.outboxItemIDs, [], "nothing of it is on the server: no update")
        let second = try await setup.engine().sync()
        XCTAssertEqual(second.exitStatus, 0, "\(second.counts)")
        XCTAssertEqual(setup.sandbox.counts()["Medication"], 1)
        XCTAssertEqual(setup.sandbox.counts()["MedicationRequest"], 1)
        XCTAssertEqual(setup.sandbox.counts()["MedicationDispense"], 1)
        XCTAssertEqual(setup.sandbox.resources(ofType: "Medication").first?.value(at: "code.coding")?[0]?["code"]?.stringValue, "93001020")
        XCTAssertEqual(setup.sandbox.counts()["Encounter"], 1, "nothing created twice")
        XCTAssertTrue(setup.duplicatedIdentifiers().isEmpty, "\(setup.duplicatedIdentifiers())")
        let kept = try setup.client.database.read { try $0.scalar("SELECT count(*) FROM resource_history WHERE change = 'amended'").int }
        XCTAssertEqual(kept, amended.changedResources.count, "every old version kept")
    }

    func testAVitalAmendedAfterTheVisitWasSentIsUpdatedInPlace() async throws {
        let setup = try SandboxClinic()
        defer { setup.stop() }
        try setup.client.recordEncounter(try document())
        _ = try await setup.engine().sync()
        let before = setup.sandbox.counts()
        let amended = try setup.client.amendEncounter(try document {
            var vitals = $0["vitals"]!.arrayValue!
            vitals[0]["value"] = 130
            $0["vitals"] = .array(vitals)
        }, reason: "systolic misread")
        XCTAssertEqual(amended.changedResources.count, 1)
        XCTAssertEqual(amended.outboxItemIDs.count, 1, "one update, for the Observation")
        let report = try await setup.engine().sync()
        XCTAssertEqual(report.exitStatus, 0, "\(report.counts)")
        XCTAssertEqual(setup.sandbox.counts(), before, "updated in place, nothing created")
        let systolic = try XCTUnwrap(setup.sandbox.resources(ofType: "Observation").first { $0.value(at: "code.coding")?[0]?["code"]?.stringValue == "8480-6" })
        XCTAssertEqual(systolic.value(at: "valueQuantity.value")?.numberText, "130")
        XCTAssertEqual(systolic.value(at: "meta.versionId")?.stringValue, "2")
        let row = try setup.client.database.read { try $0.scalar("SELECT value FROM vitals WHERE loinc = '8480-6'").double }
        XCTAssertEqual(row, 130)
        // The same document again changes nothing.
        let again = try setup.client.amendEncounter(try document {
            var vitals = $0["vitals"]!.arrayValue!
            vitals[0]["value"] = 130
            $0["vitals"] = .array(vitals)
        }, reason: "no change")
        XCTAssertEqual(again.changedResources, [])
    }

    func testWhatCannotChangeIsRefusedAndNothingIsWritten() throws {
        let clinic = try TestClinic()
        defer { clinic.remove() }
        try clinic.client.recordEncounter(try document())
        let before = try clinic.tableCounts()
        let cases: [(String, (inout JSON) -> Void)] = [
            ("patient_nik", { $0["patient_nik"] = .string(SampleClinic.patients[1].nik) }),
            ("vitals", { $0["vitals"] = .array(Array($0["vitals"]!.arrayValue!.prefix(2))) }),
            ("procedures", { $0["procedures"] = [] }),
            ("number", { $0["number"] = "NEVER-RECORDED" }),
        ]
        for (field, change) in cases {
            XCTAssertThrowsError(try clinic.client.amendEncounter(try document(change), reason: "x"), field) { error in
                XCTAssertEqual((error as? FieldError)?.field, field, "\(error)")
            }
            XCTAssertEqual(try clinic.tableCounts(), before, field)
        }
        XCTAssertThrowsError(try clinic.client.amendEncounter(try document(), reason: " ")) { error in
            XCTAssertEqual((error as? FieldError)?.field, "reason")
        }
    }
}
