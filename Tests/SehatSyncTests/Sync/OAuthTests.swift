import Foundation
import SehatBench
import SehatSandbox
import SehatStore
import XCTest

@testable import SehatSync

/// Tokens from a standard OAuth2 endpoint as well as SATUSEHAT's, and a refusing endpoint
/// that is never silent.
final class OAuthTests: XCTestCase {
    private func clinic(oauth: Sandbox.OAuthStyle, secret: String = "sandbox-secret", name: String = #function) throws -> SandboxClinic {
        let setup = try SandboxClinic(oauthStyle: oauth, name: name)
        try "\(secret)\n".write(toFile: setup.clinic.directory + "/sandbox-secret", atomically: true, encoding: .utf8)
        return setup
    }

    func testAStandardTokenEndpointGrantsATokenAndTheVisitGoesThrough() async throws {
        let setup = try clinic(oauth: .standard)
        defer { setup.stop() }
        try setup.client.recordEncounter(SampleClinic.visit(number: "ENC-OAUTH", patient: SampleClinic.patients[0], finishedBefore: TestClinic.now))
        let report = try await setup.engine().sync()
        XCTAssertEqual(report.exitStatus, 0, "\(report.counts) \(report.authFailure ?? "")")
        XCTAssertEqual(setup.sandbox.counts()["Encounter"], 1)
        XCTAssertEqual(setup.sandbox.requestLog().filter { $0.path == "/oauth2/v1/accesstoken" }.map(\.status), [200])
    }

    func testARefusingTokenEndpointIsAnAuthenticationFailureNotSilentPending() async throws {
        for style in Sandbox.OAuthStyle.allCases {
            let setup = try clinic(oauth: style, secret: "wrong-secret", name: "refusing-\(style.rawValue)")
            defer { setup.stop() }
            try setup.client.recordEncounter(SampleClinic.visit(number: "ENC-DENIED", patient: SampleClinic.patients[0], finishedBefore: TestClinic.now))
            let report = try await setup.engine().sync()
            XCTAssertEqual(report.exitStatus, 5, "\(style): \(report.counts)")
            XCTAssertTrue(report.authFailure?.contains("401") == true, report.authFailure ?? "")
            XCTAssertEqual(setup.sandbox.requestLog().filter { $0.path == "/oauth2/v1/accesstoken" }.count, 1, "never hammered")
            let status = try setup.client.status()
            XCTAssertNotNil(status.authFailure)
            XCTAssertEqual(status.alerts, 1)
            // A second run does not raise it again; a success clears it.
            _ = try await setup.engine().sync()
            XCTAssertEqual(try setup.client.status().alerts, 1)
            try "sandbox-secret\n".write(toFile: setup.clinic.directory + "/sandbox-secret", atomically: true, encoding: .utf8)
            setup.clock.advance(by: 120)  // past the endpoint's lock-out
            let fixed = try await setup.engine().sync(untilIdle: true, timeout: 600)
            XCTAssertEqual(fixed.exitStatus, 0, "\(fixed.counts)")
            XCTAssertNil(try setup.client.status().authFailure)
        }
    }
}
