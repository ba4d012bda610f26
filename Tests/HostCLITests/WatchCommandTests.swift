import Foundation
import SehatFHIR
import SehatJSON
import SehatSandbox
import XCTest

/// A field device's daemon under a tester's hands, each a separate process.
final class WatchCommandTests: XCTestCase {
    func testTheDaemonFollowsTheSimulatedLinkAndStopsCleanly() throws {
        var configuration = Sandbox.Configuration()
        configuration.resources = [Sandbox.person("Patient", nik: "3171022309900001", name: "Budi Santoso"),
                                   Sandbox.person("Practitioner", nik: "3171021505800003", name: "dr. Siti Rahmawati")]
        let sandbox = try Sandbox(configuration: configuration)
        defer { sandbox.stop() }
        let sehat = try SehatProcess()
        defer { sehat.remove() }
        try "sandbox-secret\n".write(toFile: sehat.directory + "/secret.txt", atomically: true, encoding: .utf8)
        let example = try String(contentsOf: SehatProcess.repositoryRoot.appendingPathComponent("Schemas/examples/encounter.json"), encoding: .utf8)
        for step in [
            ["init", "--org-id", "10000004", "--client-id", "sandbox-client", "--client-secret-file", "secret.txt", "--base-url", sandbox.fhirBaseURL,
             "--auth-url", sandbox.authURL, "--requests-per-minute", "0"],
            ["location", "add", "--code", "POLI-UMUM", "--name", "Poli Umum"],
            ["practitioner", "add", "--nik", "3171021505800003", "--name", "dr. Siti Rahmawati"],
            ["patient", "add", "--nik", "3171022309900001", "--name", "Budi Santoso", "--gender", "male", "--birth-date", "1990-09-23"],
            ["net", "offline"],
        ] {
            XCTAssertEqual(try sehat.run(step).status, 0, "\(step)")
        }
        XCTAssertEqual(try sehat.run(["encounter", "record", "--file", "-"], stdin: example).status, 0)

        let daemon = try BackgroundSehat(["sync", "--watch"], in: sehat.directory)
        XCTAssertNotNil(daemon.line(containing: "offline: the server cannot be reached"), "the daemon notices the link is down")
        let status = try JSON.parse(try sehat.run(["status", "--json"]).stdout)
        XCTAssertEqual(status["link"]?.stringValue, "offline")
        XCTAssertEqual(status["online"]?.boolValue, false)
        XCTAssertEqual(sandbox.counts()["Encounter"], nil)

        XCTAssertEqual(try sehat.run(["net", "online"]).status, 0)
        XCTAssertNotNil(daemon.line(containing: "the link is back", timeout: 30))
        func waitForEncounters(_ count: Int) {
            let deadline = Date().addingTimeInterval(30)
            while sandbox.counts()["Encounter"] != count && Date() < deadline { _ = DispatchSemaphore(value: 0).wait(timeout: .now() + .milliseconds(100)) }
        }
        waitForEncounters(1)
        XCTAssertEqual(sandbox.counts()["Encounter"], 1)
        XCTAssertNotNil(daemon.line(containing: "synced:", timeout: 5))
        // A new record from another process wakes it.
        XCTAssertEqual(try sehat.run(["encounter", "record", "--file", "-"], stdin: example.replacingOccurrences(of: "ENC-20251226-0001", with: "ENC-LATER")).status, 0)
        waitForEncounters(2)
        XCTAssertEqual(sandbox.counts()["Encounter"], 2)
        XCTAssertEqual(daemon.stop(), 0, "SIGTERM stops it cleanly")
        XCTAssertNotNil(daemon.line(containing: "stopped", timeout: 5))

        let health = try sehat.run(["health", "--json"])
        XCTAssertEqual(health.status, 0, health.stderr)
        let checks = try JSON.parse(health.stdout).arrayValue ?? []
        XCTAssertEqual(checks.compactMap { $0["endpoint"]?.stringValue }, ["satusehat-fhir", "satusehat-auth"])
        XCTAssertTrue(checks.allSatisfy { $0["status"]?.stringValue == "healthy" }, health.stdout)
        XCTAssertTrue(try sehat.run(["status"]).stdout.contains("health satusehat-fhir: healthy"))
        XCTAssertEqual(try sehat.run(["net", "sideways"]).status, 2)
    }
}
