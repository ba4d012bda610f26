import Foundation
import SehatFHIR
import SehatJSON

/// Reads an input document's fields, naming each refused field by its full path
/// (`vitals[2].value`) and refusing unknown keys so a typo is not silently dropped.
struct DocumentFields {
    let json: JSON
    let path: String

    init(_ json: JSON, path: String = "") throws {
        guard case .object = json else { throw FieldError(path.isEmpty ? "(document)" : path, "must be a JSON object, got \(json.kind)") }
        self.json = json
        self.path = path
    }

    func name(_ key: String) -> String { path.isEmpty ? key : "\(path).\(key)" }

    /// Refuses members other than `known`.
    func only(_ known: Set<String>) throws {
        for member in json.members ?? [] where !known.contains(member.key) {
            throw FieldError(name(member.key), "is not a known field (known: \(known.sorted().joined(separator: ", ")))")
        }
    }

    /// A string member: trimmed, not empty (leave a member out rather than send `""`), at
    /// most `max` characters, with no control characters (line breaks only when `multiline`).
    func optionalString(_ key: String, max: Int = InputLimits.textLength, multiline: Bool = false) throws -> String? {
        guard let value = json[key], value != .null else { return nil }
        guard let text = value.stringValue else { throw FieldError(name(key), "must be a string, got \(value.kind)") }
        let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !trimmed.isEmpty else { throw FieldError(name(key), "is empty; give a value or leave the field out") }
        try InputLimits.checkText(trimmed, field: name(key), max: max, multiline: multiline)
        return trimmed
    }

    func string(_ key: String, max: Int = InputLimits.textLength, multiline: Bool = false) throws -> String {
        guard let text = try optionalString(key, max: max, multiline: multiline) else { throw FieldError(name(key), "is required") }
        return text
    }

    /// An identifier member (`number`, `location_code`): see `InputLimits.checkIdentifier`.
    func optionalIdentifier(_ key: String) throws -> String? {
        try optionalString(key, max: InputLimits.identifierLength)
    }

    func optionalNumber(_ key: String) throws -> Double? {
        guard let value = json[key], value != .null else { return nil }
        guard let number = value.doubleValue else { throw FieldError(name(key), "must be a number, got \(value.kind)") }
        guard number.isFinite else { throw FieldError(name(key), "\(value.numberText ?? "") is too large for a number") }
        return number
    }

    /// A whole number within `range`; refused (with the range) when fractional or outside it.
    func optionalInt(_ key: String, _ range: ClosedRange<Int>) throws -> Int? {
        guard let number = try optionalNumber(key) else { return nil }
        guard number.rounded() == number, number >= Double(range.lowerBound), number <= Double(range.upperBound) else {
            throw FieldError(name(key), "must be a whole number from \(range.lowerBound) to \(range.upperBound), got \(FieldError.quote(json[key]?.numberText ?? ""))")
        }
        return Int(number)
    }

    func number(_ key: String) throws -> Double {
        guard let number = try optionalNumber(key) else { throw FieldError(name(key), "is required") }
        return number
    }

    func optionalDateTime(_ key: String) throws -> Date? {
        guard let text = try optionalString(key) else { return nil }
        do {
            return try FHIRDateTime.parse(text)
        } catch let error as FHIRDateTime.FormatError {
            throw FieldError(name(key), error.reason)
        }
    }

    func dateTime(_ key: String) throws -> Date {
        guard let date = try optionalDateTime(key) else { throw FieldError(name(key), "is required") }
        return date
    }

    func list(_ key: String, max: Int = InputLimits.listItems) throws -> [DocumentFields] {
        guard let value = json[key], value != .null else { return [] }
        guard let items = value.arrayValue else { throw FieldError(name(key), "must be an array, got \(value.kind)") }
        guard items.count <= max else { throw FieldError(name(key), "has \(items.count) items; the limit is \(max)") }
        return try items.enumerated().map { try DocumentFields($1, path: "\(name(key))[\($0)]") }
    }

    func object(_ key: String) throws -> DocumentFields? {
        guard let value = json[key], value != .null else { return nil }
        return try DocumentFields(value, path: name(key))
    }
}

extension JSON {
    /// Parses a document, turning a syntax error into a `FieldError` on `(document)`; a
    /// document larger than `maxBytes` is refused before it is parsed.
    static func parseDocument(_ text: String, maxBytes: Int = InputLimits.documentBytes) throws -> JSON {
        let size = text.utf8.count
        guard size <= maxBytes else { throw FieldError("(document)", "is \(size) bytes; the limit is \(maxBytes)") }
        do {
            return try JSON.parse(text)
        } catch let error as JSONSyntaxError {
            throw FieldError("(document)", error.description)
        }
    }

    /// What kind of value this is, for a refusal (`a string`, `an object`).
    var kind: String {
        switch self {
        case .null: return "null"
        case .bool: return "true or false"
        case .number: return "a number"
        case .string: return "a string"
        case .array: return "an array"
        case .object: return "an object"
        }
    }
}
