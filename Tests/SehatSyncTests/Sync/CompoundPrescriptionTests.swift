import Foundation
import SehatBench
import SehatSandbox
import XCTest

@testable import SehatSync

/// A compound prescription (racikan) goes to SATUSEHAT as a `C` Medication with its
/// KFA-coded ingredients; a single product as `NC`.
final class CompoundPrescriptionTests: XCTestCase {
    func testACompoundReachesTheSandboxWithItsIngredients() async throws {
        let setup = try SandboxClinic()
        defer { setup.stop() }
        let json = #"""
            {"number":"ENC-RACIK","patient_nik":"\#(SampleClinic.patients[0].nik)","practitioner_nik":"\#(SampleClinic.practitioners[0].0)",
             "location_code":"POLI-UMUM","class":"AMB","arrived_at":"2026-01-10T08:00:00+07:00","finished_at":"2026-01-10T08:30:00+07:00",
             "diagnoses":[{"icd10":"J06.9","display":"Acute upper respiratory infection"}],
             "prescriptions":[
               {"display":"Puyer batuk anak","ingredients":[{"kfa_code":"93000486","display":"Ambroxol"},{"kfa_code":"93001019","display":"Paracetamol"}],
                "dosage":"3 x 1 bungkus","quantity":9,"unit":"BKS"},
               {"kfa_code":"93001019","display":"Paracetamol 500 mg Tablet","dosage":"3 x 1","quantity":10,"unit":"TAB"}]}
            """#
        XCTAssertThrowsError(try setup.client.recordEncounter(try EncounterDocument(json: json.replacingOccurrences(of: #""display":"Puyer batuk anak","#, with: #""display":"Puyer batuk anak","kfa_code":"93001019","#)))) {
            XCTAssertEqual(($0 as? FieldError)?.field, "prescriptions[0].kfa_code")
        }
        try setup.client.recordEncounter(try EncounterDocument(json: json))
        let report = try await setup.engine().sync()
        let failed = try setup.client.outboxItems(status: .failed).map { "\($0.resourceType ?? ""): \($0.lastError ?? "")" }
        XCTAssertEqual(report.exitStatus, 0, "\(failed)")
        let medications = setup.sandbox.resources(ofType: "Medication")
        let types = medications.compactMap { $0["extension"]?[0]?.value(at: "valueCodeableConcept.coding")?[0]?["code"]?.stringValue }.sorted()
        XCTAssertEqual(types, ["C", "NC"])
        let compound = try XCTUnwrap(medications.first { $0["ingredient"] != nil })
        XCTAssertEqual(compound["ingredient"]?.arrayValue?.compactMap { $0.value(at: "itemCodeableConcept.coding")?[0]?["code"]?.stringValue },
                       ["93000486", "93001019"])
        XCTAssertEqual(compound.value(at: "code.text")?.stringValue, "Puyer batuk anak")
    }
}
