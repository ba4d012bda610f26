import SehatJSON
/// Code and identifier systems used by SATUSEHAT (see SATUSEHAT.md, "Identifiers").
public enum Systems {
    public static let nik = "https://fhir.kemkes.go.id/id/nik"
    public static let nikIbu = "https://fhir.kemkes.go.id/id/nik-ibu"
    public static let ihs = "https://fhir.kemkes.go.id/id/ihs-number"
    public static let kfa = "http://sys-ids.kemkes.go.id/kfa"
    public static let icd10 = "http://hl7.org/fhir/sid/icd-10"
    public static let icd9cm = "http://hl7.org/fhir/sid/icd-9-cm"
    public static let loinc = "http://loinc.org"
    public static let ucum = "http://unitsofmeasure.org"
    public static let snomed = "http://snomed.info/sct"
    public static let actCode = "http://terminology.hl7.org/CodeSystem/v3-ActCode"

    /// `http://sys-ids.kemkes.go.id/{kind}/{orgId}`, the business-identifier system. The org
    /// must be the one bound to the credentials (SATUSEHAT RuleNumber 10117).
    ///
    ///     Systems.business("encounter", org: "10000004")  // http://sys-ids.kemkes.go.id/encounter/10000004
    public static func business(_ kind: String, org: String) -> String {
        "http://sys-ids.kemkes.go.id/\(kind)/\(org)"
    }
}

/// A `system|value` pair that names one resource for ever, assigned on the device.
///
///     BusinessIdentifier(system: Systems.business("encounter", org: "100"), value: "ENC-1").searchToken
public struct BusinessIdentifier: Sendable, Hashable {
    public let system: String
    public let value: String

    public init(system: String, value: String) {
        self.system = system
        self.value = value
    }

    /// The FHIR `Identifier` element.
    public var json: JSON { .obj(["system": .string(system), "value": .string(value)]) }

    /// `system|value`, the search token of `?identifier=`.
    public var searchToken: String { "\(system)|\(value)" }
}
