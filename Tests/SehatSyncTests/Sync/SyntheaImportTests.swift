import Foundation
import SehatBench
import SehatFHIR
import SehatJSON
import SehatSandbox
import XCTest

@testable import SehatSync

/// A real-world bundle nobody here wrote (Synthea: urn:uuid and conditional references)
/// goes the whole way to a plain FHIR server.
final class SyntheaImportTests: XCTestCase {
    static var fixtures: URL { TestClinic.repositoryRoot.deletingLastPathComponent().appendingPathComponent("shared/fixtures") }

    func testTheSyntheaPatientArrivesOnceWithEveryReferenceRewritten() async throws {
        try await sendSynthea(bundles: true)
    }

    func testTheSyntheaPatientArrivesOnceOneRequestAtATime() async throws {
        try await sendSynthea(bundles: false)
    }

    private func sendSynthea(bundles: Bool) async throws {
        let setup = try SandboxClinic(mode: .fhir, profile: .fhir, register: false, seedPeople: false, name: "synthea-\(bundles)")
        defer { setup.stop() }
        let seed = try JSON.parse(String(contentsOf: Self.fixtures.appendingPathComponent("synthea-sample-patient.seed.json"), encoding: .utf8))
        try setup.sandbox.seed(try XCTUnwrap(seed.arrayValue))
        let text = try String(contentsOf: Self.fixtures.appendingPathComponent("synthea-sample-patient.json"), encoding: .utf8)
        let bundle = try JSON.parse(text)
        let entries = try XCTUnwrap(bundle["entry"]?.arrayValue)

        // One way reads the file entry by entry, the other the whole text: both arrive the same.
        let imported = bundles ? try setup.client.importBundle(file: Self.fixtures.appendingPathComponent("synthea-sample-patient.json").path)
            : try setup.client.importBundle(json: text)
        XCTAssertEqual(imported.resourceIDs.count, entries.count)
        XCTAssertEqual(imported.lookups, 6, "one lookup per distinct Practitioner/Organization/Location named by a conditional reference")
        // Stored with local references only, and their own identifiers kept beside the SDK's.
        let storedPatient = try setup.client.database.read { conn in
            try conn.scalar("SELECT json FROM resources WHERE resource_type = 'Patient'").string.map { try JSON.parse($0) }
        }
        let originalPatient = try XCTUnwrap(entries.first { $0.value(at: "resource.resourceType") == "Patient" }?["resource"])
        let originalIdentifiers = try XCTUnwrap(originalPatient["identifier"]?.arrayValue)
        XCTAssertEqual(Array(storedPatient?["identifier"]?.arrayValue?.prefix(originalIdentifiers.count) ?? []), originalIdentifiers)
        XCTAssertEqual(storedPatient?["identifier"]?.arrayValue?.count, originalIdentifiers.count + 1)

        let engine = try setup.engine { $0.bundles = bundles }
        let report = try await engine.sync()
        XCTAssertEqual(report.exitStatus, 0, "\(report.counts)")
        XCTAssertEqual(setup.sandbox.requestLog().contains { $0.path == "/fhir-r4/v1" }, bundles)
        // Every resource exactly once, found by the SDK's own identifier (or tag).
        let system = "urn:sehatsync:\(SampleClinic.orgID):local-id"
        var perType: [String: Int] = [:]
        for entry in entries { perType[entry.value(at: "resource.resourceType")!.stringValue!, default: 0] += 1 }
        for (type, expected) in perType {
            let marked = setup.sandbox.resources(ofType: type).filter { resource in
                (resource["identifier"]?.arrayValue ?? []).contains { $0["system"]?.stringValue == system }
                    || (resource.value(at: "meta.tag")?.arrayValue ?? []).contains { $0["system"]?.stringValue == system }
            }
            XCTAssertEqual(marked.count, expected, type)
            XCTAssertEqual(setup.sandbox.resources(ofType: type).count, expected + (seed.arrayValue ?? []).filter { $0["resourceType"]?.stringValue == type }.count, type)
        }
        XCTAssertEqual(setup.danglingReferences(), [])
        // Conditional references now point at the seeded resources' server ids.
        let encounter = try XCTUnwrap(setup.sandbox.resources(ofType: "Encounter").first)
        XCTAssertEqual(encounter.value(at: "serviceProvider.reference")?.stringValue?.hasPrefix("Organization/seed-organization-"), true)
        XCTAssertEqual(encounter["participant"]?[0]?.value(at: "individual.reference")?.stringValue?.hasPrefix("Practitioner/seed-practitioner-"), true)
        // A second sync sends nothing.
        let again = try await engine.sync()
        XCTAssertEqual(again.requests, 0)
    }

    func testImportRefusesWhatItCannotCarry() throws {
        let clinic = try TestClinic(profile: .fhir, register: false)
        defer { clinic.remove() }
        let before = try clinic.tableCounts()
        for (field, text) in [
            ("resourceType", #"{"resourceType":"Patient"}"#),
            ("type", #"{"resourceType":"Bundle","type":"searchset","entry":[]}"#),
            ("entry", #"{"resourceType":"Bundle","type":"collection"}"#),
            ("entry[0].request.method", #"{"resourceType":"Bundle","type":"transaction","entry":[{"resource":{"resourceType":"Patient"},"request":{"method":"DELETE","url":"Patient/1"}}]}"#),
            ("(document)", #"{"resourceType":"Bundle",,}"#),
        ] {
            XCTAssertThrowsError(try clinic.client.importBundle(json: text), field) { XCTAssertEqual(($0 as? FieldError)?.field, field) }
        }
        XCTAssertEqual(try clinic.tableCounts(), before)
    }
}
