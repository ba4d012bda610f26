import Foundation
import SehatFHIR
import SehatJSON
import SehatStore

/// Records the prerequisites of clinical work: locations, practitioners and patients,
/// each with its outbox item (a Location is created; on SATUSEHAT a Practitioner or
/// Patient is looked up by NIK, on a plain FHIR server it is created).
struct RegistryRecorder {
    let context: RecordContext
    private var builder: RegistryBuilder { RegistryBuilder(orgID: context.orgID) }

    /// Notes a person's SATUSEHAT (IHS) id, found by the lookup of their NIK.
    static func adoptIHSID(_ ihsID: String, localID: String, type: String?, _ conn: Connection) throws {
        let table: String
        switch type {
        case "Patient": table = "patients"
        case "Practitioner": table = "practitioners"
        default: return
        }
        try conn.execute("UPDATE \(table) SET ihs_id = ? WHERE local_id = ?", [.text(ihsID), .text(localID)])
    }

    func addLocation(code: String, name: String) throws -> String {
        guard code.range(of: #"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"#, options: .regularExpression) != nil else {
            throw FieldError("code", "must be 1-64 letters, digits, '.', '_' or '-', got \"\(code)\"")
        }
        try checkName(name)
        if let existing = try context.connection.scalar("SELECT local_id FROM locations WHERE code = ?", [.text(code)]).string {
            throw FieldError("code", "location \(code) is already registered (local id \(existing))")
        }
        let id = context.newID()
        let json = builder.location(code: code, name: name)
        let identifier = BusinessIdentifier(system: Systems.business("location", org: context.orgID), value: code)
        try context.insertResource(localID: id, identifier: identifier, json: json)
        try context.connection.execute(
            "INSERT INTO locations(local_id, code, name, created_at) VALUES (?, ?, ?, ?)",
            [.text(id), .text(code), .text(name), .text(context.stamp)]
        )
        try enqueue(id: id, type: "Location", operation: .create, priority: ClinicPriority.prerequisite, json: json)
        return id
    }

    func addPractitioner(nik: String, name: String, ihsID: String?, locations codes: [String] = []) throws -> String {
        try SatusehatRules.checkNIK(nik, field: "nik")
        try checkName(name)
        try checkServerID(ihsID, field: "ihs-id")
        if let existing = try context.connection.scalar("SELECT local_id FROM practitioners WHERE nik = ?", [.text(nik)]).string {
            throw FieldError("nik", "a practitioner with NIK \(maskNIK(nik)) is already registered (local id \(existing))")
        }
        let id = context.newID()
        let json = builder.practitioner(nik: nik, name: name)
        try context.insertResource(localID: id, identifier: BusinessIdentifier(system: Systems.nik, value: nik), json: json)
        try context.connection.execute(
            "INSERT INTO practitioners(local_id, nik, name, ihs_id, created_at) VALUES (?, ?, ?, ?, ?)",
            [.text(id), .text(nik), .text(name), SQLValue(ihsID), .text(context.stamp)]
        )
        try establishIdentity(id: id, type: "Practitioner", knownServerID: ihsID, priority: ClinicPriority.prerequisite, json: json)
        for (index, code) in codes.enumerated() {
            guard let location = try context.connection.scalar("SELECT local_id FROM locations WHERE code = ?", [.text(code)]).string else {
                throw FieldError("locations[\(index)]", "no location with code \(code) is registered on this device")
            }
            _ = try role(practitioner: id, at: location)
        }
        return id
    }

    /// The item that creates the PractitionerRole of a practitioner at a polyclinic, queuing
    /// it the first time the pair is seen (after its Practitioner and its Location: the edges
    /// derive from its references); nil when it needs no request any more.
    func role(practitioner practitionerID: String, at locationID: String) throws -> Int64? {
        let conn = context.connection
        if let existing = try conn.scalar("SELECT local_id FROM practitioner_roles WHERE practitioner_id = ? AND location_id = ?",
                                          [.text(practitionerID), .text(locationID)]).string {
            guard let item = try context.outbox.establishingItem(forResource: existing) else { return nil }
            return item.open ? item.id : nil
        }
        guard let person = try conn.queryFirst("SELECT nik, name FROM practitioners WHERE local_id = ?", [.text(practitionerID)]),
            let place = try conn.queryFirst("SELECT code, name FROM locations WHERE local_id = ?", [.text(locationID)])
        else { throw FieldError("practitioner", "unknown practitioner or location") }
        let id = context.newID()
        let nik = try person.string("nik"), code = try place.string("code")
        let json = builder.practitionerRole(practitioner: Link("Practitioner", practitionerID, display: try person.string("name")),
                                            location: Link("Location", locationID, display: try place.string("name")),
                                            locationCode: code, practitionerNIK: nik)
        try context.insertResource(localID: id, identifier: BusinessIdentifier(system: Systems.business("practitionerrole", org: context.orgID),
                                                                               value: "\(code)-\(nik)"), json: json)
        try conn.execute("INSERT INTO practitioner_roles(local_id, practitioner_id, location_id, created_at) VALUES (?, ?, ?, ?)",
                         [.text(id), .text(practitionerID), .text(locationID), .text(context.stamp)])
        return try enqueue(id: id, type: "PractitionerRole", operation: .create, priority: ClinicPriority.prerequisite, json: json)
    }

    func addPatient(_ input: PatientInput) throws -> String {
        if let existing = try context.connection.scalar("SELECT local_id FROM patients WHERE nik = ?", [.text(input.nik)]).string {
            throw FieldError("nik", "a patient with NIK \(maskNIK(input.nik)) is already registered (local id \(existing))")
        }
        let id = context.newID()
        let json = builder.patient(nik: input.nik, name: input.name, gender: input.gender.rawValue, birthDate: input.birthDate)
        try context.insertResource(localID: id, identifier: BusinessIdentifier(system: Systems.nik, value: input.nik), json: json)
        try context.connection.execute(
            """
            INSERT INTO patients(local_id, nik, name, gender, birth_date, ihs_id, consent_scope, consent_valid_from, consent_valid_until, created_at)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """,
            [
                .text(id), .text(input.nik), .text(input.name), .text(input.gender.rawValue), .text(input.birthDate), SQLValue(input.ihsID),
                .text(input.consent.rawValue), .text(context.stamp), SQLValue(input.consentValidUntil.map(FHIRDateTime.format)),
                .text(context.stamp),
            ]
        )
        try establishIdentity(id: id, type: "Patient", knownServerID: input.ihsID, priority: ClinicPriority.identity, json: json)
        return id
    }

    /// A person whose server id is already known needs no request: the id is stored as the
    /// resource's server id (references to it are rewritten directly). Otherwise it is
    /// looked up (SATUSEHAT) or created (plain FHIR).
    private func establishIdentity(id: String, type: String, knownServerID: String?, priority: Int, json: JSON) throws {
        if let knownServerID {
            try context.connection.execute("UPDATE resources SET server_id = ? WHERE local_id = ?", [.text(knownServerID), .text(id)])
        } else {
            try enqueue(id: id, type: type, operation: identityOperation, priority: priority, json: json)
        }
    }

    /// SATUSEHAT knows every practitioner and patient by NIK already: look them up. A plain
    /// FHIR server does not: create them.
    private var identityOperation: Operation { context.profile == .satusehat ? .lookup : .create }

    @discardableResult
    private func enqueue(id: String, type: String, operation: Operation, priority: Int, json: JSON) throws -> Int64 {
        try context.outbox.enqueue(
            NewOutboxItem(
                queue: context.clinicQueue(type), operation: operation, resourceType: type, resourceID: id,
                patientID: type == "Patient" ? id : nil, priority: priority, maxRetries: RecordContext.clinicMaxRetries),
            resourceJSON: json)
    }
}
