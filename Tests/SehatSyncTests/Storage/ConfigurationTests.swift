import Foundation
import SehatBench
import XCTest

@testable import SehatSync

final class ConfigurationTests: XCTestCase {
    func testRecordingBeforeSetupIsRefused() throws {
        let directory = NSTemporaryDirectory() + "sehat-config-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let client = try SehatClient(path: directory + "/c.db")
        XCTAssertNil(try client.configuration())
        XCTAssertThrowsError(try client.addLocation(code: "A", name: "A")) { XCTAssertTrue($0 is NotConfiguredError) }
    }

    func testURLsMustBeHTTPSExceptLoopback() throws {
        XCTAssertNoThrow(try Configuration(orgID: "1", clientID: "c", clientSecretFile: "/x", baseURL: "http://127.0.0.1:8080/fhir-r4/v1"))
        XCTAssertNoThrow(try Configuration(orgID: "1", clientID: "c", clientSecretFile: "/x", baseURL: "http://localhost:1/fhir"))
        XCTAssertThrowsError(try Configuration(orgID: "1", clientID: "c", clientSecretFile: "/x", baseURL: "http://example.org/fhir")) {
            XCTAssertEqual(($0 as? FieldError)?.field, "base-url")
        }
        XCTAssertThrowsError(try Configuration(orgID: "1", clientID: "c", clientSecretFile: "/x", emergencyURL: "not a url")) {
            XCTAssertEqual(($0 as? FieldError)?.field, "emergency-url")
        }
        XCTAssertThrowsError(try Configuration(orgID: "10 0", clientID: "c", clientSecretFile: "/x")) { XCTAssertEqual(($0 as? FieldError)?.field, "org-id") }
        XCTAssertEqual(try Configuration(orgID: "1", clientID: "c", clientSecretFile: "/x", baseURL: "https://a.b/fhir/").baseURL, "https://a.b/fhir")
    }

    func testTheSecretNeverReachesTheDatabase() throws {
        let clinic = try TestClinic()
        defer { clinic.remove() }
        try clinic.client.recordEncounter(clinic.fullVisit())
        let secret = try String(contentsOfFile: clinic.directory + "/secret", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        XCTAssertEqual(try clinic.client.configuration()?.readClientSecret(), secret)
        for suffix in ["", "-wal", "-shm"] {
            guard let bytes = FileManager.default.contents(atPath: clinic.directory + "/clinic.db" + suffix) else { continue }
            XCTAssertNil(bytes.range(of: Data(secret.utf8)), "secret found in clinic.db\(suffix)")
        }
    }

    func testOrganizationCannotChangeUnderExistingRecords() throws {
        let clinic = try TestClinic()
        defer { clinic.remove() }
        var changed = try XCTUnwrap(try clinic.client.configuration())
        changed.emergencyURL = "http://127.0.0.1:9/"
        try clinic.client.configure(changed)
        XCTAssertEqual(try clinic.client.configuration()?.emergencyURL, "http://127.0.0.1:9")
        changed.orgID = "99999"
        XCTAssertThrowsError(try clinic.client.configure(changed)) { XCTAssertEqual(($0 as? FieldError)?.field, "org-id") }
        XCTAssertEqual(try clinic.client.configuration()?.orgID, SampleClinic.orgID)
    }

    func testMissingSecretFileIsRefused() throws {
        let clinic = try TestClinic(register: false)
        defer { clinic.remove() }
        XCTAssertThrowsError(try clinic.client.configure(Configuration(orgID: "1", clientID: "c", clientSecretFile: clinic.directory + "/nope"))) {
            XCTAssertEqual(($0 as? FieldError)?.field, "client-secret-file")
        }
    }
}
