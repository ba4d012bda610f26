import Foundation
import SehatFHIR
import SehatJSON

/// Reads an input document's fields, naming each refused field by its full path
/// (`vitals[2].value`) and refusing unknown keys so a typo is not silently dropped.
struct DocumentFields {
    let json: JSON
    let path: String

    init(_ json: JSON, path: String = "") throws {
        guard case .object = json else { throw FieldError(path.isEmpty ? "(document)" : path, "must be a JSON object") }
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

    func optionalString(_ key: String) throws -> String? {
        guard let value = json[key], value != .null else { return nil }
        guard let text = value.stringValue else { throw FieldError(name(key), "must be a string") }
        let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
        return trimmed.isEmpty ? nil : trimmed
    }

    func string(_ key: String) throws -> String {
        guard let text = try optionalString(key) else { throw FieldError(name(key), "is required") }
        return text
    }

    func optionalNumber(_ key: String) throws -> Double? {
        guard let value = json[key], value != .null else { return nil }
        guard let number = value.doubleValue, number.isFinite else { throw FieldError(name(key), "must be a number") }
        return number
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

    func list(_ key: String) throws -> [DocumentFields] {
        guard let value = json[key], value != .null else { return [] }
        guard let items = value.arrayValue else { throw FieldError(name(key), "must be an array") }
        return try items.enumerated().map { try DocumentFields($1, path: "\(name(key))[\($0)]") }
    }

    func object(_ key: String) throws -> DocumentFields? {
        guard let value = json[key], value != .null else { return nil }
        return try DocumentFields(value, path: name(key))
    }
}

extension JSON {
    /// Parses a document, turning a syntax error into a `FieldError` on `(document)`.
    static func parseDocument(_ text: String) throws -> JSON {
        do {
            return try JSON.parse(text)
        } catch let error as JSONSyntaxError {
            throw FieldError("(document)", error.description)
        }
    }
}
