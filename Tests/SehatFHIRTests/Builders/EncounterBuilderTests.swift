import Foundation
import XCTest

@testable import SehatFHIR
import SehatJSON

final class EncounterBuilderTests: XCTestCase {
    let now = try! FHIRDateTime.parse("2026-01-10T10:00:00Z")
    let arrived = try! FHIRDateTime.parse("2026-01-10T02:00:00Z")
    var builder: EncounterBuilder {
        EncounterBuilder(orgID: "100", patient: Link("Patient", "p1", display: "Budi"), practitioner: Link("Practitioner", "d1", display: "dr. Siti"),
                         location: Link("Location", "l1", display: "Poli Umum"), encounter: Link("Encounter", "e1"))
    }

    func testFinishedEncounterHasEverySatusehatField() throws {
        let finished = builder.encounter(identifier: "ENC-1", classCode: "AMB", arrivedAt: arrived, inProgressAt: arrived.addingTimeInterval(600),
                                         finishedAt: arrived.addingTimeInterval(1800), diagnoses: [(Link("Condition", "c1"), 1)])
        XCTAssertEqual(ResourceRules.issues(in: finished, profile: .satusehat, now: now), [])
        XCTAssertEqual(finished["status"], "finished")
        XCTAssertEqual(finished["statusHistory"]?.arrayValue?.compactMap { $0["status"]?.stringValue }, ["arrived", "in-progress", "finished"])
        XCTAssertEqual(finished["identifier"]?[0]?["system"], "http://sys-ids.kemkes.go.id/encounter/100")
        XCTAssertEqual(finished.value(at: "period.start"), "2026-01-10T02:00:00+00:00")
        XCTAssertEqual(finished.value(at: "serviceProvider.reference"), "Organization/100")
        XCTAssertEqual(Set(finished.references().map(\.reference.description)),
                       ["Patient/p1", "Practitioner/d1", "Location/l1", "Condition/c1", "Organization/100"])
    }

    func testArrivedEncounterHasNoEnd() {
        let arrivedOnly = builder.encounter(identifier: "ENC-1", classCode: "AMB", arrivedAt: arrived, inProgressAt: arrived, finishedAt: nil)
        XCTAssertEqual(arrivedOnly["status"], "arrived")
        XCTAssertNil(arrivedOnly.value(at: "period.end"))
        XCTAssertNil(arrivedOnly["diagnosis"])
        XCTAssertEqual(ResourceRules.issues(in: arrivedOnly, profile: .satusehat, now: now), [])
    }

    func testRulesCatchWhatTheServerWouldRefuse() {
        var bad = builder.encounter(identifier: "ENC-1", classCode: "XYZ", arrivedAt: arrived, inProgressAt: arrived, finishedAt: arrived)
        bad["serviceProvider"] = nil
        let fields = ResourceRules.issues(in: bad, profile: .satusehat, now: now).map(\.field)
        XCTAssertEqual(Set(fields), ["serviceProvider", "class.code", "period.end"])
        XCTAssertEqual(ResourceRules.issues(in: bad, profile: .fhir, now: now), [])
        let future = builder.vital(identifier: "v", loinc: "8480-6", display: "Systolic", value: 120, unit: "mm[Hg]", at: now.addingTimeInterval(7200))
        XCTAssertEqual(ResourceRules.issues(in: future, profile: .satusehat, now: now).map(\.field), ["effectiveDateTime", "issued"])
    }

    func testClinicalResourcesCarryBusinessIdentifiersAndLinks() {
        let condition = builder.condition(identifier: "c1", icd10: "J06.9", display: "ISPA", clinicalStatus: "active", at: arrived)
        XCTAssertEqual(condition["identifier"]?[0]?["system"], "http://sys-ids.kemkes.go.id/condition/100")
        XCTAssertEqual(condition.value(at: "encounter.reference"), "Encounter/e1")
        XCTAssertEqual(ResourceRules.issues(in: condition, profile: .satusehat, now: now), [])
        let report = builder.diagnosticReport(identifier: "r1", loinc: "2345-7", display: "Glucose", at: arrived, order: Link("ServiceRequest", "s1"),
                                              results: [Link("Observation", "o1")], conclusion: nil)
        XCTAssertEqual(report.references().map(\.reference.description), ["ServiceRequest/s1", "Patient/p1", "Encounter/e1", "Practitioner/d1", "Observation/o1"])
        let composition = builder.composition(identifier: "k1", title: "Resume", text: "a < b & c", at: arrived, entries: [])
        XCTAssertEqual(composition["section"]?[0]?.value(at: "text.div"), "<div xmlns=\"http://www.w3.org/1999/xhtml\">a &lt; b &amp; c</div>")
    }

    /// SATUSEHAT refuses a Medication without its MedicationType extension (RuleNumber 10031).
    func testAMedicationCarriesItsMedicationType() {
        let medication = builder.medication(identifier: "RX-1", kfa: "93001019", display: "Paracetamol 500 mg")
        let type = medication["extension"]?[0]
        XCTAssertEqual(type?["url"], "https://fhir.kemkes.go.id/r4/StructureDefinition/MedicationType")
        XCTAssertEqual(type?.value(at: "valueCodeableConcept.coding")?[0]?["system"], "http://terminology.kemkes.go.id/CodeSystem/medication-type")
        XCTAssertEqual(type?.value(at: "valueCodeableConcept.coding")?[0]?["code"], "NC")
    }
}
