import Foundation
import SehatFHIR
import SehatStore

/// Decides whether a patient's consent lets an item leave the device (seeds/004, "Consent
/// Management"): `all` lets everything go; `encounter_only` lets the patient's identity and
/// encounter data go, nothing else; `none`, revoked, not yet valid or expired lets nothing go.
/// It owns the consent columns of `patients`; what it holds and releases in the outbox goes
/// through `OutboxLifecycle`.
struct ConsentGate {
    let connection: Connection

    /// nil when the item may go; otherwise why not (the item is then held with that reason).
    func refusal(patientID: String, encounterID: String?, resourceType: String?, now: Date) throws -> ConsentRefusal? {
        guard let row = try connection.queryFirst(
            "SELECT consent_scope, consent_valid_from, consent_valid_until, consent_revoked_at FROM patients WHERE local_id = ?",
            [.text(patientID)])
        else { return nil }
        let stamp = FHIRDateTime.format(now)
        if row.optionalString("consent_revoked_at") != nil { return .revoked }
        if let from = row.optionalString("consent_valid_from"), stamp < from { return .notYetValid }
        if let until = row.optionalString("consent_valid_until"), stamp > until { return .expired }
        switch ConsentScope(rawValue: row["consent_scope"].string ?? "none") ?? .none {
        case .all:
            return nil
        case .encounterOnly:
            return resourceType == "Patient" || encounterID != nil ? nil : .encounterOnly
        case .none:
            return .notGiven
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
        return (patientID, try OutboxLifecycle(connection: connection, now: now).releaseConsentHolds(patientID: patientID))
    }
}
