import Foundation

/// How the engine sends: all tunables in one value, with the spec's defaults.
///
///     var settings = SyncConfiguration()
///     settings.concurrency = 8
public struct SyncConfiguration: Sendable, Equatable {
    /// Independent units (bundles or single requests) in flight at once.
    public var concurrency = 4
    /// Send each encounter's (or import's) ready group as one transaction Bundle.
    public var bundles = true
    /// The most entries one bundle carries.
    public var maxBundleEntries = 500
    /// Per-request timeout for normal operations (seeds/000: 30 s).
    public var requestTimeout: TimeInterval = 30
    /// First retry delay and its cap (seeds/004: 1 s doubling to 60 s).
    public var initialBackoff: TimeInterval = 1
    public var maxBackoff: TimeInterval = 60

    public init() {}
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
