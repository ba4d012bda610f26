import Foundation
import SehatFHIR
import SehatJSON

/// How the engine sends: all tunables in one value, with the spec's defaults.
///
///     var settings = SyncConfiguration()
///     settings.concurrency = 8
public struct SyncConfiguration: Sendable, Equatable {
    /// Independent units (bundles or single requests) in flight at once, in the clinic lane.
    public var concurrency = 4
    /// The emergency lane's own slots, so it never waits for a clinic request.
    public var emergencyConcurrency = 2
    /// Send each encounter's (or import's) ready group as one transaction Bundle.
    public var bundles = true
    /// The most entries one bundle carries.
    public var maxBundleEntries = 500
    /// Per-request timeouts (seeds/000): critical (emergency notifications) 5 s, normal
    /// (single requests) 30 s, long (transaction bundles) 60 s.
    public var criticalTimeout: TimeInterval = 5
    /// Seconds before a single request is given up.
    public var requestTimeout: TimeInterval = 30
    /// Seconds before a transaction bundle is given up.
    public var longTimeout: TimeInterval = 60
    /// First retry delay and its cap (seeds/004: 1 s doubling to 60 s).
    public var initialBackoff: TimeInterval = 1
    /// The longest retry delay.
    public var maxBackoff: TimeInterval = 60
    /// Circuit breaker per endpoint (seeds/004: 5 failures → open 30 s → one half-open probe).
    public var breakerFailures = 5
    /// How long an open circuit stays open.
    public var breakerOpenSeconds: TimeInterval = 30
    /// Token-bucket rate limit per endpoint (seeds/004: 60 a minute, bursts of 10); 0: no limit.
    public var requestsPerMinute = 60
    /// Requests allowed at once before the rate applies.
    public var burst = 10

    /// The spec's defaults.
    public init() {}

    /// The settings as stored with the device's configuration.
    public var json: JSON {
        .obj([
            "concurrency": .int(concurrency), "emergency_concurrency": .int(emergencyConcurrency), "bundles": .bool(bundles), "max_bundle_entries": .int(maxBundleEntries),
            "critical_timeout": .double(criticalTimeout), "request_timeout": .double(requestTimeout), "long_timeout": .double(longTimeout),
            "initial_backoff": .double(initialBackoff), "max_backoff": .double(maxBackoff), "breaker_failures": .int(breakerFailures),
            "breaker_open_seconds": .double(breakerOpenSeconds), "requests_per_minute": .int(requestsPerMinute), "burst": .int(burst),
        ])
    }

    /// Reads stored settings; keys it does not know are refused, missing ones keep their default.
    public init(json: JSON) throws {
        self.init()
        for member in json.members ?? [] {
            let value = member.value
            func number() throws -> Double {
                guard let number = value.doubleValue, number >= 0 else { throw FieldError(member.key, "must be a number ≥ 0") }
                return number
            }
            switch member.key {
            case "concurrency": concurrency = max(1, Int(try number()))
            case "emergency_concurrency": emergencyConcurrency = max(1, Int(try number()))
            case "bundles": bundles = value.boolValue ?? bundles
            case "max_bundle_entries": maxBundleEntries = max(1, Int(try number()))
            case "critical_timeout": criticalTimeout = max(1, try number())
            case "request_timeout": requestTimeout = max(1, try number())
            case "long_timeout": longTimeout = max(1, try number())
            case "initial_backoff": initialBackoff = try number()
            case "max_backoff": maxBackoff = try number()
            case "breaker_failures": breakerFailures = max(1, Int(try number()))
            case "breaker_open_seconds": breakerOpenSeconds = try number()
            case "requests_per_minute": requestsPerMinute = Int(try number())
            case "burst": burst = max(1, Int(try number()))
            default: throw FieldError(member.key, "is not a sync setting")
            }
        }
    }
}

/// Exponential backoff with full jitter: a uniform draw in [0, min(cap, initial × 2^attempt)].
/// `Retry-After` from the server wins when it is longer.
struct Backoff {
    let initial: TimeInterval
    let cap: TimeInterval

    func delay(afterAttempt attempt: Int, retryAfter: TimeInterval? = nil, draw: Double = Double.random(in: 0...1)) -> TimeInterval {
        let ceiling = min(cap, initial * pow(2, Double(max(0, attempt - 1))))
        return max(retryAfter ?? 0, ceiling * draw)
    }
}
