import Foundation
import SehatBench
import SehatFHIR
import SehatJSON
import SehatStore
import XCTest

@testable import SehatSync

final class EncounterRecorderTests: XCTestCase {
    var clinic: TestClinic!

    override func setUpWithError() throws { clinic = try TestClinic() }
    override func tearDown() { clinic.remove() }

    /// Labels each item `Type.operation` (numbered when a type repeats) so the graph reads plainly.
    private func graph() throws -> [String: Set<String>] {
        let items = try clinic.client.outboxItems(lane: .clinic)
        let patientID = try clinic.client.database.read { try $0.scalar("SELECT local_id FROM patients WHERE nik = ?", [.text(clinic.patients[0].nik)]).string }
        let practitionerID = try clinic.client.database.read { try $0.scalar("SELECT local_id FROM practitioners WHERE nik = ?", [.text(SampleClinic.practitioners[0].0)]).string }
        let locationID = try clinic.client.database.read { try $0.scalar("SELECT local_id FROM locations WHERE code = 'POLI-UMUM'").string }
        var labels: [Int64: String] = [:]
        var seen: [String: Int] = [:]
        for item in items {
            var label = "\(item.resourceType!).\(item.operation.rawValue)"
            switch item.resourceID {
            case patientID: label = "Patient.lookup"
            case practitionerID: label = "Practitioner.lookup"
            case locationID: label = "Location.create"
            default:
                if item.encounterID == nil && item.resourceType != "PractitionerRole" { label = "other" }
            }
            seen[label, default: 0] += 1
            if item.encounterID != nil, seen[label]! > 1 { label += "#\(seen[label]!)" }
            labels[item.id] = label
        }
        var edges: [String: Set<String>] = [:]
        for item in items where item.encounterID != nil {
            edges[labels[item.id]!] = Set(item.dependsOn.map { labels[$0]! })
        }
        return edges
    }

    func testFullEncounterHasExactlyTheExpectedDependencyGraph() throws {
        try clinic.client.recordEncounter(clinic.fullVisit())
        let prerequisites: Set = ["Patient.lookup", "Practitioner.lookup"]
        let expected: [String: Set<String>] = [
            "Encounter.create": ["Patient.lookup", "Practitioner.lookup", "Location.create", "PractitionerRole.create"],
            "Observation.create": prerequisites.union(["Encounter.create"]),
            "Observation.create#2": prerequisites.union(["Encounter.create"]),
            "Condition.create": ["Patient.lookup", "Encounter.create"],
            "Procedure.create": prerequisites.union(["Encounter.create"]),
            "Medication.create": [],
            "MedicationRequest.create": prerequisites.union(["Encounter.create", "Medication.create"]),
            "MedicationDispense.create": prerequisites.union(["Encounter.create", "Medication.create", "MedicationRequest.create", "Location.create"]),
            "ServiceRequest.create": prerequisites.union(["Encounter.create"]),
            "Observation.create#3": prerequisites.union(["Encounter.create", "ServiceRequest.create"]),
            "DiagnosticReport.create": prerequisites.union(["Encounter.create", "ServiceRequest.create", "Observation.create#3"]),
            "Encounter.update": prerequisites.union([
                "Location.create", "Encounter.create", "Observation.create", "Observation.create#2", "Condition.create", "Procedure.create",
                "Medication.create", "MedicationRequest.create", "MedicationDispense.create", "ServiceRequest.create", "Observation.create#3",
                "DiagnosticReport.create",
            ]),
            "Composition.create": prerequisites.union(["Encounter.create", "Encounter.update", "Condition.create", "DiagnosticReport.create"]),
        ]
        let actual = try graph()
        XCTAssertEqual(Set(actual.keys), Set(expected.keys))
        for (label, dependencies) in expected {
            XCTAssertEqual(actual[label], dependencies, label)
        }
        // Of the visit, only the Medication (which references nothing) is ready: the rest waits on lookups.
        let ready = try clinic.client.readyItems(limit: 100)
        XCTAssertEqual(ready.filter { $0.encounterID != nil }.map { $0.resourceType }, ["Medication"])
    }

    func testEveryResourceIsStoredWithLocalReferencesAndABusinessIdentifier() throws {
        let recorded = try clinic.client.recordEncounter(clinic.fullVisit())
        XCTAssertEqual(recorded.resourceIDs.count, 12)
        let rows = try clinic.client.database.read { try $0.query("SELECT * FROM resources WHERE encounter_id = ?", [.text(recorded.encounterID)]) }
        XCTAssertEqual(rows.count, 12)
        let localIDs = Set(try clinic.client.database.read { try $0.query("SELECT local_id FROM resources").compactMap { $0[0].string } })
        for row in rows {
            let json = try JSON.parse(try row.string("json"))
            let system = try row.string("identifier_system")
            XCTAssertTrue(system.hasPrefix("http://sys-ids.kemkes.go.id/") && system.contains("/10000004"), system)
            let identifiers = json["identifier"]?.arrayValue ?? [json["identifier"]!]
            XCTAssertTrue(identifiers.contains { $0["system"]?.stringValue == system && $0["value"]?.stringValue == (try? row.string("identifier_value")) })
            for site in json.references() {
                guard case .relative(let type, let id) = site.reference else { return XCTFail("\(site)") }
                XCTAssertTrue(type == "Organization" ? id == SampleClinic.orgID : localIDs.contains(id), "\(site.path) → \(site.reference)")
            }
            XCTAssertEqual(ResourceRules.issues(in: json, profile: .satusehat, now: TestClinic.now), [], row.optionalString("resource_type") ?? "")
        }
    }

    func testEncounterIsCreatedArrivedAndClosedFinished() throws {
        let recorded = try clinic.client.recordEncounter(clinic.fullVisit())
        let (createPayload, updatePayload, stored) = try clinic.client.database.read { conn in
            (try conn.scalar("SELECT payload FROM outbox WHERE resource_id = ? AND operation = 'create'", [.text(recorded.encounterID)]).string,
             try conn.scalar("SELECT payload FROM outbox WHERE resource_id = ? AND operation = 'update'", [.text(recorded.encounterID)]),
             try conn.scalar("SELECT json FROM resources WHERE local_id = ?", [.text(recorded.encounterID)]).string)
        }
        let arrived = try JSON.parse(try XCTUnwrap(createPayload))
        XCTAssertEqual(arrived["status"], "arrived")
        XCTAssertNil(arrived["diagnosis"])
        XCTAssertEqual(updatePayload, .null, "the closing update sends the stored (finished) resource")
        let finished = try JSON.parse(try XCTUnwrap(stored))
        XCTAssertEqual(finished["status"], "finished")
        XCTAssertEqual(finished["diagnosis"]?.arrayValue?.count, 1)
    }

    func testSameEncounterNumberIsRecordedOnce() throws {
        try clinic.client.recordEncounter(clinic.fullVisit(number: "ENC-7"))
        let before = try clinic.tableCounts()
        XCTAssertThrowsError(try clinic.client.recordEncounter(clinic.fullVisit(number: "ENC-7"))) {
            XCTAssertEqual(($0 as? FieldError)?.field, "number")
        }
        XCTAssertEqual(try clinic.tableCounts(), before)
    }

    func testRejectedRecordsWriteNothing() throws {
        let good = clinic.fullVisit()
        var cases: [(String, EncounterDocument)] = []
        var doc = good
        doc.patientNIK = "3171999999999999"; cases.append(("patient_nik", doc))
        doc = good; doc.patientNIK = "31710223"; cases.append(("patient_nik", doc))
        doc = good; doc.practitionerNIK = "3171999999999999"; cases.append(("practitioner_nik", doc))
        doc = good; doc.locationCode = "POLI-NOPE"; cases.append(("location_code", doc))
        doc = good; doc.finishedAt = doc.arrivedAt.addingTimeInterval(-60); doc.inProgressAt = nil; cases.append(("finished_at", doc))
        doc = good; doc.finishedAt = TestClinic.now.addingTimeInterval(3600); cases.append(("finished_at", doc))
        doc = good; doc.diagnoses[0].icd10 = "J6.9"; cases.append(("diagnoses[0].icd10", doc))
        doc = good; doc.vitals[1].loinc = "8462"; cases.append(("vitals[1].code", doc))
        doc = good; doc.prescriptions[0].kfaCode = "PCT"; cases.append(("prescriptions[0].kfa_code", doc))
        doc = good; doc.prescriptions[0].ingredients = [.init(kfaCode: "91000330", display: "x")]; cases.append(("prescriptions[0].kfa_code", doc))
        doc = good; doc.prescriptions[0] = .init(compound: "Puyer", ingredients: [.init(kfaCode: "91", display: "x")], dosage: "3 x 1", quantity: 9, unit: "BKS")
        cases.append(("prescriptions[0].ingredients[0].kfa_code", doc))
        doc = good; doc.encounterClass = "OUT"; cases.append(("class", doc))
        doc = good; doc.arrivedAt = try FHIRDateTime.parse("2022-01-01T00:00:00Z"); doc.inProgressAt = nil
        doc.lab = []; doc.prescriptions[0].dispensedAt = nil; cases.append(("arrived_at", doc))
        doc = good; doc.inProgressAt = doc.finishedAt.addingTimeInterval(60); cases.append(("in_progress_at", doc))
        doc = good; doc.vitals[0].measuredAt = doc.arrivedAt.addingTimeInterval(-60); cases.append(("vitals[0].measured_at", doc))
        doc = good; doc.vitals[0].value = -1; cases.append(("vitals[0].value", doc))
        doc = good; doc.vitals[0] = .init(loinc: "1234-5", value: 1, unit: "1"); cases.append(("vitals[0].display", doc))
        doc = good; doc.diagnoses[0].clinicalStatus = "cured"; cases.append(("diagnoses[0].clinical_status", doc))
        doc = good; doc.procedures[0].start = doc.finishedAt; doc.procedures[0].end = doc.arrivedAt; cases.append(("procedures[0].end", doc))
        doc = good; doc.prescriptions[0].quantity = 0; cases.append(("prescriptions[0].quantity", doc))
        doc = good; doc.prescriptions[0].dispensedAt = doc.arrivedAt.addingTimeInterval(-60); cases.append(("prescriptions[0].dispensed_at", doc))
        doc = good; let ordered = doc.lab[0].orderedAt!; doc.lab[0].result?.resultedAt = ordered.addingTimeInterval(-60)
        cases.append(("lab[0].result.resulted_at", doc))
        let before = try clinic.tableCounts()
        for (field, bad) in cases {
            XCTAssertThrowsError(try clinic.client.recordEncounter(bad), field) { error in
                XCTAssertEqual((error as? FieldError)?.field, field, "\(error)")
            }
            XCTAssertEqual(try clinic.tableCounts(), before, field)
        }
    }

    func testABatchOfVisitsIsOneTransactionAllOrNothing() throws {
        try clinic.client.recordEncounter(clinic.fullVisit(number: "FIRST"))  // the practitioner's role, written once
        // A refused visit in the middle: its field is named with its place, nothing is written.
        var bad = clinic.fullVisit(number: "B-2")
        bad.diagnoses[0].icd10 = "J6.9"
        let before = try clinic.tableCounts()
        XCTAssertThrowsError(try clinic.client.recordEncounters([clinic.fullVisit(number: "B-1"), bad, clinic.fullVisit(number: "B-3")])) {
            XCTAssertEqual(($0 as? FieldError)?.field, "visits[1].diagnoses[0].icd10", "\($0)")
        }
        XCTAssertEqual(try clinic.tableCounts(), before)
        // The same number twice in one batch is refused as it is across batches.
        XCTAssertThrowsError(try clinic.client.recordEncounters([clinic.fullVisit(number: "B-1"), clinic.fullVisit(number: "B-1")])) {
            XCTAssertEqual(($0 as? FieldError)?.field, "visits[1].number", "\($0)")
        }
        XCTAssertEqual(try clinic.tableCounts(), before)

        // A good batch stores what recording them one by one stores: the same rows per visit.
        let recorded = try clinic.client.recordEncounters((1...3).map { clinic.fullVisit(number: "B-\($0)") })
        XCTAssertEqual(recorded.map { $0.resourceIDs.count }, Array(repeating: recorded[0].resourceIDs.count, count: 3))
        let batched = try clinic.tableCounts()
        try clinic.client.recordEncounter(clinic.fullVisit(number: "ONE"))
        let single = try clinic.tableCounts()
        for (table, count) in batched where table != "outbox_counts" {
            XCTAssertEqual((count - (before[table] ?? 0)) % 3, 0, table)
            XCTAssertEqual(single[table, default: 0] - count, (count - (before[table] ?? 0)) / 3, table)
        }
    }

    func testDocumentErrorsNameTheField() throws {
        let example = try String(contentsOf: TestClinic.repositoryRoot.appendingPathComponent("Schemas/examples/encounter.json"), encoding: .utf8)
        XCTAssertNoThrow(try EncounterDocument(json: example))
        func field(_ text: String) -> String? {
            do { _ = try EncounterDocument(json: text); return nil } catch { return (error as? FieldError)?.field }
        }
        XCTAssertEqual(field(example.replacingOccurrences(of: "\"arrived_at\"", with: "\"arived_at\"")), "arived_at")
        XCTAssertEqual(field(example.replacingOccurrences(of: "\"value\": 120", with: "\"value\": \"120\"")), "vitals[0].value")
        XCTAssertEqual(field(example.replacingOccurrences(of: "2025-12-26T09:30:00+07:00", with: "2025-12-26 09:30")), "finished_at")
        XCTAssertEqual(field("[1]"), "(document)")
        do {
            _ = try EncounterDocument(json: "{\n  \"patient_nik\": \"1\",\n  oops\n}")
            XCTFail("expected a syntax error")
        } catch let error as FieldError {
            XCTAssertEqual(error.reason, "invalid JSON at line 3, column 3: expected a quoted member name, found 'o'")
        }
    }

    func testConcurrentRecordersLoseNothing() async throws {
        let client = clinic.client
        let patients = clinic.patients
        try await withThrowingTaskGroup(of: Void.self) { group in
            for task in 0..<4 {
                group.addTask {
                    for i in 0..<10 {
                        try client.recordEncounter(SampleClinic.visit(number: "C-\(task)-\(i)", patient: patients[i % patients.count], finishedBefore: TestClinic.now))
                    }
                }
            }
            try await group.waitForAll()
        }
        let counts = try clinic.tableCounts()
        XCTAssertEqual(counts["encounters"], 40)
        XCTAssertEqual(counts["resources"], 40 * 10 + 2 + 2 + 3 + 1, "one PractitionerRole: one practitioner at one polyclinic")
        XCTAssertEqual(counts["outbox"], 40 * 11 + 7 + 1)
        let integrity = try client.database.withoutTransaction { try $0.scalar("PRAGMA integrity_check").string }
        XCTAssertEqual(integrity, "ok")
    }
}
