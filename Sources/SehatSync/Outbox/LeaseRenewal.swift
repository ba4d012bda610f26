import Foundation
import SehatSupport

/// When an engine last renewed its claims' lease, so a drain of thousands of units renews
/// it every `interval` instead of at every fetch and consolidation — each renewal rewrites
/// every item the engine has in flight. The lease is ten times the interval and more, so a
/// running engine never loses its claims; a gone one still does at its end.
final class LeaseRenewal: Sendable {
    let interval: TimeInterval
    private let last = Locked<Date?>(nil)

    init(interval: TimeInterval) { self.interval = interval }

    /// Whether to renew now (and if so, noted as renewed). A clock that went back renews.
    func due(_ now: Date) -> Bool {
        last.withLock { last in
            if let previous = last, now >= previous, now.timeIntervalSince(previous) < interval { return false }
            last = now
            return true
        }
    }
}
