import Foundation
import SehatJSON
import XCTest

@testable import SehatSync

/// Stage 3 alone, over a scripted transport: headers, the token, one retry after a 401, the
/// endpoint's circuit.
final class UploaderTests: XCTestCase {
    let clock = ManualClock(TestClinic.now)

    private func tokens(_ transport: FakeTokenEndpoint) -> TokenManager {
        TokenManager(authURL: "http://auth.test/token", clientID: "c", secret: { "s" }, transport: transport, clock: clock, timeout: 5)
    }

    func testEveryRequestCarriesARequestIDAndTheToken() async {
        let transport = ScriptedTransport([HTTPAnswer(status: 201)])
        let uploader = Uploader(transport: transport, tokens: tokens(FakeTokenEndpoint()))
        let attempt = await uploader.send(HTTPCall(method: "POST", url: Fake.base + "/Observation"))
        XCTAssertEqual(attempt.status, 201)
        let sent = transport.calls.withLock { $0 }
        XCTAssertEqual(sent.count, 1)
        XCTAssertEqual(sent[0].headers["Authorization"], "Bearer t")
        XCTAssertEqual(sent[0].headers["X-Request-ID"], attempt.requestID)
        XCTAssertEqual(attempt.requestID.count, 36)
    }

    func testA401RefreshesTheTokenOnceAndRetries() async {
        let transport = ScriptedTransport([HTTPAnswer(status: 401), HTTPAnswer(status: 200), HTTPAnswer(status: 401), HTTPAnswer(status: 401)])
        let endpoint = FakeTokenEndpoint()
        let uploader = Uploader(transport: transport, tokens: tokens(endpoint))
        let first = await uploader.send(HTTPCall(method: "GET", url: Fake.base + "/Patient"))
        XCTAssertEqual(first.status, 200)
        XCTAssertEqual(endpoint.calls.withLock { $0 }, 2, "the token was fetched again after the 401")
        let second = await uploader.send(HTTPCall(method: "GET", url: Fake.base + "/Patient"))
        XCTAssertEqual(second.status, 401, "only once")
        XCTAssertEqual(transport.calls.withLock { $0.count }, 4)
    }

    func testNotificationsCarryNoSATUSEHATToken() async {
        let transport = ScriptedTransport([HTTPAnswer(status: 200)])
        let uploader = Uploader(transport: transport, tokens: tokens(FakeTokenEndpoint()))
        _ = await uploader.send(HTTPCall(method: "POST", url: "http://emergency.test/api/emergency/notify"), to: .emergency, lane: .emergency)
        XCTAssertNil(transport.calls.withLock { $0[0].headers["Authorization"] })
    }

    func testAnOpenCircuitSendsNothing() async {
        var settings = SyncConfiguration()
        (settings.breakerFailures, settings.breakerOpenSeconds, settings.requestsPerMinute) = (1, 30, 0)
        let endpoint = Endpoint(target: .satusehat, lane: .clinic)
        let guarded = EndpointGuard(name: "fhir", configuration: settings, clock: clock, sleeper: ClockSleeper(clock: clock))
        let transport = ScriptedTransport([HTTPAnswer(status: 503)])
        let uploader = Uploader(transport: transport, tokens: nil, guards: [endpoint: guarded])
        _ = await uploader.send(HTTPCall(method: "GET", url: Fake.base + "/Patient"))
        let refused = await uploader.send(HTTPCall(method: "GET", url: Fake.base + "/Patient"))
        guard case .circuitOpen = refused.outcome else { return XCTFail("\(refused.outcome)") }
        XCTAssertEqual(transport.calls.withLock { $0.count }, 1)
        let state = await guarded.state
        XCTAssertEqual(state, .open(until: clock.now().addingTimeInterval(30)))
    }
}
