import Foundation

/// The faults the sandbox injects into FHIR (and emergency) requests, set by `--faults`
/// or `POST /admin/faults` with the same text:
///
///     500=0.05,502=0.05,503=0.05,429=0.05,drop=0.02,commit-drop=0.02,latency=50,retry-after=1
///
/// Rates are probabilities per request: `NNN` answers that status without processing
/// (503 as text/plain, 429 with `Retry-After`); `drop` closes the connection without
/// answering; `commit-drop` processes the request, commits it, then closes without
/// answering; `latency` adds milliseconds before every answer; `rule-array=200|400` answers
/// refusals as SATUSEHAT's bare array of rule violations; `ratelimit=N` admits N FHIR requests
/// per window of `ratelimit-window` seconds (default 60), says so on every answer
/// (`X-RateLimit-Limit`, `-Remaining`, `-Reset` in epoch seconds; seeds/000 §3.4), and answers
/// 429 with `Retry-After` until the window resets once they are spent.
public struct FaultPlan: Sendable, Equatable, CustomStringConvertible {
    /// Share of requests answered with each status (429, 500, 502, 503, 504).
    public var statusRates: [Int: Double] = [:]
    /// Share of requests whose connection is closed before the server acts.
    public var dropRate = 0.0
    /// Share of requests the server acts on, then closes without answering.
    public var commitDropRate = 0.0
    /// Added before every answer.
    public var latencyMilliseconds = 0
    /// `Retry-After` on 429 and 503.
    public var retryAfterSeconds = 1
    /// When not 0, refusals (400/422) come as SATUSEHAT's bare rule-violation array with this
    /// status (200 or 400) instead of an OperationOutcome: `rule-array=200`.
    public var ruleArrayStatus = 0
    /// When not 0, a captive portal answers every request instead of the sandbox: `captive=200`
    /// a login page (`200 text/html`), `captive=302` a redirect to it.
    public var captiveStatus = 0
    /// When not 0, FHIR requests admitted per rate-limit window: `ratelimit=60`.
    public var rateLimit = 0
    /// The rate-limit window in seconds: `ratelimit-window=60`.
    public var rateLimitWindow = 60

    /// No faults.
    public init() {}

    /// Parses the text form; throws naming the bad part.
    public init(spec: String) throws {
        for part in spec.split(separator: ",").map({ $0.trimmingCharacters(in: .whitespaces) }) where !part.isEmpty {
            let pair = part.split(separator: "=", maxSplits: 1).map(String.init)
            guard pair.count == 2, let number = Double(pair[1]), number.isFinite, number >= 0 else {
                throw FaultSpecError(part: part, reason: "expected NAME=NUMBER (a finite number ≥ 0)")
            }
            switch pair[0] {
            case "drop": dropRate = try FaultPlan.rate(number, part)
            case "commit-drop": commitDropRate = try FaultPlan.rate(number, part)
            case "latency": latencyMilliseconds = try FaultPlan.whole(number, FaultPlan.latencyRange, "latency (milliseconds)", part)
            case "retry-after": retryAfterSeconds = try FaultPlan.whole(number, FaultPlan.retryAfterRange, "retry-after (seconds)", part)
            case "captive":
                guard number == 200 || number == 302 || number == 0 else { throw FaultSpecError(part: part, reason: "captive is 200, 302 or 0") }
                captiveStatus = Int(number)
            case "ratelimit": rateLimit = try FaultPlan.whole(number, FaultPlan.rateLimitRange, "ratelimit (requests per window)", part)
            case "ratelimit-window":
                rateLimitWindow = try FaultPlan.whole(number, FaultPlan.rateLimitWindowRange, "ratelimit-window (seconds)", part)
            case "rule-array":
                guard number == 200 || number == 400 || number == 0 else { throw FaultSpecError(part: part, reason: "rule-array is 200, 400 or 0") }
                ruleArrayStatus = Int(number)
            case let name:
                guard let status = Int(name), [429, 500, 502, 503, 504].contains(status) else {
                    throw FaultSpecError(part: part, reason: "unknown fault (use 429, 500, 502, 503, 504, drop, commit-drop, latency, retry-after, rule-array, captive, ratelimit, ratelimit-window)")
                }
                statusRates[status] = try FaultPlan.rate(number, part)
            }
        }
        guard statusRates.values.reduce(0, +) + dropRate + commitDropRate <= 1 else {
            throw FaultSpecError(part: spec, reason: "the rates add up to more than 1")
        }
    }

    /// Added latency allowed: up to a minute per answer.
    public static let latencyRange = 0...60_000
    /// `Retry-After` allowed: up to a day.
    public static let retryAfterRange = 0...86_400
    /// Requests per rate-limit window (0: no limit).
    public static let rateLimitRange = 0...1_000_000
    /// A rate-limit window: a second to a day.
    public static let rateLimitWindowRange = 1...86_400

    private static func whole(_ value: Double, _ range: ClosedRange<Int>, _ what: String, _ part: String) throws -> Int {
        guard value.rounded() == value, value <= Double(range.upperBound), value >= Double(range.lowerBound) else {
            throw FaultSpecError(part: part, reason: "\(what) is a whole number from \(range.lowerBound) to \(range.upperBound)")
        }
        return Int(value)
    }

    private static func rate(_ value: Double, _ part: String) throws -> Double {
        guard value <= 1 else { throw FaultSpecError(part: part, reason: "a rate is between 0 and 1") }
        return value
    }

    /// Whether no fault is set.
    public var isQuiet: Bool {
        statusRates.values.allSatisfy { $0 == 0 } && dropRate == 0 && commitDropRate == 0 && latencyMilliseconds == 0 && ruleArrayStatus == 0 && captiveStatus == 0
            && rateLimit == 0
    }

    /// The plan in the `--faults` syntax.
    public var description: String {
        var parts = statusRates.keys.sorted().map { "\($0)=\(statusRates[$0]!)" }
        if dropRate > 0 { parts.append("drop=\(dropRate)") }
        if commitDropRate > 0 { parts.append("commit-drop=\(commitDropRate)") }
        if latencyMilliseconds > 0 { parts.append("latency=\(latencyMilliseconds)") }
        if retryAfterSeconds != 1 { parts.append("retry-after=\(retryAfterSeconds)") }
        if ruleArrayStatus != 0 { parts.append("rule-array=\(ruleArrayStatus)") }
        if captiveStatus != 0 { parts.append("captive=\(captiveStatus)") }
        if rateLimit != 0 { parts.append("ratelimit=\(rateLimit)") }
        if rateLimitWindow != 60 { parts.append("ratelimit-window=\(rateLimitWindow)") }
        return parts.isEmpty ? "none" : parts.joined(separator: ",")
    }

    /// What to do with one request, given a uniform random draw in [0, 1).
    enum Decision: Equatable {
        case pass
        case status(Int)
        case drop
        case commitThenDrop
    }

    func decide(_ draw: Double) -> Decision {
        var edge = 0.0
        for status in statusRates.keys.sorted() {
            edge += statusRates[status]!
            if draw < edge { return .status(status) }
        }
        edge += dropRate
        if draw < edge { return .drop }
        edge += commitDropRate
        if draw < edge { return .commitThenDrop }
        return .pass
    }
}

/// A `--faults` text that could not be read.
public struct FaultSpecError: Error, CustomStringConvertible {
    /// The part that was wrong.
    public let part: String
    /// Why.
    public let reason: String
    /// The plan in the `--faults` syntax.
    public var description: String { "faults: \"\(part)\": \(reason)" }
}

/// A small seeded generator (SplitMix64) so a fault run can be replayed.
struct SeededGenerator: RandomNumberGenerator {
    private var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
