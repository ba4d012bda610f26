import SehatJSON
/// A reference to another resource by type and (local or server) id, with display text.
///
///     Link("Patient", patientLocalID, display: "Budi").json  // {"reference":"Patient/…","display":"Budi"}
public struct Link: Sendable, Hashable {
    /// The resource type.
    public let type: String
    /// Its id (local until the request is built).
    public let id: String
    /// A display text.
    public let display: String?

    /// A reference to `type/id`.
    public init(_ type: String, _ id: String, display: String? = nil) {
        self.type = type
        self.id = id
        self.display = display
    }

    /// `Type/id`.
    public var reference: String { "\(type)/\(id)" }
    /// The FHIR Reference object.
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
