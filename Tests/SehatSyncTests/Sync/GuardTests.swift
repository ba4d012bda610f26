import Foundation
import SehatBench
import SehatSandbox
import XCTest

@testable import SehatSync

final class GuardTests: XCTestCase {
    let start = TestClinic.now

    func testTheBreakerOpensAfterFiveFailuresAndProbesOnceAfterThirtySeconds() {
        var breaker = CircuitBreaker(threshold: 5, openFor: 30)
        for _ in 0..<4 {
            XCTAssertEqual(breaker.admit(now: start), .allow)
            breaker.record(success: false, now: start)
        }
        breaker.record(success: true, now: start)
        XCTAssertEqual(breaker.state, .closed(failures: 0), "a success resets the count")
        for _ in 0..<5 { breaker.record(success: false, now: start) }
        XCTAssertEqual(breaker.admit(now: start.addingTimeInterval(29)), .refuse(until: start.addingTimeInterval(30)))
        XCTAssertEqual(breaker.admit(now: start.addingTimeInterval(30)), .probe, "half-open: one probe")
        XCTAssertEqual(breaker.admit(now: start.addingTimeInterval(30)), .refuse(until: start.addingTimeInterval(31)), "only one")
        breaker.record(success: false, now: start.addingTimeInterval(31))
        XCTAssertEqual(breaker.state, .open(until: start.addingTimeInterval(61)), "a failed probe opens it again")
        XCTAssertEqual(breaker.admit(now: start.addingTimeInterval(61)), .probe)
        breaker.record(success: true, now: start.addingTimeInterval(61))
        XCTAssertEqual(breaker.admit(now: start.addingTimeInterval(61)), .allow, "a good probe closes it")
    }

    func testTheBucketAllowsABurstThenSixtyAMinute() {
        var bucket = TokenBucket(perMinute: 60, burst: 10, now: start)
        for _ in 0..<10 { XCTAssertEqual(bucket.take(now: start), 0) }
        XCTAssertEqual(bucket.take(now: start), 1, accuracy: 1e-9, "the 11th waits a second")
        XCTAssertEqual(bucket.take(now: start), 2, accuracy: 1e-9)
        XCTAssertEqual(bucket.take(now: start.addingTimeInterval(3)), 0, accuracy: 1e-9, "refilled at one a second")
        var later = TokenBucket(perMinute: 60, burst: 10, now: start)
        XCTAssertEqual(later.take(now: start.addingTimeInterval(3600)), 0)
        XCTAssertLessThanOrEqual(later.tokens, 9, "never more than the burst")
        var unlimited = TokenBucket(perMinute: 0, burst: 1, now: start)
        for _ in 0..<100 { XCTAssertEqual(unlimited.take(now: start), 0) }
    }

    func testSettingsRoundTripAndRefuseUnknownKeys() throws {
        var settings = SyncConfiguration()
        settings.concurrency = 7
        settings.requestsPerMinute = 120
        settings.breakerOpenSeconds = 10
        XCTAssertEqual(try SyncConfiguration(json: settings.json), settings)
        XCTAssertThrowsError(try SyncConfiguration(json: try JSON.parse(#"{"concurency": 3}"#))) { XCTAssertEqual(($0 as? FieldError)?.field, "concurency") }
        XCTAssertThrowsError(try SyncConfiguration(json: try JSON.parse(#"{"burst": -1}"#)))
    }

    /// With the SATUSEHAT circuit open, the emergency lane still goes through: separate budgets.
    func testAnOpenClinicCircuitDoesNotHoldTheEmergencyLane() async throws {
        let setup = try SandboxClinic()
        defer { setup.stop() }
        try setup.client.recordEncounter(SampleClinic.visit(number: "B1", patient: SampleClinic.patients[0], finishedBefore: TestClinic.now))
        let engine = try setup.engine { $0.breakerFailures = 2; $0.breakerOpenSeconds = 30 }
        setup.sandbox.setFaults(try FaultPlan(spec: "503=1"))
        _ = try await engine.sync()
        let states = await engine.circuitStates()
        guard case .open = states[Endpoint(target: .satusehat, lane: .clinic)] else {
            return XCTFail("the clinic circuit should be open: \(states)")
        }
        XCTAssertEqual(states[Endpoint(target: .emergency, lane: .emergency)], CircuitState.none)
        let requestsBefore = setup.sandbox.requestLog().count
        // While open, clinic work is not sent at all; a panic report is.
        setup.sandbox.setFaults(FaultPlan())
        let panic = try setup.client.recordPanic(PanicReport(latitude: -6.2, longitude: 106.8, severity: .critical, type: "fall"))
        _ = try await engine.sync()
        let sent = setup.sandbox.requestLog().dropFirst(requestsBefore)
        XCTAssertEqual(sent.map(\.path), ["/api/emergency/notify"])
        XCTAssertEqual(setup.sandbox.emergencyNotifications().first?["event_id"]?.stringValue, panic.eventID)
        // After 30 s one probe goes; it succeeds and the rest follows.
        setup.clock.advance(by: 31)
        let report = try await engine.sync(untilIdle: true, timeout: 600)
        XCTAssertEqual(report.exitStatus, 0, "\(report.counts)")
        let after = await engine.circuitStates()
        XCTAssertEqual(after[Endpoint(target: .satusehat, lane: .clinic)], .closed(failures: 0))
    }

    /// The engine respects the rate limit: with 60 a minute and bursts of 10, 30 requests
    /// take at least 20 seconds of (injected) time.
    func testTheEngineKeepsToTheRateLimit() async throws {
        let setup = try SandboxClinic(register: false)
        defer { setup.stop() }
        for i in 0..<30 { try setup.client.addLocation(code: "L\(i)", name: "Poli \(i)") }
        let engine = try setup.engine { $0.requestsPerMinute = 60; $0.burst = 10; $0.bundles = false }
        let started = setup.clock.now()
        let report = try await engine.sync()
        XCTAssertEqual(report.exitStatus, 0)
        XCTAssertGreaterThanOrEqual(setup.clock.now().timeIntervalSince(started), 19.9)
        XCTAssertLessThanOrEqual(setup.clock.now().timeIntervalSince(started), 21)
    }

    func testTheServerCanOnlyLowerTheBudget() {
        // A pause (Retry-After) holds every request until it ends, even with no limit of our own.
        var paused = TokenBucket(perMinute: 0, burst: 1, now: start)
        paused.pause(until: start.addingTimeInterval(30))
        XCTAssertEqual(paused.take(now: start.addingTimeInterval(10)), 20, accuracy: 1e-9)
        XCTAssertEqual(paused.take(now: start.addingTimeInterval(30)), 0, "over once it ends")
        // The server's budget: what is left goes at once, then everything waits for the reset.
        var budget = TokenBucket(perMinute: 0, burst: 1, now: start)
        budget.serverSays(remaining: 2, resetAt: start.addingTimeInterval(60), now: start)
        XCTAssertEqual(budget.take(now: start), 0)
        XCTAssertEqual(budget.take(now: start), 0)
        XCTAssertEqual(budget.take(now: start.addingTimeInterval(5)), 55, accuracy: 1e-9, "spent: wait for the reset")
        XCTAssertEqual(budget.take(now: start.addingTimeInterval(61)), 0, "a new window, until an answer says otherwise")
        // Our configured rate stays the ceiling: a generous server does not raise it.
        var ceiling = TokenBucket(perMinute: 60, burst: 1, now: start)
        ceiling.serverSays(remaining: 1000, resetAt: start.addingTimeInterval(60), now: start)
        XCTAssertEqual(ceiling.take(now: start), 0)
        XCTAssertEqual(ceiling.take(now: start), 1, accuracy: 1e-9)
        // A reset in the past (a wrong clock) is ignored.
        var stale = TokenBucket(perMinute: 0, burst: 1, now: start)
        stale.serverSays(remaining: 0, resetAt: start.addingTimeInterval(-5), now: start)
        XCTAssertEqual(stale.take(now: start), 0)
    }

    func testRateLimitHeadersAreReadOnlyWhenWholeAndBounded() {
        let answer = HTTPAnswer(status: 200, headers: ["x-ratelimit-remaining": "7", "x-ratelimit-reset": String(Int(start.timeIntervalSince1970) + 30)])
        let budget = answer.rateLimit(now: start)
        XCTAssertEqual(budget?.remaining, 7)
        XCTAssertEqual(budget?.resetAt, start.addingTimeInterval(30))
        let far = HTTPAnswer(status: 200, headers: ["x-ratelimit-remaining": "0", "x-ratelimit-reset": "99999999999"])
        XCTAssertEqual(far.rateLimit(now: start)?.resetAt, start.addingTimeInterval(HTTPAnswer.longestRetryAfter), "no header parks the queue for good")
        for bad in [["x-ratelimit-remaining": "-1", "x-ratelimit-reset": "5"], ["x-ratelimit-remaining": "3"], ["x-ratelimit-remaining": "1e9", "x-ratelimit-reset": "5"]] {
            XCTAssertNil(HTTPAnswer(status: 200, headers: bad).rateLimit(now: start), "\(bad)")
        }
    }

    /// A 429's Retry-After pauses the whole endpoint, not only the item that met it.
    func testRetryAfterPausesTheEndpoint() async {
        let clock = ManualClock(start)
        var settings = SyncConfiguration()
        settings.requestsPerMinute = 0
        let endpoint = EndpointGuard(name: "test", configuration: settings, clock: clock, sleeper: ClockSleeper(clock: clock))
        await endpoint.listen(to: HTTPAnswer(status: 429, headers: ["retry-after": "30"]))
        try? await endpoint.admit()
        XCTAssertEqual(clock.now().timeIntervalSince(start), 30, accuracy: 1e-6, "the next request, whichever it is, waited")
        await endpoint.listen(to: HTTPAnswer(status: 400, headers: ["retry-after": "30"]))
        try? await endpoint.admit()
        XCTAssertEqual(clock.now().timeIntervalSince(start), 30, accuracy: 1e-6, "only 429 and 503 pause")
    }

    /// The sandbox enforces its own budget (ratelimit=5 a minute) and says so on every answer;
    /// with no limit of our own, the engine keeps to what the server says and never meets a 429.
    func testTheEngineListensToTheServersBudget() async throws {
        let setup = try SandboxClinic(register: false)
        defer { setup.stop() }
        setup.sandbox.setFaults(try FaultPlan(spec: "ratelimit=5,ratelimit-window=60"))
        for i in 0..<12 { try setup.client.addLocation(code: "L\(i)", name: "Poli \(i)") }
        let engine = try setup.engine { $0.requestsPerMinute = 0; $0.bundles = false; $0.concurrency = 1 }
        let started = setup.clock.now()
        let report = try await engine.sync(untilIdle: true, timeout: 3600)
        XCTAssertEqual(report.exitStatus, 0, "\(report.counts)")
        XCTAssertEqual(setup.sandbox.counts()["Location"], 12)
        let throttled = setup.sandbox.requestLog().filter { $0.status == 429 }
        XCTAssertEqual(throttled.count, 0, "the budget was kept, not discovered by 429s")
        XCTAssertGreaterThanOrEqual(setup.clock.now().timeIntervalSince(started), 120, "12 requests at 5 a minute span two resets")
    }
}
