import Foundation
import SehatFHIR
import SehatJSON
import SehatStore
import SehatSync

/// Timing of a run of operations.
public struct LatencyStats: Sendable {
    /// How many operations were timed.
    public let count: Int
    /// Their total time.
    public let totalSeconds: Double
    /// The median, in milliseconds.
    public let p50Milliseconds: Double
    /// The 99th percentile, in milliseconds.
    public let p99Milliseconds: Double

    /// Summarizes per-operation durations in seconds.
    public init(samples: [Double]) {
        let sorted = samples.sorted()
        count = samples.count
        totalSeconds = samples.reduce(0, +)
        func percentile(_ p: Double) -> Double {
            guard !sorted.isEmpty else { return 0 }
            let index = min(sorted.count - 1, Int((p * Double(sorted.count)).rounded(.up)) - 1)
            return sorted[max(0, index)] * 1000
        }
        p50Milliseconds = percentile(0.50)
        p99Milliseconds = percentile(0.99)
    }

    /// Operations per second over the whole run.
    public var perSecond: Double { totalSeconds > 0 ? Double(count) / totalSeconds : 0 }
}

/// Seconds spent in `body`, from a monotonic clock.
func measure(_ body: () throws -> Void) rethrows -> Double {
    let start = DispatchTime.now().uptimeNanoseconds
    try body()
    return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
}
