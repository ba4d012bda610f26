import Foundation

/// One budget: a receiver, in one lane. Each has its own circuit breaker and rate limit, so
/// the emergency lane never spends the clinic lane's budget, nor waits behind its open circuit.
public struct Endpoint: Hashable, Sendable, CustomStringConvertible {
    /// Who receives.
    public let target: Target
    /// The lane whose requests this budget admits.
    public let lane: Lane

    /// An endpoint's budget key.
    public init(target: Target, lane: Lane) { (self.target, self.lane) = (target, lane) }

    /// `target/lane`, e.g. `satusehat/clinic`.
    public var description: String { "\(target.rawValue)/\(lane.rawValue)" }
}

/// A circuit breaker's state, as an app sees it.
public enum CircuitState: Sendable, Equatable {
    /// Requests go; `failures` consecutive failures so far.
    case closed(failures: Int)
    /// Nothing is sent until then.
    case open(until: Date)
    /// One probe is out; it decides.
    case halfOpen
    /// This endpoint has no breaker (the emergency service: its fixed retry schedule bounds the load).
    case none
}

/// Why a request was not sent: the endpoint's circuit is open.
struct CircuitOpen: Error, Sendable, CustomStringConvertible {
    let endpoint: String
    let until: Date
    var description: String { "the circuit to \(endpoint) is open until \(until): not sending" }
}

/// One endpoint's budgets: its circuit breaker and its rate limit. SATUSEHAT and the
/// emergency service each have their own, so an emergency never waits on clinic tokens or
/// behind a clinic outage.
actor EndpointGuard {
    let name: String
    private var breaker: CircuitBreaker
    private var bucket: TokenBucket
    private let clock: any WallClock
    private let sleeper: any Sleeper

    /// Whether the breaker applies. The emergency service's webhooks follow their own fixed
    /// schedule (1, 2, 4, 8, 16, 32 s; seeds/000), which already bounds the load; a breaker
    /// there would only delay panic reports.
    private let breakerEnabled: Bool

    init(name: String, configuration: SyncConfiguration, clock: any WallClock, sleeper: any Sleeper, breakerEnabled: Bool = true) {
        self.name = name
        self.breakerEnabled = breakerEnabled
        breaker = CircuitBreaker(threshold: configuration.breakerFailures, openFor: configuration.breakerOpenSeconds)
        bucket = TokenBucket(perMinute: configuration.requestsPerMinute, burst: configuration.burst, now: clock.now())
        self.clock = clock
        self.sleeper = sleeper
    }

    /// Waits for a rate-limit token, then asks the breaker; throws `CircuitOpen` when it refuses.
    func admit() async throws {
        if breakerEnabled, case .refuse(let until) = breaker.admit(now: clock.now()) { throw CircuitOpen(endpoint: name, until: until) }
        let wait = bucket.take(now: clock.now())
        if wait > 0 { await sleeper.sleep(seconds: wait) }
    }

    /// What the answer said about the endpoint's health: an answer that is not 429 or 5xx is
    /// a success; no answer, 429 and 5xx are failures.
    func record(success: Bool) {
        breaker.record(success: success, now: clock.now())
    }

    /// What the answer said about the endpoint's pace: `Retry-After` on 429 or 503 pauses the
    /// whole endpoint (not only the item that met it); `X-RateLimit-Remaining` and
    /// `X-RateLimit-Reset` hold it to the server's budget until the reset.
    func listen(to answer: HTTPAnswer) {
        let now = clock.now()
        if answer.status == 429 || answer.status == 503, let seconds = answer.retryAfter {
            bucket.pause(until: now.addingTimeInterval(seconds))
        }
        if let budget = answer.rateLimit(now: now) {
            bucket.serverSays(remaining: budget.remaining, resetAt: budget.resetAt, now: now)
        }
    }

    var state: CircuitState { breakerEnabled ? breaker.circuitState : .none }
}
