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
    /// Pack independent groups that are ready together (visits, imports, single resources)
    /// into one transaction bundle, up to `maxBundleEntries` and `maxBundleBytes`: requests,
    /// not the engine, are what the budget counts (docs/design-notes.md, "Packing").
    public var packing = true
    /// The most bytes of resources one packed bundle carries (a single group may exceed it
    /// alone; it is never split for size).
    public var maxBundleBytes = 4 << 20
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
            "packing": .bool(packing), "max_bundle_bytes": .int(maxBundleBytes),
            "critical_timeout": .double(criticalTimeout), "request_timeout": .double(requestTimeout), "long_timeout": .double(longTimeout),
            "initial_backoff": .double(initialBackoff), "max_backoff": .double(maxBackoff), "breaker_failures": .int(breakerFailures),
            "breaker_open_seconds": .double(breakerOpenSeconds), "requests_per_minute": .int(requestsPerMinute), "burst": .int(burst),
        ])
    }

    /// One setting: its stored key, the range it may take, and where it lives.
    public struct Setting: Sendable {
        /// The key in the stored settings (`request_timeout`).
        public let key: String
        /// The values allowed; outside them a setting is refused, naming this range.
        public let range: ClosedRange<Double>
        /// Whole numbers only.
        public let whole: Bool
        fileprivate let path: WritableKeyPath<SyncConfiguration, Double> & Sendable

        /// The setting's value in `settings`.
        public func value(in settings: SyncConfiguration) -> Double { settings[keyPath: path] }
    }

    /// Every numeric setting with its range: wide enough for any real deployment, narrow
    /// enough that no arithmetic on it overflows (a timeout of 1e300 s traps URLSession; a
    /// backoff of 1e300 s cannot become a date).
    public static let settings: [Setting] = [
        Setting(key: "concurrency", range: 1...64, whole: true, path: \.concurrencyValue),
        Setting(key: "emergency_concurrency", range: 1...16, whole: true, path: \.emergencyConcurrencyValue),
        Setting(key: "max_bundle_entries", range: 1...10_000, whole: true, path: \.maxBundleEntriesValue),
        Setting(key: "max_bundle_bytes", range: 1024...67_108_864, whole: true, path: \.maxBundleBytesValue),
        Setting(key: "critical_timeout", range: 1...60, whole: false, path: \.criticalTimeout),
        Setting(key: "request_timeout", range: 1...600, whole: false, path: \.requestTimeout),
        Setting(key: "long_timeout", range: 1...3600, whole: false, path: \.longTimeout),
        Setting(key: "initial_backoff", range: 0...3600, whole: false, path: \.initialBackoff),
        Setting(key: "max_backoff", range: 0...86_400, whole: false, path: \.maxBackoff),
        Setting(key: "breaker_failures", range: 1...1000, whole: true, path: \.breakerFailuresValue),
        Setting(key: "breaker_open_seconds", range: 0...3600, whole: false, path: \.breakerOpenSeconds),
        Setting(key: "requests_per_minute", range: 0...100_000, whole: true, path: \.requestsPerMinuteValue),
        Setting(key: "burst", range: 1...10_000, whole: true, path: \.burstValue),
    ]

    /// Why a setting was refused: its key, the value given and the range allowed.
    public struct RangeError: Error, Sendable, Equatable, CustomStringConvertible {
        /// The stored key (`request_timeout`).
        public let key: String
        /// The value given, as written.
        public let value: String
        /// The range allowed.
        public let range: ClosedRange<Double>
        /// Whole numbers only.
        public let whole: Bool
        /// For a person.
        public var description: String {
            "\(key): must be \(whole ? "a whole number" : "a number") from \(Self.text(range.lowerBound)) to \(Self.text(range.upperBound)), got \(value)"
        }
        static func text(_ value: Double) -> String { InputLimits.format(value) }
    }

    /// Refuses settings outside their ranges, naming the first one.
    public func validate() throws {
        for setting in SyncConfiguration.settings {
            let value = setting.value(in: self)
            guard value.isFinite, setting.range.contains(value), !setting.whole || value.rounded() == value else {
                throw RangeError(key: setting.key, value: InputLimits.format(value), range: setting.range, whole: setting.whole)
            }
        }
    }

    /// Reads stored settings; keys it does not know are refused, missing ones keep their
    /// default, and a value outside its range is refused with the range.
    public init(json: JSON) throws {
        self.init()
        for member in json.members ?? [] {
            if member.key == "bundles" || member.key == "packing" {
                guard let flag = member.value.boolValue else { throw FieldError(member.key, "must be true or false") }
                if member.key == "bundles" { bundles = flag } else { packing = flag }
                continue
            }
            guard let setting = SyncConfiguration.settings.first(where: { $0.key == member.key }) else {
                throw FieldError(member.key, "is not a sync setting")
            }
            guard let number = member.value.doubleValue, number.isFinite, setting.range.contains(number),
                !setting.whole || number.rounded() == number
            else {
                throw RangeError(key: setting.key, value: FieldError.quote(member.value.numberText ?? member.value.kind), range: setting.range,
                                 whole: setting.whole)
            }
            self[keyPath: setting.path] = number
        }
    }
}

extension SyncConfiguration {
    // The whole-number settings seen as Doubles, so one table can check every setting.
    fileprivate var concurrencyValue: Double { get { Double(concurrency) } set { concurrency = Int(newValue) } }
    fileprivate var emergencyConcurrencyValue: Double { get { Double(emergencyConcurrency) } set { emergencyConcurrency = Int(newValue) } }
    fileprivate var maxBundleEntriesValue: Double { get { Double(maxBundleEntries) } set { maxBundleEntries = Int(newValue) } }
    fileprivate var maxBundleBytesValue: Double { get { Double(maxBundleBytes) } set { maxBundleBytes = Int(newValue) } }
    fileprivate var breakerFailuresValue: Double { get { Double(breakerFailures) } set { breakerFailures = Int(newValue) } }
    fileprivate var requestsPerMinuteValue: Double { get { Double(requestsPerMinute) } set { requestsPerMinute = Int(newValue) } }
    fileprivate var burstValue: Double { get { Double(burst) } set { burst = Int(newValue) } }
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
