import Foundation
import SehatFHIR
import SehatJSON
import XCTest

@testable import SehatSync

/// The JSON Schemas in `Schemas/` describe what the parsers accept: each example passes the
/// schema and records; each mutation is refused by both the schema and the parser.
final class DocumentSchemaTests: XCTestCase {
    private func load(_ path: String) throws -> String {
        try String(contentsOf: TestClinic.repositoryRoot.appendingPathComponent(path), encoding: .utf8)
    }

    func testEncounterExampleIsValidAndRecords() throws {
        let validator = SchemaValidator(root: try JSON.parse(try load("Schemas/encounter.schema.json")))
        let text = try load("Schemas/examples/encounter.json")
        XCTAssertEqual(validator.errors(in: try JSON.parse(text)), [])
        let clinic = try TestClinic()
        defer { clinic.remove() }
        let recorded = try clinic.client.recordEncounter(try EncounterDocument(json: text))
        XCTAssertEqual(recorded.number, "ENC-20251226-0001")
        XCTAssertEqual(recorded.resourceIDs.count, 14, "Encounter, 4 vitals, Condition, Procedure, Medication, MedicationRequest, MedicationDispense, ServiceRequest, lab Observation, DiagnosticReport, Composition")
    }

    func testEncounterSchemaAndParserRefuseTheSameMistakes() throws {
        let validator = SchemaValidator(root: try JSON.parse(try load("Schemas/encounter.schema.json")))
        let example = try JSON.parse(try load("Schemas/examples/encounter.json"))
        var mutations: [(String, JSON)] = []
        var doc = example; doc["patient_nik"] = nil; mutations.append(("patient_nik", doc))
        doc = example; doc["practitioner_nik"] = "123"; mutations.append(("practitioner_nik", doc))
        doc = example; doc["class"] = "OUT"; mutations.append(("class", doc))
        doc = example; doc["arrived_at"] = "2025-12-26 09:00"; mutations.append(("arrived_at", doc))
        doc = example; doc["surprise"] = 1; mutations.append(("surprise", doc))
        doc = example; doc["diagnoses"] = [.obj(["icd10": "J6.9", "display": "x"])]; mutations.append(("diagnoses[0].icd10", doc))
        doc = example; doc["vitals"] = [.obj(["code": "8480-6", "value": "high", "unit": "mm[Hg]"])]; mutations.append(("vitals[0].value", doc))
        doc = example; doc["prescriptions"] = [.obj(["kfa_code": "93001019", "display": "x", "dosage": "x", "quantity": 0, "unit": "TAB"])]
        mutations.append(("prescriptions[0].quantity", doc))
        doc = example; doc["summary"] = .obj(["title": "only a title"]); mutations.append(("summary.text", doc))
        // The limits (docs/limits.md) are the schema's too.
        doc = example; doc["number"] = "BAD-\u{0}x"; mutations.append(("number", doc))
        doc = example; doc["number"] = ""; mutations.append(("number", doc))
        doc = example; doc["location_code"] = .string(String(repeating: "L", count: 65)); mutations.append(("location_code", doc))
        doc = example; doc["diagnoses"] = [.obj(["icd10": "J06.9", "display": .string(String(repeating: "d", count: 1001))])]
        mutations.append(("diagnoses[0].display", doc))
        doc = example; doc["vitals"] = [.obj(["code": "2710-2", "display": "SpO2", "value": .number("1e308"), "unit": "%"])]; mutations.append(("vitals[0].value", doc))
        doc = example; doc["lab"] = .array(Array(repeating: .obj(["loinc": "2345-7", "display": "Glucose"]), count: 501)); mutations.append(("lab", doc))
        doc = example; doc["arrived_at"] = "2025-12-26T09:00:00+14:59"; mutations.append(("arrived_at", doc))
        let now = TestClinic.now
        for (field, mutated) in mutations {
            XCTAssertFalse(validator.errors(in: mutated).isEmpty, "the schema accepts a bad \(field)")
            XCTAssertThrowsError(try EncounterDocument(document: mutated).validate(now: now, profile: .satusehat), field) {
                XCTAssertEqual(($0 as? FieldError)?.field, field)
            }
        }
    }

    func testPanicExampleIsValidAndMutationsAreRefused() throws {
        let validator = SchemaValidator(root: try JSON.parse(try load("Schemas/panic.schema.json")))
        let example = try JSON.parse(try load("Schemas/examples/panic.json"))
        XCTAssertEqual(validator.errors(in: example), [])
        let clinic = try TestClinic(register: false)
        defer { clinic.remove() }
        clinic.clock.set(try FHIRDateTime.parse("2026-01-10T10:31:00Z"))
        XCTAssertNoThrow(try clinic.client.recordPanic(try PanicReport(json: example.text)))
        var mutations: [(String, JSON)] = []
        var doc = example; doc["latitude"] = .number("-91"); mutations.append(("latitude", doc))
        doc = example; doc["severity"] = "urgent"; mutations.append(("severity", doc))
        doc = example; doc["type"] = "Cardiac Arrest"; mutations.append(("type", doc))
        doc = example; doc["victim_age"] = .number("151"); mutations.append(("victim_age", doc))
        doc = example; doc["victim_gender"] = "x"; mutations.append(("victim_gender", doc))
        doc = example; doc["longitude"] = nil; mutations.append(("longitude", doc))
        doc = example; doc["extra"] = true; mutations.append(("extra", doc))
        doc = example; doc["victim_age"] = .number("1e30"); mutations.append(("victim_age", doc))
        doc = example; doc["reporter"] = .string(String(repeating: "r", count: 201)); mutations.append(("reporter", doc))
        doc = example; doc["reported_at"] = "0001-01-01T00:00:00Z"; mutations.append(("reported_at", doc))
        for (field, mutated) in mutations {
            XCTAssertFalse(validator.errors(in: mutated).isEmpty, "the schema accepts a bad \(field)")
            XCTAssertThrowsError(try PanicReport(json: mutated.text).validate(now: TestClinic.now), field) {
                XCTAssertEqual(($0 as? FieldError)?.field, field)
            }
        }
    }
}
