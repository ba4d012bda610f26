import SehatSupport
import Foundation
import SehatFHIR
import SehatJSON
import SehatStore
import XCTest

@testable import SehatSync

/// A token endpoint that counts its calls and answers what it is told.
final class FakeTokenEndpoint: HTTPTransport {
    let calls = Locked(0)
    let answer: Locked<HTTPAnswer>

    init(expiresIn: String = "3599", status: Int = 200) {
        answer = Locked(HTTPAnswer(status: status, body: Array(#"{"access_token":"t","token_type":"BearerToken","expires_in":"\#(expiresIn)"}"#.utf8)))
    }

    func send(_ call: HTTPCall) async throws -> HTTPAnswer {
        calls.withLock { $0 += 1 }
        await Task.yield()
        return answer.withLock { $0 }
    }
}

final class TokenManagerTests: XCTestCase {
    let clock = ManualClock(TestClinic.now)

    private func manager(_ endpoint: FakeTokenEndpoint) -> TokenManager {
        TokenManager(authURL: "http://127.0.0.1:9/oauth2/v1/accesstoken", clientID: "c", secret: { "s" }, transport: endpoint, clock: clock, timeout: 5)
    }

    /// A lifetime that is not a number from 1 s to a day is not believed: the token serves the
    /// default hour (less the refresh margin), then is asked for again.
    func testAnUnbelievableLifetimeServesTheDefaultHour() async throws {
        for lifetime in ["1e300", "inf", "-5", "0", "999999999"] {
            let endpoint = FakeTokenEndpoint(expiresIn: lifetime)
            let tokens = manager(endpoint)
            _ = try await tokens.token()
            clock.advance(by: 3600 - 301)
            _ = try await tokens.token()
            XCTAssertEqual(endpoint.calls.withLock { $0 }, 1, lifetime)
            clock.advance(by: 2)
            _ = try await tokens.token()
            XCTAssertEqual(endpoint.calls.withLock { $0 }, 2, "\(lifetime): asked again after the default hour")
        }
    }

    func testOneTokenServesUntilShortlyBeforeItExpires() async throws {
        let endpoint = FakeTokenEndpoint(expiresIn: "3599")
        let tokens = manager(endpoint)
        for _ in 0..<5 { _ = try await tokens.token() }
        XCTAssertEqual(endpoint.calls.withLock { $0 }, 1)
        clock.advance(by: 3599 - 301)
        _ = try await tokens.token()
        XCTAssertEqual(endpoint.calls.withLock { $0 }, 1, "still more than five minutes left")
        clock.advance(by: 2)
        _ = try await tokens.token()
        XCTAssertEqual(endpoint.calls.withLock { $0 }, 2, "refreshed five minutes before expiry")
    }

    func testConcurrentCallersShareOneRequest() async throws {
        let endpoint = FakeTokenEndpoint()
        let tokens = manager(endpoint)
        try await withThrowingTaskGroup(of: String.self) { group in
            for _ in 0..<20 { group.addTask { try await tokens.token() } }
            for try await token in group { XCTAssertEqual(token, "t") }
        }
        XCTAssertEqual(endpoint.calls.withLock { $0 }, 1)
    }

    func testBadCredentialsAreNotRetriedDuringTheLockOut() async throws {
        let endpoint = FakeTokenEndpoint(status: 401)
        let tokens = manager(endpoint)
        for _ in 0..<3 {
            do {
                _ = try await tokens.token()
                XCTFail("expected a refusal")
            } catch let error as AuthError {
                XCTAssertNotNil(error.retryAt)
            }
        }
        XCTAssertEqual(endpoint.calls.withLock { $0 }, 1, "one request a minute after a failure")
        clock.advance(by: 61)
        endpoint.answer.withLock { $0 = HTTPAnswer(status: 200, body: Array(#"{"access_token":"u","expires_in":"3599"}"#.utf8)) }
        let token = try await tokens.token()
        XCTAssertEqual(token, "u")
        XCTAssertEqual(endpoint.calls.withLock { $0 }, 2)
    }

    func testInvalidatedTokenIsFetchedAnew() async throws {
        let endpoint = FakeTokenEndpoint()
        let tokens = manager(endpoint)
        let token = try await tokens.token()
        await tokens.invalidate(token)
        _ = try await tokens.token()
        XCTAssertEqual(endpoint.calls.withLock { $0 }, 2)
    }
}

final class CrashRecoveryTests: XCTestCase {
    /// Items a dead process left `processing` stay as they are when the database is opened or
    /// read; the next engine takes them back, creates marked to search before they are sent
    /// again (updates, idempotent PUTs, are not), and nothing is duplicated.
    func testItemsADeadOwnerLeftInFlightComeBackAndCheckFirst() async throws {
        let setup = try SandboxClinic()
        defer { setup.stop() }
        try setup.client.recordEncounter(setup.clinic.fullVisit(number: "ENC-CRASH"))
        try setup.client.database.write { conn in
            try conn.execute("INSERT INTO sync_owners(id, host, pid, process_start, started_at) VALUES ('dead', ?, 2147483646, 1, 'x')",
                             [.text(ProcessInfo.processInfo.hostName)])
            try conn.execute("UPDATE outbox SET status = 'processing', claimed_by = 'dead', lease_until = ?",
                             [.integer(Int64(setup.clock.now().timeIntervalSince1970 * 1000) + 3_600_000)])
        }
        let reopened = try SehatClient(path: setup.clinic.directory + "/clinic.db", clock: setup.clock)
        _ = try reopened.status()
        XCTAssertEqual(try reopened.outboxCounts().map(\.status), [.processing], "opening and reading recover nothing")
        let report = try await SyncEngine(client: reopened, sleeper: ClockSleeper(clock: setup.clock)).sync()
        XCTAssertEqual(report.exitStatus, 0, "\(report.counts)")
        XCTAssertEqual(setup.sandbox.counts()["Encounter"], 1)
        XCTAssertEqual(setup.duplicatedIdentifiers(), [])
        // Every attempt is in the sync log: the searches before sending, then the sends.
        let outcomes = try reopened.database.read { try $0.query("SELECT outcome, method FROM sync_log").map { "\($0["method"].string ?? "") \($0["outcome"].string ?? "")" } }
        XCTAssertTrue(outcomes.contains("GET absent_sending"), "\(outcomes)")
        XCTAssertTrue(outcomes.contains("POST bundle_created"), "\(outcomes)")
        XCTAssertEqual(try reopened.database.read { try $0.scalar("SELECT count(*) FROM sync_owners").int }, 0, "owners that are done are forgotten")
    }
}
