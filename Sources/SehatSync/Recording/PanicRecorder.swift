import Foundation
import SehatFHIR
import SehatJSON
import SehatStore

/// What recording a panic report produced.
public struct RecordedPanic: Sendable, Equatable {
    /// The emergency id, sent to the emergency service as `emergency_id`.
    public let emergencyID: String
    /// The webhook `event_id`: the same on every retry, so the receiver can de-duplicate.
    public let eventID: String
    /// The items queued: the notification, then the SATUSEHAT side.
    public let outboxItemIDs: [Int64]
}

/// Stores a panic report and queues its delivery to the emergency service in the same
/// transaction, in the emergency lane (`notification.emergency.critical`).
struct PanicRecorder {
    static let queue = "notification.emergency.critical"
    let context: RecordContext

    func record(_ report: PanicReport) throws -> RecordedPanic {
        let emergencyID = context.newID()
        let eventID = "evt_" + context.newID().replacingOccurrences(of: "-", with: "")
        let reportedAt = FHIRDateTime.format(report.reportedAt ?? context.now)
        try context.connection.execute(
            """
            INSERT INTO panic_reports(emergency_id, event_id, reported_at, latitude, longitude, address, severity, type,
                                      victim_age, victim_gender, reporter, victim_nik, volunteer_nik, referral, created_at)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """,
            [
                .text(emergencyID), .text(eventID), .text(reportedAt), .real(report.latitude), .real(report.longitude),
                SQLValue(report.address), .text(report.severity.rawValue), .text(report.type), SQLValue(report.victimAge),
                SQLValue(report.victimGender?.rawValue), SQLValue(report.reporter), SQLValue(report.victimNIK), SQLValue(report.volunteerNIK),
                .integer(report.referral ? 1 : 0), .text(context.stamp),
            ])
        let envelope = PanicRecorder.envelope(eventID: eventID, emergencyID: emergencyID, reportedAt: reportedAt, report: report, now: context.stamp)
        let item = try context.outbox.enqueue(
            NewOutboxItem(
                lane: .emergency, queue: PanicRecorder.queue, target: .emergency, operation: .notify, reportID: emergencyID,
                payload: envelope, priority: report.severity.priority, maxRetries: RecordContext.emergencyMaxRetries),
            resourceJSON: nil)
        var items = [item]
        if let victimNIK = report.victimNIK, let volunteerNIK = report.volunteerNIK {
            items += try queueSATUSEHAT(report, emergencyID: emergencyID, at: report.reportedAt ?? context.now, victimNIK: victimNIK, volunteerNIK: volunteerNIK)
        } else {
            let missing = report.victimNIK == nil ? "the victim's NIK" : "the responding volunteer's NIK"
            try context.connection.execute("UPDATE panic_reports SET satusehat_note = ? WHERE emergency_id = ?",
                                           [.text("kept on the device only: \(missing) is not known, so nothing goes to SATUSEHAT"), .text(emergencyID)])
        }
        return RecordedPanic(emergencyID: emergencyID, eventID: eventID, outboxItemIDs: items)
    }

    /// The SATUSEHAT side, in the emergency lane as one group: the site, an EMER Encounter,
    /// the Observation and the referral, after the victim's and volunteer's lookups.
    private func queueSATUSEHAT(_ report: PanicReport, emergencyID: String, at: Date, victimNIK: String, volunteerNIK: String) throws -> [Int64] {
        var items: [Int64] = []
        let victim = try person("Patient", nik: victimNIK, name: nil, items: &items)
        let volunteer = try person("Practitioner", nik: volunteerNIK, name: report.volunteerName, items: &items)
        let siteID = context.newID()
        let encounterID = context.newID()
        let observationID = context.newID()
        let b = EmergencyBuilder(orgID: context.orgID, emergencyID: emergencyID, victim: victim, volunteer: volunteer,
                                 encounter: Link("Encounter", encounterID))
        let site = Link("Location", siteID, display: "Lokasi darurat")
        let encounter = EncounterBuilder(orgID: context.orgID, patient: victim, practitioner: volunteer, location: site, encounter: b.encounter)
            .encounter(identifier: "emergency-\(emergencyID)", classCode: "EMER", arrivedAt: at, inProgressAt: at, finishedAt: nil)
        var resources: [(String, BusinessIdentifier, JSON)] = [
            (siteID, b.identifier("location"), b.site(latitude: report.latitude, longitude: report.longitude, address: report.address)),
            (encounterID, BusinessIdentifier(system: Systems.business("encounter", org: context.orgID), value: "emergency-\(emergencyID)"), encounter),
            (observationID, b.identifier("observation"), b.observation(severity: report.severity.rawValue, type: report.type, at: at)),
        ]
        if report.referral {
            resources.append((context.newID(), b.identifier("servicerequest", suffix: "-referral"), b.referral(at: at, reason: Link("Observation", observationID))))
        }
        for (id, identifier, json) in resources {
            try context.insertResource(localID: id, identifier: identifier, json: json, encounterID: encounterID)
            let type = json["resourceType"]?.stringValue ?? ""
            items.append(try context.outbox.enqueue(
                NewOutboxItem(lane: .emergency, queue: PanicRecorder.satusehatQueue, operation: .create, resourceType: type, resourceID: id,
                              groupID: "emergency:\(emergencyID)", priority: PanicRecorder.satusehatPriority(report.severity),
                              maxRetries: RecordContext.clinicMaxRetries),
                resourceJSON: json))
        }
        return items
    }

    static let satusehatQueue = "satusehat.emergency.critical"

    /// The SATUSEHAT side of an emergency goes after every notification to the emergency
    /// service (0–3 by severity): 4–7 by severity.
    static func satusehatPriority(_ severity: Severity) -> Int { 4 + severity.priority }

    /// The emergency service acknowledged the report's notification.
    static func markNotified(_ emergencyID: String, _ conn: Connection) throws {
        try conn.execute("UPDATE panic_reports SET status = 'notified' WHERE emergency_id = ? AND status = 'reported'", [.text(emergencyID)])
    }

    /// The victim or volunteer as a local resource: a registered person, or a stand-in known
    /// by NIK. Whatever still has to be found (or created) on the server moves to the
    /// emergency lane, so the emergency never waits behind clinic work.
    private func person(_ type: String, nik: String, name: String?, items: inout [Int64]) throws -> Link {
        let conn = context.connection
        let table = type == "Patient" ? "patients" : "practitioners"
        let known = try conn.scalar("SELECT name FROM \(table) WHERE nik = ?", [.text(nik)]).string
        if let id = try conn.scalar(
            "SELECT local_id FROM resources WHERE resource_type = ? AND identifier_system = ? AND identifier_value = ?",
            [.text(type), .text(Systems.nik), .text(nik)]).string
        {
            try context.outbox.moveToEmergencyLane(resource: id, priority: PanicRecorder.satusehatPriority(.critical))
            return Link(type, id, display: known ?? name)
        }
        let id = context.newID()
        let json = JSON.obj([
            "resourceType": .string(type), "identifier": [BusinessIdentifier(system: Systems.nik, value: nik).json],
            "name": name.map { [.obj(["text": .string($0)])] },
        ])
        try context.insertResource(localID: id, identifier: BusinessIdentifier(system: Systems.nik, value: nik), json: json)
        items.append(try context.outbox.enqueue(
            NewOutboxItem(lane: .emergency, queue: PanicRecorder.satusehatQueue, operation: context.profile == .satusehat ? .lookup : .create,
                          resourceType: type, resourceID: id, priority: PanicRecorder.satusehatPriority(.critical),
                          maxRetries: RecordContext.clinicMaxRetries),
            resourceJSON: json))
        return Link(type, id, display: name)
    }

    /// The webhook envelope `{event_id, event_type, timestamp, data}` around the PSC 119
    /// notification payload (seeds/000, "Webhook Format" and "Data Exchange").
    static func envelope(eventID: String, emergencyID: String, reportedAt: String, report: PanicReport, now: String) -> JSON {
        .obj([
            "event_id": .string(eventID),
            "event_type": "emergency.created",
            "timestamp": .string(now),
            "data": .obj([
                "emergency_id": .string(emergencyID),
                "reported_at": .string(reportedAt),
                "location": .obj([
                    "latitude": .double(report.latitude), "longitude": .double(report.longitude),
                    "address": report.address.map(JSON.string),
                ]),
                "severity": .string(report.severity.rawValue),
                "type": .string(report.type),
                "victim_age": report.victimAge.map(JSON.int),
                "victim_gender": report.victimGender.map { .string($0.rawValue) },
            ]),
        ])
    }
}
