import Foundation
import SehatFHIR
import SehatJSON
import SehatStore

/// A correction of a registered patient or practitioner (`sehat patient update`, `sehat
/// practitioner update`): the fields to change; nil keeps a field as it is.
public struct PersonCorrection: Sendable, Equatable {
    /// The corrected name.
    public var name: String?
    /// The corrected date of birth (`YYYY-MM-DD`; patients only).
    public var birthDate: String?
    /// The corrected gender (patients only).
    public var gender: Gender?
    /// The corrected NIK: allowed only while the server has not yet matched the person by the
    /// old one (their lookup, or create, has not succeeded).
    public var nik: String?

    /// A correction of these fields.
    public init(name: String? = nil, birthDate: String? = nil, gender: Gender? = nil, nik: String? = nil) {
        (self.name, self.birthDate, self.gender, self.nik) = (name, birthDate, gender, nik)
    }
}

/// What correcting a person did.
public struct CorrectedPerson: Sendable, Equatable {
    /// The person's local id.
    public let localID: String
    /// Whether anything changed.
    public let changed: Bool
    /// Items that now search or send the corrected person (a refused or held one revived).
    public let resentItems: [Int64]
    /// Updates queued for a person the server holds as the device created them (plain FHIR servers).
    public let outboxItemIDs: [Int64]
}

/// Corrects a registered person with the same rules as an amended visit: the old version is
/// kept in `resource_history` with the reason; what has not reached the server sends the
/// corrected version; a person the device created on a plain FHIR server is updated there; a
/// person SATUSEHAT knows (found by lookup) is corrected on the device only — the national
/// record is not the clinic's to change.
struct PersonCorrectionRecorder {
    let context: RecordContext

    enum Kind { case patient, practitioner }

    func correct(_ kind: Kind, nik: String, _ change: PersonCorrection, reason: String) throws -> CorrectedPerson {
        let conn = context.connection
        try InputLimits.checkText(reason, field: "reason", max: InputLimits.textLength, multiline: true)
        guard !reason.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else { throw FieldError("reason", "is required: say what was wrong") }
        let table = kind == .patient ? "patients" : "practitioners"
        guard let row = try conn.queryFirst("SELECT * FROM \(table) WHERE nik = ?", [.text(nik)]) else {
            throw FieldError("nik", "no \(kind == .patient ? "patient" : "practitioner") with NIK \(maskNIK(nik)) is registered on this device")
        }
        let localID = try row.string("local_id")
        if kind == .practitioner, change.birthDate != nil || change.gender != nil {
            throw FieldError(change.birthDate != nil ? "birth-date" : "gender", "is not kept for a practitioner")
        }
        let newNIK = change.nik ?? nik
        let name = try change.name ?? row.string("name")
        if let name = change.name { try checkName(name) }
        if change.nik != nil, newNIK != nik {
            try SatusehatRules.checkNIK(newNIK, field: "new-nik")
            if try conn.scalar("SELECT 1 FROM \(table) WHERE nik = ?", [.text(newNIK)]).int == 1 {
                throw FieldError("new-nik", "someone with NIK \(maskNIK(newNIK)) is already registered on this device")
            }
            // The NIK is how the server found (or made) this person: it may change only until then.
            let established = try conn.scalar("SELECT server_id FROM resources WHERE local_id = ?", [.text(localID)]).string != nil
            let item = try context.outbox.establishingItem(forResource: localID)
            let status = try item.flatMap { try context.outbox.status(of: $0.id) }
            if established || status == .completed || status == .processing {
                throw FieldError("new-nik", "cannot change: the server already knows this person by NIK \(maskNIK(nik)); register the person again under the new NIK")
            }
        }
        // A patient as corrected, checked as registration checks one.
        var patient: PatientInput?
        if kind == .patient {
            guard let gender = try change.gender ?? Gender(rawValue: row.string("gender")) else {
                throw FieldError("gender", "the stored gender is not male or female; give --gender")
            }
            let corrected = PatientInput(nik: newNIK, name: name, gender: gender, birthDate: try change.birthDate ?? row.string("birth_date"))
            try corrected.validate(now: context.now)
            patient = corrected
        }
        let builder = RegistryBuilder(orgID: context.orgID)
        let json = patient.map { builder.patient(nik: $0.nik, name: $0.name, gender: $0.gender.rawValue, birthDate: $0.birthDate) }
            ?? builder.practitioner(nik: newNIK, name: name)
        guard let oldText = try conn.scalar("SELECT json FROM resources WHERE local_id = ?", [.text(localID)]).string else {
            return CorrectedPerson(localID: localID, changed: false, resentItems: [], outboxItemIDs: [])
        }
        guard json.text != oldText else { return CorrectedPerson(localID: localID, changed: false, resentItems: [], outboxItemIDs: []) }
        try context.history.keep(localID, previous: oldText, change: .amended, reason: reason)
        try conn.execute("UPDATE resources SET json = ?, identifier_value = ?, updated_at = ? WHERE local_id = ?",
                         [.text(json.text), .text(newNIK), .text(context.stamp), .text(localID)])
        if let patient {
            try conn.execute("UPDATE patients SET nik = ?, name = ?, gender = ?, birth_date = ? WHERE local_id = ?",
                             [.text(newNIK), .text(name), .text(patient.gender.rawValue), .text(patient.birthDate), .text(localID)])
        } else {
            try conn.execute("UPDATE practitioners SET nik = ?, name = ? WHERE local_id = ?", [.text(newNIK), .text(name), .text(localID)])
        }
        var outcome = try ResourceRevision(context: context).publish(localID, json: json)
        // A lookup refused or held (e.g. not registered in SATUSEHAT) searches again, by the corrected NIK.
        if let lookup = try conn.queryFirst("SELECT id, status FROM outbox WHERE resource_id = ? AND operation = 'lookup' ORDER BY id LIMIT 1", [.text(localID)]),
            let id = lookup["id"].int64, ["failed", "dead", "held"].contains(lookup["status"].string ?? "")
        {
            try context.outbox.revive(id)
            outcome.resent.append(id)
        }
        return CorrectedPerson(localID: localID, changed: true, resentItems: outcome.resent, outboxItemIDs: outcome.queued)
    }
}
