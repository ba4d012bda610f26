import Foundation
import SehatJSON
import XCTest

@testable import SehatSandbox

/// The sandbox's own rules and reference reading, written from SATUSEHAT.md and the FHIR
/// spec — not the SDK's — tested on their own.
final class SatusehatRuleBookTests: XCTestCase {
    func testDateTimesNeedAnOffsetAndAreReadExactly() {
        let utc = SatusehatRuleBook.instant("2025-12-26T02:00:00+00:00")
        XCTAssertEqual(utc, Date(timeIntervalSince1970: 1_766_714_400))
        XCTAssertEqual(SatusehatRuleBook.instant("2025-12-26T09:00:00+07:00"), utc)
        XCTAssertEqual(SatusehatRuleBook.instant("2025-12-26T02:00:00Z"), utc)
        XCTAssertEqual(SatusehatRuleBook.instant("2025-12-26T02:00:00.500Z"), utc.map { $0.addingTimeInterval(0.5) })
        XCTAssertEqual(SatusehatRuleBook.instant("2022-08-31T00:00:00Z"), SatusehatRuleBook.earliest)
        for bad in ["2025-12-26T02:00:00", "2025-12-26 02:00:00Z", "2025-13-01T00:00:00Z", "2025-12-26T02:00:00+0700", "2025-12-26T02:00:00.Z", ""] {
            XCTAssertNil(SatusehatRuleBook.instant(bad), bad)
        }
    }

    func testTheWindowAndTheRequiredFieldsOfAnEncounter() throws {
        let rules = SatusehatRuleBook(now: Date(timeIntervalSince1970: 1_766_714_400))
        let encounter = try JSON.parse(#"""
            {"resourceType":"Encounter","status":"finished","class":{"code":"XYZ"},"subject":{"reference":"Patient/P1"},
             "period":{"start":"2025-12-26T02:00:00+00:00","end":"2026-12-26T02:00:00+00:00"}}
            """#)
        let problems = rules.problems(encounter).map { "\($0.path): \($0.text)" }
        for expected in ["identifier: is required", "serviceProvider: is required", "statusHistory: is required",
                         "participant[0].individual: is required", "location[0].location: is required",
                         "class.code: must be one of AMB, EMER, IMP, HH, TELE", "period.end: 2026-12-26T02:00:00+00:00 is in the future"] {
            XCTAssertTrue(problems.contains(expected), "\(expected) in \(problems)")
        }
        let old = try JSON.parse(#"{"resourceType":"Observation","effectiveDateTime":"2021-01-01T00:00:00Z"}"#)
        XCTAssertTrue(rules.problems(old).contains { $0.path == "effectiveDateTime" && $0.text.contains("before 2022-08-31") })
    }

    func testReferencesAreReadEverywhereContainedIncluded() throws {
        let eob = try JSON.parse(#"""
            {"resourceType":"ExplanationOfBenefit","patient":{"reference":"urn:uuid:p1"},
             "contained":[{"resourceType":"ServiceRequest","subject":{"reference":"Patient/P1/_history/2"}}],
             "referral":{"reference":"#referral"},"insurer":{"reference":"Organization?identifier=https%3A%2F%2Fx%7C9"}}
            """#)
        let sites = eob.referenceTexts()
        XCTAssertEqual(sites.map(\.path), ["patient.reference", "contained[0].subject.reference", "referral.reference", "insurer.reference"])
        XCTAssertEqual(sites.map { ReferenceText($0.text) }, [
            .urn("urn:uuid:p1"), .local(type: "Patient", id: "P1"), .other, .search(type: "Organization", system: "https://x", value: "9"),
        ])
        let replaced = eob.replacingReferences { $0 == "urn:uuid:p1" ? "Patient/P1" : nil }
        XCTAssertEqual(replaced.value(at: "patient.reference")?.stringValue, "Patient/P1")
        XCTAssertEqual(replaced.value(at: "referral.reference")?.stringValue, "#referral")
    }

    /// SATUSEHAT.md, "Medication and dispensing": MedicationType (10031), the Medication
    /// referenced (10135/10138), the prescription identifiers (10388/10389), the dispense's
    /// prescription (10393).
    func testMedicationAndDispensingRules() throws {
        let rules = SatusehatRuleBook(now: Date())
        let bare = try JSON.parse(#"{"resourceType":"Medication","code":{"coding":[{"system":"http://sys-ids.kemkes.go.id/kfa","code":"93001019"}]}}"#)
        XCTAssertEqual(rules.numberedProblems(bare).map(\.rule), [10_031])
        let compound = try JSON.parse(#"""
            {"resourceType":"Medication","extension":[{"url":"https://fhir.kemkes.go.id/r4/StructureDefinition/MedicationType",
              "valueCodeableConcept":{"coding":[{"system":"http://terminology.kemkes.go.id/CodeSystem/medication-type","code":"C"}]}}],
             "ingredient":[{"itemCodeableConcept":{"coding":[{"system":"http://sys-ids.kemkes.go.id/kfa","code":"91000330"}]}},{"itemCodeableConcept":{"text":"gula"}}]}
            """#)
        XCTAssertEqual(rules.numberedProblems(compound).map(\.path), ["ingredient[1].itemCodeableConcept"])
        let dispense = try JSON.parse(#"{"resourceType":"MedicationDispense","identifier":[{"system":"http://sys-ids.kemkes.go.id/prescription/10000004","value":"1"}]}"#)
        XCTAssertEqual(rules.numberedProblems(dispense).map(\.rule), [10_138, 10_389, 10_393])
    }
}
