import Foundation
import SehatSync

/// The sync settings as command-line options, shared by `sehat init` and `sehat config`.
enum SettingsOptions {
    static let specs: [OptionSpec] = [
        setting("concurrency", "N", "Requests in flight at once"),
        OptionSpec(name: "bundles", value: "on|off", help: "Send each encounter as one transaction bundle (default on)"),
        OptionSpec(name: "packing", value: "on|off", help: "Pack visits and other groups ready together into one bundle (default on)"),
        setting("bundle-max-entries", "N", "Most entries in one bundle"),
        setting("bundle-max-bytes", "B", "Most bytes of resources in one packed bundle"),
        setting("requests-per-minute", "N", "Rate limit per endpoint, 0 for none"),
        setting("burst", "N", "Rate-limit burst"),
        setting("breaker-failures", "N", "Consecutive failures that open an endpoint's circuit"),
        setting("breaker-open", "S", "Seconds a circuit stays open before one probe"),
        setting("timeout-critical", "S", "Timeout of emergency notifications"),
        setting("timeout-normal", "S", "Timeout of single requests"),
        setting("timeout-long", "S", "Timeout of transaction bundles"),
        setting("initial-backoff", "S", "First retry delay"),
        setting("max-backoff", "S", "Retry delay cap"),
    ]

    /// An option for a numeric setting, its help ending with the range and default the
    /// library defines (`SyncConfiguration.settings`), so `--help` cannot drift from them.
    private static func setting(_ option: String, _ value: String, _ help: String) -> OptionSpec {
        let defaults = SyncConfiguration()
        guard let key = keys[option], let setting = SyncConfiguration.settings.first(where: { $0.key == key }) else {
            return OptionSpec(name: option, value: value, help: help)
        }
        let range = "\(decimalText(setting.range.lowerBound))–\(decimalText(setting.range.upperBound))"
        return OptionSpec(name: option, value: value, help: "\(help) (\(range); default \(decimalText(setting.value(in: defaults))))")
    }

    /// Each numeric option and the stored setting it sets.
    static let keys: [String: String] = [
        "concurrency": "concurrency", "requests-per-minute": "requests_per_minute", "burst": "burst",
        "bundle-max-entries": "max_bundle_entries", "bundle-max-bytes": "max_bundle_bytes",
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
        for (option, key) in [("bundles", "bundles"), ("packing", "packing")] {
            guard let value = invocation.value(option) else { continue }
            guard ["on", "off"].contains(value) else { throw UsageError(message: "--\(option) must be on or off, got \"\(value)\"", command: nil) }
            stored[key] = .bool(value == "on")
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
        options: SettingsOptions.specs + [
            OptionSpec(name: "str-check", value: "warn|refuse|off",
                       help: "A visit whose practitioner's STR the registry says is not active or expired: warn (default), refuse, off"),
            .json("the settings"),
        ]
    ) { invocation in
        let client = try openClient(invocation)
        var settings = try client.syncSettings()
        if try SettingsOptions.apply(invocation, to: &settings) { try client.setSyncSettings(settings) }
        if let check = try invocation.choice("str-check", STRCheck.self) { try client.setSTRCheck(check) }
        var shown = settings.json
        shown["str_check"] = .string(try client.strCheck().rawValue)
        if invocation.has("json") {
            Output.json(shown)
        } else {
            Output.table(["SETTING", "VALUE"], (shown.members ?? []).map { [$0.key, $0.value.stringValue ?? $0.value.text] })
        }
        return 0
    }
}
