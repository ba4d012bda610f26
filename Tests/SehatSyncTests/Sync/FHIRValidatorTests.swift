import Foundation
import SehatBench
import SehatFHIR
import SehatJSON
import SehatSandbox
import SehatStore
import XCTest

@testable import SehatSync

/// Everything the SDK sends is valid FHIR R4 (4.0.1) according to two validators nobody here
/// wrote (fhirkit-rs and fhir.resources, pinned in Tests/validators/requirements.txt, in the
/// `.venv` that `.ci/run` creates). Our own rules cover what they do not (allowed codes,
/// SATUSEHAT's rules).
final class FHIRValidatorTests: XCTestCase {
    static var python: String { TestClinic.repositoryRoot.appendingPathComponent(".venv/bin/python").path }

    /// Runs the clinic's flows against a sandbox that keeps request bodies; returns the bodies.
    private func sentBodies(profile: Profile, bundles: Bool, importSynthea: Bool = false) async throws -> [String] {
        let mode: Sandbox.Mode = profile == .fhir ? .fhir : .satusehat
        let setup = try SandboxClinic(mode: mode, profile: profile, seedPeople: profile == .satusehat, keepBodies: true,
                                      name: "validators-\(profile)-\(bundles)")
        defer { setup.stop() }
        try setup.client.recordEncounter(try EncounterDocument(json: String(contentsOf: TestClinic.repositoryRoot.appendingPathComponent("Schemas/examples/encounter.json"), encoding: .utf8)))
        try setup.client.recordEncounter(setup.clinic.fullVisit(number: "ENC-V1"))
        try setup.client.recordEncounter(SampleClinic.visit(number: "ENC-V2", patient: SampleClinic.patients[1], finishedBefore: TestClinic.now))
        try setup.client.recordPanic(PanicReport(latitude: -6.2088, longitude: 106.8456, address: "Jl. Medan Merdeka Barat No. 1", severity: .high,
                                                 type: "traffic_accident", victimNIK: SampleClinic.patients[2].nik,
                                                 volunteerNIK: SampleClinic.practitioners[1].0, referral: true))
        if importSynthea {
            let fixtures = SyntheaImportTests.fixtures
            try setup.sandbox.seed(try JSON.parse(String(contentsOf: fixtures.appendingPathComponent("synthea-sample-patient.seed.json"), encoding: .utf8)).arrayValue ?? [])
            try setup.client.importBundle(json: String(contentsOf: fixtures.appendingPathComponent("synthea-sample-patient.json"), encoding: .utf8))
        }
        let report = try await setup.engine { $0.bundles = bundles }.sync()
        XCTAssertEqual(report.exitStatus, 0, "\(report.counts)")
        return setup.sandbox.requestLog().filter { $0.path.hasPrefix("/fhir-r4/v1") && ["POST", "PUT"].contains($0.method) }.compactMap(\.body)
    }

    func testEverythingTheSDKSendsIsValidFHIRR4() async throws {
        guard FileManager.default.isExecutableFile(atPath: Self.python) else {
            return XCTFail("the FHIR validators are not installed: run .ci/run, or python3 -m venv .venv && .venv/bin/pip install -r Tests/validators/requirements.txt")
        }
        var bodies: [String] = []
        bodies += try await sentBodies(profile: .satusehat, bundles: true)
        bodies += try await sentBodies(profile: .satusehat, bundles: false)
        bodies += try await sentBodies(profile: .fhir, bundles: true, importSynthea: true)
        let directory = NSTemporaryDirectory() + "sehat-validate-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var types = Set<String>()
        for (index, body) in bodies.enumerated() {
            let json = try JSON.parse(body)
            types.insert(json["resourceType"]?.stringValue ?? "?")
            for entry in json["entry"]?.arrayValue ?? [] { types.insert(entry.value(at: "resource.resourceType")?.stringValue ?? "?") }
            try body.write(toFile: String(format: "%@/%04d.json", directory, index), atomically: true, encoding: .utf8)
        }
        // Every kind of resource in the SATUSEHAT module spec was sent, singly and in bundles.
        XCTAssertTrue(["Bundle", "Location", "Encounter", "Observation", "Condition", "Procedure", "Medication", "MedicationRequest",
                       "MedicationDispense", "ServiceRequest", "DiagnosticReport", "Composition", "Patient", "Practitioner",
                       "Provenance", "ExplanationOfBenefit"].allSatisfy(types.contains), "\(types.sorted())")
        let (status, output) = try run(Self.python, [TestClinic.repositoryRoot.appendingPathComponent("Tests/validators/validate_fhir.py").path, directory])
        XCTAssertEqual(status, 0, output)
        XCTAssertTrue(output.contains("validated \(bodies.count) FHIR resources: \(bodies.count) passed, 0 failed"), output)
    }

    func testTheValidatorsCatchWhatTheyShould() throws {
        guard FileManager.default.isExecutableFile(atPath: Self.python) else {
            return XCTFail("the FHIR validators are not installed: run .ci/run")
        }
        let directory = NSTemporaryDirectory() + "sehat-validate-bad-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try #"{"resourceType":"Observation","status":"final","code":{"text":"x"},"effectiveDateTime":"2025-13-45"}"#
            .write(toFile: directory + "/bad.json", atomically: true, encoding: .utf8)
        let (status, output) = try run(Self.python, [TestClinic.repositoryRoot.appendingPathComponent("Tests/validators/validate_fhir.py").path, directory])
        XCTAssertEqual(status, 1, output)
        XCTAssertTrue(output.contains("fhirkit: Observation.effectiveDateTime"), output)
        XCTAssertTrue(output.contains("fhir.resources:"), output)
    }

    private func run(_ executable: String, _ arguments: [String]) throws -> (Int32, String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }
}
