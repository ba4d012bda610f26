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
    public init() {}
    public func now() -> Date { Date() }
}

/// A clock that says what it is told; for tests and replays.
///
///     let clock = ManualClock(FHIRTime("2025-12-26T03:00:00Z"))
///     clock.advance(by: 60)
public final class ManualClock: WallClock {
    private let current: Locked<Date>

    public init(_ start: Date) { current = Locked(start) }

    public func now() -> Date { current.withLock { $0 } }
    public func set(_ date: Date) { current.withLock { $0 = date } }
    public func advance(by seconds: TimeInterval) { current.withLock { $0 = $0.addingTimeInterval(seconds) } }
}
