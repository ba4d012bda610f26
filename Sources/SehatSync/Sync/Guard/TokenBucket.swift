import Foundation

/// A token bucket: `burst` requests at once, refilled at `perMinute`. A pure state machine
/// over times it is given; `perMinute` 0 means no limit.
///
///     var bucket = TokenBucket(perMinute: 60, burst: 10, now: start)
///     let wait = bucket.take(now: now)   // seconds to wait before sending (0: go)
struct TokenBucket: Sendable, Equatable {
    let perMinute: Double
    let burst: Double
    private(set) var tokens: Double
    private var refilledAt: Date

    init(perMinute: Int, burst: Int, now: Date) {
        self.perMinute = Double(max(0, perMinute))
        self.burst = Double(max(1, burst))
        tokens = Double(max(1, burst))
        refilledAt = now
    }

    /// Takes a token, returning how long to wait for it (the token is spoken for either way).
    mutating func take(now: Date) -> TimeInterval {
        guard perMinute > 0 else { return 0 }
        let rate = perMinute / 60
        tokens = min(burst, tokens + max(0, now.timeIntervalSince(refilledAt)) * rate)
        refilledAt = now
        tokens -= 1
        return tokens >= 0 ? 0 : -tokens / rate
    }
}
