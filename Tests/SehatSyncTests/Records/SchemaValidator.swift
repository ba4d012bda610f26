import Foundation
import SehatFHIR
import SehatJSON

/// A JSON Schema (draft 2020-12) checker for the keywords our document schemas use:
/// type, required, properties, additionalProperties: false, items, enum, pattern,
/// minLength, maxLength, maxItems, minimum, maximum, exclusiveMinimum and local `$ref`s. Unknown keywords
/// fail loudly so the schemas cannot silently outgrow it.
struct SchemaValidator {
    let root: JSON
    static let known: Set<String> = [
        "$schema", "$id", "$defs", "$ref", "title", "description", "default", "type", "required", "properties",
        "additionalProperties", "items", "enum", "pattern", "minLength", "maxLength", "maxItems", "minimum", "maximum", "exclusiveMinimum",
    ]

    /// Every violation, as `path: reason`.
    func errors(in instance: JSON) -> [String] {
        var found: [String] = []
        check(instance, against: root, path: "$", into: &found)
        return found
    }

    private func resolve(_ schema: JSON) -> JSON {
        guard let ref = schema["$ref"]?.stringValue, ref.hasPrefix("#/") else { return schema }
        return ref.dropFirst(2).split(separator: "/").reduce(root) { $0[String($1)] ?? .null }
    }

    private func check(_ value: JSON, against rawSchema: JSON, path: String, into found: inout [String]) {
        let schema = resolve(rawSchema)
        for member in schema.members ?? [] where !SchemaValidator.known.contains(member.key) {
            found.append("\(path): schema keyword \(member.key) is not supported by this checker")
        }
        if let type = schema["type"]?.stringValue, !matches(value, type) { found.append("\(path): expected \(type)"); return }
        if let options = schema["enum"]?.arrayValue, !options.contains(value) { found.append("\(path): not one of the allowed values") }
        if let text = value.stringValue {
            if let pattern = schema["pattern"]?.stringValue, text.range(of: pattern, options: .regularExpression) == nil {
                found.append("\(path): does not match \(pattern)")
            }
            if let min = schema["minLength"]?.intValue, text.count < min { found.append("\(path): shorter than \(min)") }
            if let max = schema["maxLength"]?.intValue, text.unicodeScalars.count > max { found.append("\(path): longer than \(max)") }
        }
        if let number = value.doubleValue {
            if let min = schema["minimum"]?.doubleValue, number < min { found.append("\(path): below \(min)") }
            if let max = schema["maximum"]?.doubleValue, number > max { found.append("\(path): above \(max)") }
            if let min = schema["exclusiveMinimum"]?.doubleValue, number <= min { found.append("\(path): not above \(min)") }
        }
        if let members = value.members {
            let properties = schema["properties"]?.members ?? []
            for key in schema["required"]?.arrayValue?.compactMap(\.stringValue) ?? [] where value[key] == nil {
                found.append("\(path): missing \(key)")
            }
            for member in members {
                if let sub = properties.first(where: { $0.key == member.key })?.value {
                    check(member.value, against: sub, path: "\(path).\(member.key)", into: &found)
                } else if schema["additionalProperties"] == .bool(false) {
                    found.append("\(path): unexpected \(member.key)")
                }
            }
        }
        if let items = value.arrayValue, let max = schema["maxItems"]?.intValue, items.count > max { found.append("\(path): more than \(max) items") }
        if let items = value.arrayValue, let itemSchema = schema["items"] {
            for (i, item) in items.enumerated() { check(item, against: itemSchema, path: "\(path)[\(i)]", into: &found) }
        }
    }

    private func matches(_ value: JSON, _ type: String) -> Bool {
        switch type {
        case "object": return value.members != nil
        case "array": return value.arrayValue != nil
        case "string": return value.stringValue != nil
        case "number": return value.numberText != nil
        case "integer": return value.intValue != nil && !(value.numberText ?? "").contains(".")
        case "boolean": return value.boolValue != nil
        default: return false
        }
    }
}
