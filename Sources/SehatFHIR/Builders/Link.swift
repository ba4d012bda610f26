import SehatJSON
/// A reference to another resource by type and (local or server) id, with display text.
///
///     Link("Patient", patientLocalID, display: "Budi").json  // {"reference":"Patient/…","display":"Budi"}
public struct Link: Sendable, Hashable {
    public let type: String
    public let id: String
    public let display: String?

    public init(_ type: String, _ id: String, display: String? = nil) {
        self.type = type
        self.id = id
        self.display = display
    }

    public var reference: String { "\(type)/\(id)" }
    public var json: JSON { .obj(["reference": .string(reference), "display": display.map(JSON.string)]) }
}

extension JSON {
    /// `{"coding":[{"system":…,"code":…,"display":…}]}`, and `text` when given.
    public static func concept(_ system: String, _ code: String, _ display: String?, text: String? = nil) -> JSON {
        .obj([
            "coding": [.obj(["system": .string(system), "code": .string(code), "display": display.map(JSON.string)])],
            "text": text.map(JSON.string),
        ])
    }

    /// A UCUM quantity.
    public static func quantity(_ value: Double, unit: String, code: String? = nil) -> JSON {
        .obj([
            "value": .double(value), "unit": .string(unit), "system": .string(Systems.ucum), "code": .string(code ?? unit),
        ])
    }
}
