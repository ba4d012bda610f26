import Foundation
import SehatBench
import SehatJSON
import SehatSandbox
import XCTest

@testable import SehatSync

/// A refusal that waiting will not change never becomes a loop of requests.
final class NoHotLoopTests: XCTestCase {
    private func bundle(_ entries: [String]) -> String {
        #"{"resourceType":"Bundle","type":"transaction","entry":[\#(entries.joined(separator: ","))]}"#
    }

    private let patient = #"{"fullUrl":"urn:uuid:11111111-1111-4111-8111-111111111111","resource":{"resourceType":"Patient","name":[{"text":"Ani"}]},"request":{"method":"POST","url":"Patient"}}"#

    /// A `urn:uuid:` that names no entry is refused at import, with the entry and the path.
    func testImportRefusesAURNThatNamesNoEntry() throws {
        let clinic = try TestClinic(profile: .fhir, register: false)
        defer { clinic.remove() }
        let observation = #"{"fullUrl":"urn:uuid:22222222-2222-4222-8222-222222222222","resource":{"resourceType":"Observation","status":"final","code":{"text":"x"},"subject":{"reference":"urn:uuid:99999999-9999-4999-8999-999999999999"}},"request":{"method":"POST","url":"Observation"}}"#
        let before = try clinic.tableCounts()
        XCTAssertThrowsError(try clinic.client.importBundle(json: bundle([patient, observation]))) { error in
            XCTAssertEqual((error as? FieldError)?.field, "entry[1].resource.subject.reference")
            XCTAssertTrue((error as? FieldError)?.reason.contains("urn:uuid:99999999-9999-4999-8999-999999999999") == true)
        }
        XCTAssertEqual(try clinic.tableCounts(), before, "nothing written")
    }

    /// A reference to something the server does not have and the device did not make: the
    /// server says not found, there is nothing of the device's to check again, so the item
    /// fails with the server's message — after one request, not thousands.
    func testANotFoundThatNoDependencyExplainsFails() async throws {
        let setup = try SandboxClinic(mode: .fhir, profile: .fhir, register: false, seedPeople: false)
        defer { setup.stop() }
        let observation = #"{"fullUrl":"urn:uuid:22222222-2222-4222-8222-222222222222","resource":{"resourceType":"Observation","status":"final","code":{"text":"x"},"subject":{"reference":"Patient/not-on-the-server"}},"request":{"method":"POST","url":"Observation"}}"#
        try setup.client.importBundle(json: bundle([observation]))
        let report = try await setup.engine().sync(untilIdle: true, timeout: 3600)
        XCTAssertEqual(report.exitStatus, 4, "\(report.counts)")
        let failed = try XCTUnwrap(try setup.client.outboxItems(status: .failed).first)
        XCTAssertTrue(failed.lastError?.contains("Patient/not-on-the-server") == true, failed.lastError ?? "")
        XCTAssertLessThanOrEqual(setup.sandbox.requestLog().filter { $0.method == "POST" && $0.path.hasPrefix("/fhir-r4") }.count, 2,
                                 "the bundle, then the resource alone")
    }

    /// A resource that references itself goes as a one-entry transaction, where the reference
    /// is its own `urn:uuid:`; it is never waited on for ever.
    func testAResourceThatReferencesItselfIsSentOnce() async throws {
        let setup = try SandboxClinic(mode: .fhir, profile: .fhir, register: false, seedPeople: false)
        defer { setup.stop() }
        let loop = #"{"fullUrl":"urn:uuid:33333333-3333-4333-8333-333333333333","resource":{"resourceType":"Observation","status":"final","code":{"text":"panel"},"hasMember":[{"reference":"urn:uuid:33333333-3333-4333-8333-333333333333"}]},"request":{"method":"POST","url":"Observation"}}"#
        try setup.client.importBundle(json: bundle([loop]))
        let report = try await setup.engine { $0.bundles = false }.sync(untilIdle: true, timeout: 3600)
        XCTAssertEqual(report.exitStatus, 0, "\(report.counts)")
        let stored = try XCTUnwrap(setup.sandbox.resources(ofType: "Observation").first)
        let id = try XCTUnwrap(stored["id"]?.stringValue)
        XCTAssertEqual(stored["hasMember"]?[0]?["reference"]?.stringValue, "Observation/\(id)")
        XCTAssertEqual(setup.sandbox.requestLog().filter { $0.method == "POST" && $0.path.hasPrefix("/fhir-r4") }.map(\.path), ["/fhir-r4/v1"],
                       "one transaction, nothing else")
    }
}
