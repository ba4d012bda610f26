import Foundation
import SehatFHIR

/// Administrative gender, as SATUSEHAT takes it.
public enum Gender: String, Sendable, CaseIterable {
    case male
    case female
}

/// What a patient allows to leave the device.
public enum ConsentScope: String, Sendable, CaseIterable {
    /// Everything recorded for the patient.
    case all
    /// Encounter data only.
    case encounterOnly = "encounter_only"
    /// Nothing.
    case none
}

/// A patient to register on the device.
///
///     try client.addPatient(PatientInput(nik: "3171022309900001", name: "Budi Santoso", gender: .male, birthDate: "1990-09-23"))
public struct PatientInput: Sendable, Equatable {
    /// The NIK (16 digits).
    public var nik: String
    /// The full name.
    public var name: String
    /// Their gender.
    public var gender: Gender
    /// `YYYY-MM-DD`.
    public var birthDate: String
    /// What they consented to share.
    public var consent: ConsentScope
    /// What they consented to share.
    public var consentValidUntil: Date?
    /// The patient's SATUSEHAT (IHS) id when already known; then no lookup is queued.
    public var ihsID: String?

    /// A patient to register.
    public init(
        nik: String, name: String, gender: Gender, birthDate: String, consent: ConsentScope = .all, consentValidUntil: Date? = nil,
        ihsID: String? = nil
    ) {
        self.ihsID = ihsID
        self.nik = nik
        self.name = name
        self.gender = gender
        self.birthDate = birthDate
        self.consent = consent
        self.consentValidUntil = consentValidUntil
    }

    func validate(now: Date) throws {
        try SatusehatRules.checkNIK(nik, field: "nik")
        try checkName(name)
        let date: (year: Int, month: Int, day: Int)
        do { date = try FHIRDateTime.parseDate(birthDate) } catch let error as FHIRDateTime.FormatError {
            throw FieldError("birth-date", error.reason)
        }
        guard birthDate <= FHIRDateTime.formatDate(now) else { throw FieldError("birth-date", "\(birthDate) is in the future") }
        guard date.year >= 1880 else { throw FieldError("birth-date", "\(birthDate) is too far in the past") }
        if let until = consentValidUntil, until <= now { throw FieldError("consent-until", "is already past") }
        try checkServerID(ihsID, field: "ihs-id")
    }
}

/// A server id given by a person: FHIR's id syntax (1-64 of A-Z a-z 0-9 - .).
func checkServerID(_ id: String?, field: String) throws {
    guard let id else { return }
    guard ResourceRules.isValidID(id) else { throw FieldError(field, "\(FieldError.quote(id)) is not a FHIR id (1-64 letters, digits, '-' or '.')") }
}

func checkName(_ name: String, field: String = "name") throws {
    let trimmed = name.trimmingCharacters(in: .whitespacesAndNewlines)
    guard !trimmed.isEmpty else { throw FieldError(field, "is required") }
    try InputLimits.checkText(trimmed, field: field, max: InputLimits.nameLength)
}

/// A NIK for messages and logs: `317102******0001`.
func maskNIK(_ nik: String) -> String {
    guard nik.count > 10 else { return String(repeating: "*", count: nik.count) }
    return String(nik.prefix(6)) + String(repeating: "*", count: nik.count - 10) + String(nik.suffix(4))
}
