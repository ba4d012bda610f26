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

    /// Each numeric option and the stored setting it sets.
    static let keys: [String: String] = [
        "concurrency": "concurrency", "requests-per-minute": "requests_per_minute", "burst": "burst",
        "breaker-failures": "breaker_failures", "breaker-open": "breaker_open_seconds", "timeout-critical": "critical_timeout",
        "timeout-normal": "request_timeout", "timeout-long": "long_timeout", "initial-backoff": "initial_backoff", "max-backoff": "max_backoff",
    ]

    /// Applies the options given; true when any was. A value outside its setting's range
    /// (`SyncConfiguration.settings`) is refused naming the option and the range; nothing
    /// is changed then.
    static func apply(_ invocation: Invocation, to settings: inout SyncConfiguration) throws -> Bool {
        var stored = settings.json
        var changed = false
        for (option, key) in keys.sorted(by: { $0.key < $1.key }) {
            guard let value = try invocation.decimal(option) else { continue }
            stored[key] = .number(value)
            changed = true
        }
        if let bundles = invocation.value("bundles") {
            guard ["on", "off"].contains(bundles) else { throw UsageError(message: "--bundles must be on or off, got \"\(bundles)\"", command: nil) }
            stored["bundles"] = .bool(bundles == "on")
            changed = true
        }
        do {
            settings = try SyncConfiguration(json: stored)
        } catch let error as SyncConfiguration.RangeError {
            let option = keys.first { $0.value == error.key }?.key ?? error.key
            throw UsageError(message: "--\(option) " + error.description.dropFirst(error.key.count + 2), command: nil)
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
