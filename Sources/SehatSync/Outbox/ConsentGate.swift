import Foundation
import SehatFHIR
import SehatStore

/// Decides whether a patient's consent lets an item leave the device (seeds/004, "Consent
/// Management"): `all` lets everything go; `encounter_only` lets the patient's identity and
/// encounter data go, nothing else; `none`, revoked, not yet valid or expired lets nothing go.
struct ConsentGate {
    let connection: Connection

    /// nil when the item may go; otherwise why not (the item is then held with that reason).
    func refusal(patientID: String, encounterID: String?, operation: Operation, resourceType: String?, now: Date) throws -> String? {
        guard let row = try connection.queryFirst(
            "SELECT nik, consent_scope, consent_valid_from, consent_valid_until, consent_revoked_at FROM patients WHERE local_id = ?",
            [.text(patientID)])
        else { return nil }
        let who = "patient \(maskNIK(row["nik"].string ?? ""))"
        let stamp = FHIRDateTime.format(now)
        if let revoked = row.optionalString("consent_revoked_at") { return "consent: \(who) revoked consent at \(revoked)" }
        if let from = row.optionalString("consent_valid_from"), stamp < from { return "consent: \(who)'s consent is valid only from \(from)" }
        if let until = row.optionalString("consent_valid_until"), stamp > until { return "consent: \(who)'s consent expired at \(until)" }
        switch ConsentScope(rawValue: row["consent_scope"].string ?? "none") ?? .none {
        case .all:
            return nil
        case .encounterOnly:
            let identity = resourceType == "Patient"
            return identity || encounterID != nil ? nil : "consent: \(who) consented to sharing encounter data only"
        case .none:
            return "consent: \(who) has not consented to sharing data"
        }
    }

    /// Records new consent (or its revocation) and releases what it now allows.
    func record(nik: String, scope: ConsentScope?, until: Date?, revoke: Bool, now: Date) throws -> (patientID: String, released: Int) {
        guard let patientID = try connection.scalar("SELECT local_id FROM patients WHERE nik = ?", [.text(nik)]).string else {
            throw FieldError("nik", "no patient with NIK \(maskNIK(nik)) is registered on this device")
        }
        let stamp = FHIRDateTime.format(now)
        if revoke {
            try connection.execute("UPDATE patients SET consent_revoked_at = ? WHERE local_id = ?", [.text(stamp), .text(patientID)])
            return (patientID, 0)
        }
        guard let scope else { throw FieldError("scope", "is required unless --revoke is given") }
        if let until, until <= now { throw FieldError("until", "is already past") }
        try connection.execute(
            """
            UPDATE patients SET consent_scope = ?, consent_valid_from = ?, consent_valid_until = ?, consent_revoked_at = NULL
            WHERE local_id = ?
            """, [.text(scope.rawValue), .text(stamp), SQLValue(until.map(FHIRDateTime.format)), .text(patientID)])
        try connection.execute(
            "UPDATE outbox SET status = 'pending', held_reason = NULL, updated_at = ? WHERE patient_id = ? AND status = 'held' AND held_reason LIKE 'consent:%'",
            [.text(stamp), .text(patientID)])
        return (patientID, connection.changes)
    }
}
