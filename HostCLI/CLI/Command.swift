import Foundation

/// One option a command takes: `--name VALUE`, or a bare flag when `value` is nil.
struct OptionSpec: Sendable {
    let name: String
    let value: String?
    let help: String
    var required = false
    /// May be given more than once; every value is kept, in order (`Invocation.values(_:)`).
    var repeatable = false

    /// `--json`: print `what` as JSON instead of for people.
    static func json(_ what: String = "the result") -> OptionSpec { OptionSpec(name: "json", value: nil, help: "Print \(what) as JSON") }

    /// `--by NAME`: who makes a change, kept with its history.
    static let author = OptionSpec(name: "by", value: "NAME",
                                   help: "Who makes this change, kept with its history (default: $SEHAT_OPERATOR, else the login name)")

    /// `--dir DIR` of a benchmark.
    static func benchDirectory(_ what: String = "the benchmark database") -> OptionSpec {
        OptionSpec(name: "dir", value: "DIR", help: "Where to put \(what) (default: a new temporary folder)")
    }
}

/// A `sehat` command: its words, help text, options, and what it does.
struct Command: Sendable {
    let words: [String]
    let summary: String
    /// The name of the one positional argument it takes (`ID`), if any.
    var positional: String? = nil
    let options: [OptionSpec]
    var details: String = ""
    let run: @Sendable (Invocation) throws -> Int32

    var usage: String {
        let parts = options.map { option -> String in
            let text = option.value.map { "--\(option.name) \($0)" } ?? "--\(option.name)"
            return option.required ? text : "[\(text)]"
        }
        return (["sehat [--db PATH]"] + words + (positional.map { [$0] } ?? []) + parts).joined(separator: " ")
    }

    var help: String {
        var text = "\(summary)\n\nUsage: \(usage)\n"
        if !options.isEmpty {
            text += "\nOptions:\n"
            let width = options.map { "--\($0.name)\($0.value.map { " " + $0 } ?? "")".count }.max() ?? 0
            for option in options {
                let head = "--\(option.name)\(option.value.map { " " + $0 } ?? "")"
                text += "  " + head.padding(toLength: width + 2, withPad: " ", startingAt: 0) + option.help + "\n"
            }
            text += "  " + "--help".padding(toLength: width + 2, withPad: " ", startingAt: 0) + "Show this help\n"
        }
        if !details.isEmpty { text += "\n" + details + "\n" }
        return text
    }
}

/// A wrong command line: printed with the command's usage, exit status 2.
struct UsageError: Error, CustomStringConvertible {
    let message: String
    let command: Command?
    var description: String { message }
}

/// The parsed command line handed to a command.
struct Invocation: Sendable {
    let databasePath: String
    let values: [String: String]
    let flags: Set<String>
    var argument: String? = nil
    /// Every value of a repeatable option, in order.
    var lists: [String: [String]] = [:]

    func value(_ name: String) -> String? { values[name] }
    /// Every value given for a repeatable option.
    func values(_ name: String) -> [String] { lists[name] ?? [] }
    func has(_ flag: String) -> Bool { flags.contains(flag) }

    /// A required option's value (the parser has already checked it is there).
    func required(_ name: String) -> String { values[name] ?? "" }

    /// Who makes a change: `--by`, else `$SEHAT_OPERATOR`, else the login name (`$USER`).
    var author: String? {
        let environment = ProcessInfo.processInfo.environment
        return [values["by"], environment["SEHAT_OPERATOR"], environment["USER"]].compactMap { $0 }.first { !$0.isEmpty }
    }

    /// An integer option, refusing anything else with the option's name.
    func int(_ name: String, default fallback: Int? = nil, range: ClosedRange<Int>? = nil) throws -> Int? {
        guard let text = values[name] else { return fallback }
        guard let number = Int(text) else { throw UsageError(message: "--\(name) must be a whole number, got \"\(text)\"", command: nil) }
        if let range, !range.contains(number) {
            throw UsageError(message: "--\(name) must be between \(range.lowerBound) and \(range.upperBound), got \(number)", command: nil)
        }
        return number
    }

    func double(_ name: String, range: ClosedRange<Double>? = nil) throws -> Double? {
        guard let text = try decimal(name) else { return nil }
        guard let number = Double(text), number.isFinite, range?.contains(number) ?? true else {
            let bounds = range.map { "from \(decimalText($0.lowerBound)) to \(decimalText($0.upperBound))" } ?? "a finite number"
            throw UsageError(message: "--\(name) must be \(bounds), got \(text.prefix(64))", command: nil)
        }
        return number
    }



    /// A decimal number as written (`-6.2`, `30`, `1e3`), refusing what `Double` would also
    /// take but a person did not mean: hex (`0x10`), `inf`, `nan`, spaces, a leading `+`.
    func decimal(_ name: String) throws -> String? {
        guard let text = values[name] else { return nil }
        guard text.range(of: #"^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][-+]?[0-9]+)?$"#, options: .regularExpression) != nil else {
            throw UsageError(message: "--\(name) must be a decimal number (like 30 or -6.2), got \"\(text.prefix(64))\"", command: nil)
        }
        return text
    }

    /// One of a fixed set of words.
    func choice<T: RawRepresentable & CaseIterable>(_ name: String, _ type: T.Type) throws -> T? where T.RawValue == String {
        guard let text = values[name] else { return nil }
        guard let value = T(rawValue: text) else {
            let allowed = T.allCases.map(\.rawValue).joined(separator: "|")
            throw UsageError(message: "--\(name) must be one of \(allowed), got \"\(text)\"", command: nil)
        }
        return value
    }
}

extension Command {
    /// Parses `arguments` (what follows the command words) against the options.
    func parse(_ arguments: [String], databasePath: String) throws -> Invocation {
        var values: [String: String] = [:]
        var lists: [String: [String]] = [:]
        var flags = Set<String>()
        var argument: String?
        var index = 0
        while index < arguments.count {
            let word = arguments[index]
            guard word.hasPrefix("--") else {
                guard positional != nil, argument == nil else { throw UsageError(message: "unexpected argument \"\(word)\"", command: self) }
                argument = word
                index += 1
                continue
            }
            var name = String(word.dropFirst(2))
            var inline: String?
            if let eq = name.firstIndex(of: "=") {
                inline = String(name[name.index(after: eq)...])
                name = String(name[..<eq])
            }
            guard let option = options.first(where: { $0.name == name }) else {
                throw UsageError(message: "unknown option --\(name)", command: self)
            }
            if option.value != nil {
                if inline == nil {
                    guard index + 1 < arguments.count else { throw UsageError(message: "--\(name) needs a value (\(option.value!))", command: self) }
                    index += 1
                }
                let value = inline ?? arguments[index]
                values[name] = value
                if option.repeatable { lists[name, default: []].append(value) }
            } else {
                guard inline == nil else { throw UsageError(message: "--\(name) takes no value", command: self) }
                flags.insert(name)
            }
            index += 1
        }
        for option in options where option.required && values[option.name] == nil {
            throw UsageError(message: "--\(option.name) is required", command: self)
        }
        if let positional, argument == nil { throw UsageError(message: "\(positional) is required", command: self) }
        return Invocation(databasePath: databasePath, values: values, flags: flags, argument: argument, lists: lists)
    }
}

/// A number as a person writes it: whole numbers without a decimal point (`30`, `0.5`).
func decimalText(_ value: Double) -> String { value.rounded() == value && abs(value) < 1e15 ? String(Int64(value)) : String(value) }
