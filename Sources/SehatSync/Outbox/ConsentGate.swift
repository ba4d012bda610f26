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
        guard let consent = try consent(of: patientID) else { return nil }
        return consent.refusal(encounterID: encounterID, resourceType: resourceType, at: FHIRDateTime.format(now))
    }

    /// A patient's consent columns, nil for no such patient.
    func consent(of patientID: String) throws -> Consent? {
        try connection.queryFirst(
            "SELECT consent_scope, consent_valid_from, consent_valid_until, consent_revoked_at FROM patients WHERE local_id = ?",
            [.text(patientID)]
        ).map { row in
            Consent(scope: ConsentScope(rawValue: row["consent_scope"].string ?? "none") ?? .none, validFrom: row.optionalString("consent_valid_from"),
                    validUntil: row.optionalString("consent_valid_until"), revoked: row.optionalString("consent_revoked_at") != nil)
        }
    }

    /// What one patient allowed, as stored.
    struct Consent {
        let scope: ConsentScope
        let validFrom: String?
        let validUntil: String?
        let revoked: Bool

        /// nil when an item of this patient may go at `stamp` (a FHIR dateTime); otherwise why not.
        func refusal(encounterID: String?, resourceType: String?, at stamp: String) -> ConsentRefusal? {
            if revoked { return .revoked }
            if let validFrom, stamp < validFrom { return .notYetValid }
            if let validUntil, stamp > validUntil { return .expired }
            switch scope {
            case .all:
                return nil
            case .encounterOnly:
                return resourceType == "Patient" || encounterID != nil ? nil : .encounterOnly
            case .none:
                return .notGiven
            }
        }
    }

    /// The gate's answers for many items at one moment (a claim): each patient's consent is
    /// read once.
    struct Answers {
        let gate: ConsentGate
        let stamp: String
        private var known: [String: Consent?] = [:]

        init(gate: ConsentGate, now: Date) {
            self.gate = gate
            stamp = FHIRDateTime.format(now)
        }

        /// nil when the item may go; otherwise why not.
        mutating func refusal(patientID: String, encounterID: String?, resourceType: String?) throws -> ConsentRefusal? {
            let consent: Consent?
            if let cached = known[patientID] {
                consent = cached
            } else {
                consent = try gate.consent(of: patientID)
                known[patientID] = consent
            }
            return consent?.refusal(encounterID: encounterID, resourceType: resourceType, at: stamp)
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
