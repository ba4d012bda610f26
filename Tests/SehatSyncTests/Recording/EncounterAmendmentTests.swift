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

    /// A diagnosis removed after the visit was sent becomes entered-in-error on the server; the
    /// Encounter no longer lists it; a procedure removed before anything left never leaves.
    func testARemovedPartIsWithdrawn() async throws {
        let setup = try SandboxClinic()
        defer { setup.stop() }
        let twoDiagnoses: (inout JSON) -> Void = {
            $0["diagnoses"] = [.obj(["icd10": "J06.9", "display": "Acute upper respiratory infection"]), .obj(["icd10": "R50.9", "display": "Fever"])]
        }
        try setup.client.recordEncounter(try document(twoDiagnoses))
        _ = try await setup.engine().sync()
        let before = setup.sandbox.counts()
        XCTAssertEqual(before["Condition"], 2)
        let amended = try setup.client.amendEncounter(try document {
            twoDiagnoses(&$0)
            $0["diagnoses"] = .array(Array($0["diagnoses"]!.arrayValue!.prefix(1)))
        }, reason: "fever was not diagnosed")
        let types = try setup.client.database.read { conn in
            try amended.changedResources.map { try conn.scalar("SELECT resource_type FROM resources WHERE local_id = ?", [.text($0)]).string ?? "?" }
        }
        XCTAssertEqual(types.sorted(), ["Composition", "Condition", "Encounter"],
                       "the Condition withdrawn; the Encounter and the summary, which list the diagnoses, updated")
        XCTAssertEqual(amended.outboxItemIDs.count, 3)
        let report = try await setup.engine().sync()
        XCTAssertEqual(report.exitStatus, 0, "\(report.counts)")
        XCTAssertEqual(setup.sandbox.counts(), before, "nothing created, nothing deleted")
        let fever = try XCTUnwrap(setup.sandbox.resources(ofType: "Condition").first { $0.value(at: "code.coding")?[0]?["code"]?.stringValue == "R50.9" })
        XCTAssertEqual(fever.value(at: "verificationStatus.coding")?[0]?["code"]?.stringValue, "entered-in-error")
        let encounter = try XCTUnwrap(setup.sandbox.resources(ofType: "Encounter").first)
        XCTAssertEqual(encounter["diagnosis"]?.arrayValue?.count, 1)
        let rows = try setup.client.database.read { try $0.scalar("SELECT count(*) FROM diagnoses").int }
        XCTAssertEqual(rows, 1)

        // Before anything left: the removed procedure's create is withdrawn, and the visit still closes.
        let fresh = try SandboxClinic(name: "fresh")
        defer { fresh.stop() }
        try fresh.client.recordEncounter(try document())
        let early = try fresh.client.amendEncounter(try document { $0["procedures"] = [] }, reason: "no ECG was taken")
        XCTAssertEqual(early.changedResources.count, 1, "the Procedure (the Encounter does not list procedures)")
        let drained = try await fresh.engine().sync()
        XCTAssertEqual(drained.exitStatus, 0, "\(drained.counts)")
        XCTAssertEqual(fresh.sandbox.counts()["Procedure"] ?? 0, 0, "never left")
        XCTAssertEqual(fresh.sandbox.resources(ofType: "Encounter").first?["status"]?.stringValue, "finished")
    }

    /// The case: after sync, a vital's value changed, a diagnosis removed and a procedure
    /// added — the Observation is updated in place, the Condition is entered-in-error, the
    /// Procedure is created; nothing else is created.
    func testAVisitAmendedAfterSyncChangesRemovesAndAdds() async throws {
        let setup = try SandboxClinic()
        defer { setup.stop() }
        let recordedDocument: (inout JSON) -> Void = {
            $0["diagnoses"] = [.obj(["icd10": "J06.9", "display": "Acute upper respiratory infection"]), .obj(["icd10": "R50.9", "display": "Fever"])]
        }
        try setup.client.recordEncounter(try document(recordedDocument))
        _ = try await setup.engine().sync()
        let before = setup.sandbox.counts()
        _ = try setup.client.amendEncounter(try document {
            recordedDocument(&$0)
            var vitals = $0["vitals"]!.arrayValue!
            vitals[1]["value"] = 85
            $0["vitals"] = .array(vitals)
            $0["diagnoses"] = .array(Array($0["diagnoses"]!.arrayValue!.prefix(1)))
            $0["procedures"] = .array($0["procedures"]!.arrayValue! + [.obj(["icd9cm": "93.94", "display": "Nebulizer therapy"])])
        }, reason: "review the next day")
        let report = try await setup.engine().sync()
        XCTAssertEqual(report.exitStatus, 0, "\(report.counts)")
        var expected = before
        expected["Procedure", default: 0] += 1
        XCTAssertEqual(setup.sandbox.counts(), expected, "only the Procedure is new")
        let diastolic = try XCTUnwrap(setup.sandbox.resources(ofType: "Observation").first { $0.value(at: "code.coding")?[0]?["code"]?.stringValue == "8462-4" })
        XCTAssertEqual(diastolic.value(at: "valueQuantity.value")?.numberText, "85")
        let fever = try XCTUnwrap(setup.sandbox.resources(ofType: "Condition").first { $0.value(at: "code.coding")?[0]?["code"]?.stringValue == "R50.9" })
        XCTAssertEqual(fever.value(at: "verificationStatus.coding")?[0]?["code"]?.stringValue, "entered-in-error")
        XCTAssertTrue(setup.sandbox.resources(ofType: "Procedure").contains { $0.value(at: "code.coding")?[0]?["code"]?.stringValue == "93.94" })
        XCTAssertTrue(setup.danglingReferences().isEmpty, "\(setup.danglingReferences())")
        XCTAssertTrue(setup.duplicatedIdentifiers().isEmpty, "\(setup.duplicatedIdentifiers())")
    }

    /// Added before anything left: the new diagnosis travels with the visit, and the closing
    /// update waits for it.
    func testAPartAddedBeforeSyncTravelsWithTheVisit() async throws {
        let setup = try SandboxClinic()
        defer { setup.stop() }
        try setup.client.recordEncounter(try document())
        _ = try setup.client.amendEncounter(try document {
            $0["diagnoses"] = .array($0["diagnoses"]!.arrayValue! + [.obj(["icd10": "R50.9", "display": "Fever"])])
        }, reason: "fever diagnosed too")
        let report = try await setup.engine().sync()
        XCTAssertEqual(report.exitStatus, 0, "\(report.counts)")
        XCTAssertEqual(setup.sandbox.counts()["Condition"], 2)
        let encounter = try XCTUnwrap(setup.sandbox.resources(ofType: "Encounter").first)
        XCTAssertEqual(encounter["diagnosis"]?.arrayValue?.count, 2)
        XCTAssertEqual(encounter["status"]?.stringValue, "finished")
        XCTAssertTrue(setup.danglingReferences().isEmpty, "\(setup.danglingReferences())")
    }

    /// After sync: a lab test removed (its order, result and report become entered-in-error)
    /// and a prescription added (its Medication, request and dispense created); nothing else new.
    func testAPrescriptionAddedAndALabTestRemovedAfterSync() async throws {
        let setup = try SandboxClinic()
        defer { setup.stop() }
        try setup.client.recordEncounter(try document())
        _ = try await setup.engine().sync()
        let before = setup.sandbox.counts()
        let amended = try setup.client.amendEncounter(try document {
            $0["lab"] = []
            $0["prescriptions"] = .array($0["prescriptions"]!.arrayValue! + [.obj([
                "kfa_code": "93002063", "display": "Amoxicillin 500 mg Kapsul", "dosage": "3 x 1 capsule", "quantity": 15, "unit": "CAP",
                "dispensed_at": "2025-12-26T09:45:00+07:00"])])
        }, reason: "the glucose test was not done; amoxicillin was given")
        XCTAssertGreaterThanOrEqual(amended.outboxItemIDs.count, 6, "three withdrawals and three creates")
        let report = try await setup.engine().sync()
        XCTAssertEqual(report.exitStatus, 0, "\(report.counts)")
        var expected = before
        for type in ["Medication", "MedicationRequest", "MedicationDispense"] { expected[type, default: 0] += 1 }
        XCTAssertEqual(setup.sandbox.counts(), expected, "only the prescription is new; nothing deleted")
        let glucose = { (type: String) in setup.sandbox.resources(ofType: type).filter { $0.value(at: "code.coding")?[0]?["code"]?.stringValue == "2345-7" } }
        for type in ["ServiceRequest", "Observation", "DiagnosticReport"] {
            XCTAssertEqual(glucose(type).map { $0["status"]?.stringValue }, ["entered-in-error"], type)
        }
        let amoxicillin = try XCTUnwrap(setup.sandbox.resources(ofType: "Medication").first { $0.value(at: "code.coding")?[0]?["code"]?.stringValue == "93002063" })
        let amoxicillinID = try XCTUnwrap(amoxicillin["id"]?.stringValue)
        XCTAssertEqual(setup.sandbox.resources(ofType: "MedicationDispense").filter { $0.value(at: "medicationReference.reference")?.stringValue == "Medication/\(amoxicillinID)" }.count, 1)
        let rows = try setup.client.database.read { conn in
            try ["prescriptions", "dispenses", "lab_orders", "lab_results"].map { try conn.scalar("SELECT count(*) FROM \($0)").int ?? -1 }
        }
        XCTAssertEqual(rows, [2, 2, 0, 0])
        XCTAssertTrue(setup.danglingReferences().isEmpty, "\(setup.danglingReferences())")
        XCTAssertTrue(setup.duplicatedIdentifiers().isEmpty, "\(setup.duplicatedIdentifiers())")
        XCTAssertEqual(setup.sandbox.resources(ofType: "Encounter").first?["status"]?.stringValue, "finished")
    }

    /// Before anything left: a dispense and a lab result removed (their prescription and order
    /// stay) never leave; the visit still closes.
    func testADispenseAndALabResultRemovedBeforeSyncNeverLeave() async throws {
        let setup = try SandboxClinic()
        defer { setup.stop() }
        try setup.client.recordEncounter(try document())
        let vitals = try JSON.parse(EncounterAmendmentTests.example)["vitals"]!.arrayValue!.count
        _ = try setup.client.amendEncounter(try document {
            var prescription = $0["prescriptions"]![0]!
            prescription["dispensed_at"] = nil
            $0["prescriptions"] = [prescription]
            var lab = $0["lab"]![0]!
            lab["result"] = nil
            $0["lab"] = [lab]
        }, reason: "not dispensed, no result yet")
        let report = try await setup.engine().sync()
        XCTAssertEqual(report.exitStatus, 0, "\(report.counts)")
        let counts = setup.sandbox.counts()
        XCTAssertEqual(counts["MedicationDispense"] ?? 0, 0)
        XCTAssertEqual(counts["DiagnosticReport"] ?? 0, 0)
        XCTAssertEqual(counts["Observation"], vitals, "only the vitals")
        XCTAssertEqual(counts["MedicationRequest"], 1)
        XCTAssertEqual(counts["ServiceRequest"], 1)
        XCTAssertEqual(setup.sandbox.resources(ofType: "Encounter").first?["status"]?.stringValue, "finished")
        XCTAssertTrue(setup.danglingReferences().isEmpty, "\(setup.danglingReferences())")
        XCTAssertEqual(try setup.client.outboxItems(status: .withdrawn).compactMap(\.resourceType).sorted(),
                       ["DiagnosticReport", "MedicationDispense", "Observation"])
    }

    func testWhatCannotChangeIsRefusedAndNothingIsWritten() throws {
        let clinic = try TestClinic()
        defer { clinic.remove() }
        try clinic.client.recordEncounter(try document())
        let before = try clinic.tableCounts()
        let cases: [(String, (inout JSON) -> Void)] = [
            ("patient_nik", { $0["patient_nik"] = .string(SampleClinic.patients[1].nik) }),
            ("location_code", { $0["location_code"] = "POLI-NEVER" }),
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
