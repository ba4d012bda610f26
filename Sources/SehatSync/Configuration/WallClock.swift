import SehatSupport
import Foundation
import SehatStore

/// Where the SDK gets the time: tests inject a fixed or stepping clock.
///
///     let client = try SehatClient(path: "clinic.db", clock: SystemClock())
public protocol WallClock: Sendable {
    func now() -> Date
}

/// The machine's clock.
public struct SystemClock: WallClock {
    /// The system clock.
    public init() {}
    /// Now.
    public func now() -> Date { Date() }
}

/// A clock that says what it is told; for tests and replays.
///
///     let clock = ManualClock(FHIRTime("2025-12-26T03:00:00Z"))
///     clock.advance(by: 60)
public final class ManualClock: WallClock {
    private let current: Locked<Date>

    /// A clock standing at `start`.
    public init(_ start: Date) { current = Locked(start) }

    /// The time it stands at.
    public func now() -> Date { current.withLock { $0 } }
    /// Moves it to `date`.
    public func set(_ date: Date) { current.withLock { $0 = date } }
    /// Moves it forward.
    public func advance(by seconds: TimeInterval) { current.withLock { $0 = $0.addingTimeInterval(seconds) } }
}
