import Foundation
import SehatSync

/// The sync settings as command-line options, shared by `sehat init` and `sehat config`.
enum SettingsOptions {
    static let specs: [OptionSpec] = [
        OptionSpec(name: "concurrency", value: "N", help: "Requests in flight at once (default 4)"),
        OptionSpec(name: "bundles", value: "on|off", help: "Send each encounter as one transaction bundle (default on)"),
        OptionSpec(name: "requests-per-minute", value: "N", help: "Rate limit per endpoint, 0 for none (default 60)"),
        OptionSpec(name: "burst", value: "N", help: "Rate-limit burst (default 10)"),
        OptionSpec(name: "breaker-failures", value: "N", help: "Consecutive failures that open an endpoint's circuit (default 5)"),
        OptionSpec(name: "breaker-open", value: "S", help: "Seconds a circuit stays open before one probe (default 30)"),
        OptionSpec(name: "timeout-critical", value: "S", help: "Timeout of emergency notifications (default 5)"),
        OptionSpec(name: "timeout-normal", value: "S", help: "Timeout of single requests (default 30)"),
        OptionSpec(name: "timeout-long", value: "S", help: "Timeout of transaction bundles (default 60)"),
        OptionSpec(name: "initial-backoff", value: "S", help: "First retry delay (default 1)"),
        OptionSpec(name: "max-backoff", value: "S", help: "Retry delay cap (default 60)"),
    ]

    /// Applies the options given; true when any was.
    static func apply(_ invocation: Invocation, to settings: inout SyncConfiguration) throws -> Bool {
        var changed = false
        func int(_ name: String, _ range: ClosedRange<Int>, _ set: (Int) -> Void) throws {
            if let value = try invocation.int(name, range: range) { set(value); changed = true }
        }
        func seconds(_ name: String, _ set: (Double) -> Void) throws {
            if let value = try invocation.double(name) {
                guard value >= 0 else { throw UsageError(message: "--\(name) cannot be negative", command: nil) }
                set(value)
                changed = true
            }
        }
        try int("concurrency", 1...64) { settings.concurrency = $0 }
        try int("requests-per-minute", 0...100_000) { settings.requestsPerMinute = $0 }
        try int("burst", 1...10_000) { settings.burst = $0 }
        try int("breaker-failures", 1...1000) { settings.breakerFailures = $0 }
        try seconds("breaker-open") { settings.breakerOpenSeconds = $0 }
        try seconds("timeout-critical") { settings.criticalTimeout = max(1, $0) }
        try seconds("timeout-normal") { settings.requestTimeout = max(1, $0) }
        try seconds("timeout-long") { settings.longTimeout = max(1, $0) }
        try seconds("initial-backoff") { settings.initialBackoff = $0 }
        try seconds("max-backoff") { settings.maxBackoff = $0 }
        if let bundles = invocation.value("bundles") {
            guard ["on", "off"].contains(bundles) else { throw UsageError(message: "--bundles must be on or off, got \"\(bundles)\"", command: nil) }
            settings.bundles = bundles == "on"
            changed = true
        }
        return changed
    }
}

/// `sehat config`: show or change the sync settings.
enum ConfigCommand {
    static let config = Command(
        words: ["config"],
        summary: "Show the sync settings, or change them (the engine and `sehat sync` start from them).",
        options: SettingsOptions.specs + [.json("the settings")]
    ) { invocation in
        let client = try openClient(invocation)
        var settings = try client.syncSettings()
        if try SettingsOptions.apply(invocation, to: &settings) { try client.setSyncSettings(settings) }
        if invocation.has("json") {
            Output.json(settings.json)
        } else {
            Output.table(["SETTING", "VALUE"], (settings.json.members ?? []).map { [$0.key, $0.value.text] })
        }
        return 0
    }
}
