import Foundation

/// A value that is only touched while a lock is held.
///
///     let counter = Locked(0)
///     counter.withLock { $0 += 1 }
///
/// Why not `Synchronization.Mutex`: on Linux it locks with raw futex calls that
/// ThreadSanitizer does not see, so every guarded access reads as a data race and the
/// suite cannot run clean under `--sanitize=thread`. `NSLock` is a pthread mutex, which
/// TSan understands.
public final class Locked<Value>: @unchecked Sendable {
    // Safe to share between threads: `value` is private and is read or written only inside
    // `withLock`, while `lock` is held. Callers must not let a reference to a non-Sendable
    // `Value` escape the closure (Database returns only Sendable results from it).
    private let lock = NSLock()
    private var value: Value

    /// Guards `value`.
    public init(_ value: Value) { self.value = value }

    /// Runs `body` with exclusive access to the value.
    public func withLock<Result>(_ body: (inout Value) throws -> Result) rethrows -> Result {
        lock.lock()
        defer { lock.unlock() }
        return try body(&value)
    }
}
