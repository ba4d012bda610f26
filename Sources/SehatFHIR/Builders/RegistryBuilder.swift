import SehatJSON
/// Builds the prerequisite resources: Location, Practitioner and Patient.
///
///     let builder = RegistryBuilder(orgID: "10000004")
///     let poli = builder.location(code: "POLI-UMUM", name: "Poli Umum")
public struct RegistryBuilder: Sendable {
    /// The organization bound to the credentials.
    public let orgID: String

    /// A builder for the organization's registry resources.
    public init(orgID: String) { self.orgID = orgID }

    /// A polyclinic as a SATUSEHAT Location, identified by its code.
    public func location(code: String, name: String) -> JSON {
        .obj([
            "resourceType": "Location",
            "identifier": [BusinessIdentifier(system: Systems.business("location", org: orgID), value: code).json],
            "status": "active",
            "name": .string(name),
            "mode": "instance",
            "physicalType": .concept("http://terminology.hl7.org/CodeSystem/location-physical-type", "ro", "Room"),
            "managingOrganization": .obj(["reference": .string("Organization/\(orgID)")]),
        ])
    }

    /// A practitioner identified by NIK (SATUSEHAT resolves it to an IHS number).
    public func practitioner(nik: String, name: String) -> JSON {
        .obj([
            "resourceType": "Practitioner",
            "identifier": [BusinessIdentifier(system: Systems.nik, value: nik).json],
            "active": true,
            "name": [.obj(["use": "official", "text": .string(name)])],
        ])
    }

    /// A practitioner serving at a polyclinic of the organization (SATUSEHAT's prerequisite
    /// before their encounters there), identified by the polyclinic's code and their NIK.
    public func practitionerRole(practitioner: Link, location: Link, locationCode: String, practitionerNIK: String) -> JSON {
        .obj([
            "resourceType": "PractitionerRole",
            "identifier": [BusinessIdentifier(system: Systems.business("practitionerrole", org: orgID), value: "\(locationCode)-\(practitionerNIK)").json],
            "active": true,
            "practitioner": practitioner.json,
            "organization": .obj(["reference": .string("Organization/\(orgID)")]),
            "location": [location.json],
        ])
    }

    /// A patient identified by NIK.
    public func patient(nik: String, name: String, gender: String, birthDate: String) -> JSON {
        .obj([
            "resourceType": "Patient",
            "identifier": [.obj(["use": "official", "system": .string(Systems.nik), "value": .string(nik)])],
            "active": true,
            "name": [.obj(["use": "official", "text": .string(name)])],
            "gender": .string(gender),
            "birthDate": .string(birthDate),
        ])
    }
}
