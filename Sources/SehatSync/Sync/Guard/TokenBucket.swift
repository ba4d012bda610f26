import Foundation

/// A token bucket: `burst` requests at once, refilled at `perMinute`, further held to what the
/// server says: a pause (`Retry-After`) and its own budget (`X-RateLimit-Remaining` until
/// `X-RateLimit-Reset`). The configured rate stays the ceiling; the server can only lower it.
/// A pure state machine over times it is given; `perMinute` 0 means no limit of our own.
///
///     var bucket = TokenBucket(perMinute: 60, burst: 10, now: start)
///     let wait = bucket.take(now: now)   // seconds to wait before sending (0: go)
struct TokenBucket: Sendable, Equatable {
    let perMinute: Double
    let burst: Double
    private(set) var tokens: Double
    private var refilledAt: Date
    /// Nothing goes before this (the server's `Retry-After`).
    private(set) var pausedUntil: Date?
    /// The server's own budget: requests left until its window resets.
    private(set) var serverBudget: ServerBudget?

    /// What the server says is left of its budget, and when its window resets.
    struct ServerBudget: Sendable, Equatable {
        var remaining: Int
        let resetAt: Date
    }

    init(perMinute: Int, burst: Int, now: Date) {
        self.perMinute = Double(max(0, perMinute))
        self.burst = Double(max(1, burst))
        tokens = Double(max(1, burst))
        refilledAt = now
    }

    /// Takes a token, returning how long to wait for it (the token is spoken for either way):
    /// the longest of our own rate's wait, the server's pause, and — when the server's budget
    /// is spent — the wait for its window to reset.
    mutating func take(now: Date) -> TimeInterval {
        var wait: TimeInterval = 0
        if perMinute > 0 {
            let rate = perMinute / 60
            tokens = min(burst, tokens + max(0, now.timeIntervalSince(refilledAt)) * rate)
            refilledAt = now
            tokens -= 1
            wait = tokens >= 0 ? 0 : -tokens / rate
        }
        if let pausedUntil {
            if pausedUntil > now { wait = max(wait, pausedUntil.timeIntervalSince(now)) } else { self.pausedUntil = nil }
        }
        if var budget = serverBudget {
            if budget.resetAt <= now.addingTimeInterval(wait) {
                serverBudget = nil  // the window has reset by the time this one goes
            } else if budget.remaining > 0 {
                budget.remaining -= 1
                serverBudget = budget
            } else {
                // Spent: this one waits for the reset, and the next window is unknown until an answer says.
                wait = max(wait, budget.resetAt.timeIntervalSince(now))
                serverBudget = nil
            }
        }
        return wait
    }

    /// The server asked for a pause (`Retry-After` on 429 or 503): nothing goes before `until`.
    mutating func pause(until: Date) {
        pausedUntil = max(pausedUntil ?? until, until)
    }

    /// The server's budget as its latest answer states it. Requests already on their way when
    /// it answered have spent theirs; the count is the server's, so it replaces ours.
    mutating func serverSays(remaining: Int, resetAt: Date, now: Date) {
        guard resetAt > now else { serverBudget = nil; return }
        serverBudget = ServerBudget(remaining: max(0, remaining), resetAt: resetAt)
    }
}
