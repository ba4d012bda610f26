import SehatJSON
import Foundation

/// Builds the SATUSEHAT side of an emergency (seeds/000, "Data Mapping"): the site as a
/// Location, the emergency Observation (severity as a SNOMED CT value) and, when asked, a
/// referral ServiceRequest (priority `stat`). The Encounter (class EMER) comes from
/// `EncounterBuilder`.
///
///     let b = EmergencyBuilder(orgID: org, emergencyID: id, victim: p, volunteer: v, encounter: e)
///     let observation = b.observation(severity: "critical", type: "cardiac_arrest", at: reportedAt)
public struct EmergencyBuilder: Sendable {
    /// The organization bound to the credentials.
    public let orgID: String
    /// The emergency's id on the device.
    public let emergencyID: String
    /// The victim (a Patient).
    public let victim: Link
    /// The responding volunteer (a Practitioner).
    public let volunteer: Link
    /// The EMER Encounter.
    public let encounter: Link

    /// A builder for one emergency's resources.
    public init(orgID: String, emergencyID: String, victim: Link, volunteer: Link, encounter: Link) {
        self.orgID = orgID
        self.emergencyID = emergencyID
        self.victim = victim
        self.volunteer = volunteer
        self.encounter = encounter
    }

    /// SNOMED CT severities for PSC 119's grades.
    public static let severities: [String: (code: String, display: String)] = [
        "critical": ("442452003", "Life threatening severity"), "high": ("24484000", "Severe"),
        "medium": ("6736007", "Moderate"), "low": ("255604002", "Mild"),
    ]

    /// The emergency's business identifier of a kind (`observation`, `location`, …).
    public func identifier(_ kind: String, suffix: String = "") -> BusinessIdentifier {
        BusinessIdentifier(system: Systems.business(kind, org: orgID), value: "emergency-\(emergencyID)\(suffix)")
    }

    /// Where it happened.
    public func site(latitude: Double, longitude: Double, address: String?) -> JSON {
        .obj([
            "resourceType": "Location",
            "identifier": [identifier("location").json],
            "status": "active",
            "name": .string("Lokasi darurat \(emergencyID.prefix(8))"),
            "mode": "instance",
            "address": address.map { .obj(["use": "work", "text": .string($0)]) },
            "physicalType": .concept("http://terminology.hl7.org/CodeSystem/location-physical-type", "si", "Site"),
            "position": .obj(["longitude": .double(longitude), "latitude": .double(latitude)]),
            "managingOrganization": .obj(["reference": .string("Organization/\(orgID)")]),
        ])
    }

    /// The emergency and its severity, when it was reported.
    public func observation(severity: String, type: String, at: Date) -> JSON {
        let grade = EmergencyBuilder.severities[severity] ?? EmergencyBuilder.severities["critical"]!
        return .obj([
            "resourceType": "Observation",
            "identifier": [identifier("observation").json],
            "status": "final",
            "category": [.concept("http://terminology.hl7.org/CodeSystem/observation-category", "survey", "Survey")],
            "code": .concept(Systems.snomed, "246112005", "Severity", text: "Emergency severity"),
            "subject": victim.json,
            "performer": [volunteer.json],
            "encounter": .obj(["reference": .string(encounter.reference)]),
            "effectiveDateTime": .string(FHIRDateTime.format(at)),
            "issued": .string(FHIRDateTime.format(at)),
            "valueCodeableConcept": .concept(Systems.snomed, grade.code, grade.display),
            "note": [.obj(["text": .string("Emergency type: \(type)")])],
        ])
    }

    /// The referral to a hospital (priority stat).
    public func referral(at: Date, reason: Link) -> JSON {
        .obj([
            "resourceType": "ServiceRequest",
            "identifier": [identifier("servicerequest", suffix: "-referral").json],
            "status": "active",
            "intent": "order",
            "priority": "stat",
            "code": .concept(Systems.snomed, "38907003", "Emergency referral"),
            "subject": victim.json,
            "encounter": .obj(["reference": .string(encounter.reference)]),
            "occurrenceDateTime": .string(FHIRDateTime.format(at)),
            "authoredOn": .string(FHIRDateTime.format(at)),
            "requester": volunteer.json,
            "reasonReference": [.obj(["reference": .string(reason.reference)])],
        ])
    }
}
