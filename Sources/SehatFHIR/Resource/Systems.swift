import SehatJSON
/// Code and identifier systems used by SATUSEHAT (see SATUSEHAT.md, "Identifiers").
public enum Systems {
    /// Indonesian national identity number (NIK).
    public static let nik = "https://fhir.kemkes.go.id/id/nik"
    /// A newborn's mother's NIK.
    public static let nikIbu = "https://fhir.kemkes.go.id/id/nik-ibu"
    /// SATUSEHAT's own patient number (IHS).
    public static let ihs = "https://fhir.kemkes.go.id/id/ihs-number"
    /// KFA drug codes.
    public static let kfa = "http://sys-ids.kemkes.go.id/kfa"
    /// ICD-10 diagnoses.
    public static let icd10 = "http://hl7.org/fhir/sid/icd-10"
    /// ICD-9-CM procedures.
    public static let icd9cm = "http://hl7.org/fhir/sid/icd-9-cm"
    /// LOINC observations.
    public static let loinc = "http://loinc.org"
    /// UCUM units.
    public static let ucum = "http://unitsofmeasure.org"
    /// SNOMED CT.
    public static let snomed = "http://snomed.info/sct"
    /// HL7 v3 ActCode (encounter classes).
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
    /// The identifier's system URL.
    public let system: String
    /// The identifier's value.
    public let value: String

    /// An identifier `system|value`.
    public init(system: String, value: String) {
        self.system = system
        self.value = value
    }

    /// The FHIR `Identifier` element.
    public var json: JSON { .obj(["system": .string(system), "value": .string(value)]) }

    /// `system|value`, the search token of `?identifier=`.
    public var searchToken: String { "\(system)|\(value)" }
}
