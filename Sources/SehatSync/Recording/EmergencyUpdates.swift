import Foundation
import SehatFHIR
import SehatJSON
import SehatStore

/// Where an emergency stands: recorded and notified on the device, then as the emergency
/// service (PSC 119) and the volunteer report it.
public enum EmergencyStatus: String, Sendable, CaseIterable {
    /// Recorded on the device, not yet acknowledged by the emergency service.
    case reported
    /// The emergency service acknowledged the notification.
    case notified
    case dispatching, dispatched
    case enRoute = "en_route"
    case onScene = "on_scene"
    case transporting, closed, cancelled

    /// The statuses a volunteer may report and PSC 119's callbacks use.
    public static let reportable: [EmergencyStatus] = [.dispatching, .dispatched, .enRoute, .onScene, .transporting, .closed, .cancelled]
}

/// A panic report as the device knows it now.
public struct EmergencySummary: Sendable, Equatable {
    /// The emergency id, as the emergency service knows it.
    public let emergencyID: String
    /// The webhook `event_id` of its notification.
    public let eventID: String
    /// When it was reported (UTC, RFC 3339).
    public let reportedAt: String
    /// How severe it is.
    public let severity: Severity
    /// What happened (`cardiac_arrest`, `traffic_accident`, …).
    public let type: String
    /// Where it stands.
    public let status: EmergencyStatus
    /// The ambulance's ETA, when the emergency service gave one.
    public let etaMinutes: Int?
    /// The ambulance dispatched, when known.
    public let ambulanceID: String?
    /// Why it stayed on the device, when it did not go to SATUSEHAT.
    public let satusehatNote: String?
    /// The notification's outbox status.
    public let delivery: ItemStatus?
}

/// Status in both directions: what the volunteer reports to the emergency service, and what
/// the emergency service (PSC 119) reports back through its callbacks.
struct EmergencyUpdates {
    let context: RecordContext

    private static var allowed: String { EmergencyStatus.reportable.map(\.rawValue).sorted().joined(separator: ", ") }
    static let callbacks: Set<String> = ["ambulance-dispatch", "emergency-update", "ambulance.dispatched", "emergency.updated"]

    private func requireReport(_ id: String) throws {
        guard try context.connection.scalar("SELECT 1 FROM panic_reports WHERE emergency_id = ?", [.text(id)]).int == 1 else {
            throw FieldError("id", "there is no emergency \(id) on this device")
        }
    }

    /// Queues `PUT /api/emergency/{id}/status`, after the notification.
    func queueStatus(_ emergencyID: String, status: EmergencyStatus, note: String?) throws -> Int64 {
        try requireReport(emergencyID)
        if let note { try InputLimits.checkText(note, field: "note", max: InputLimits.textLength, multiline: true) }
        guard EmergencyStatus.reportable.contains(status) else { throw FieldError("status", "must be one of \(EmergencyUpdates.allowed)") }
        let notify = try context.connection.scalar(
            "SELECT id FROM outbox WHERE report_id = ? AND operation = 'notify' ORDER BY id LIMIT 1", [.text(emergencyID)]).int64
        let payload = JSON.obj(["emergency_id": .string(emergencyID), "status": .string(status.rawValue), "note": note.map(JSON.string),
                                "updated_at": .string(context.stamp)])
        try context.connection.execute("UPDATE panic_reports SET status = ?, status_updated_at = ? WHERE emergency_id = ?",
                                       [.text(status.rawValue), .text(context.stamp), .text(emergencyID)])
        return try context.outbox.enqueue(
            NewOutboxItem(lane: .emergency, queue: PanicRecorder.queue, target: .emergency, operation: .update, reportID: emergencyID,
                          payload: payload, priority: 0, maxRetries: RecordContext.emergencyMaxRetries,
                          extraDependencies: notify.map { [$0] } ?? []),
            resourceJSON: nil)
    }

    /// Applies a callback from the emergency service: dispatch, ETA, status, closure.
    func apply(_ emergencyID: String, callback: JSON) throws {
        try requireReport(emergencyID)
        let doc = try DocumentFields(callback)
        let event = try doc.string("event_type")
        guard EmergencyUpdates.callbacks.contains(event) else {
            throw FieldError("event_type", "must be ambulance-dispatch or emergency-update, got \"\(event)\"")
        }
        let data = try doc.object("data") ?? doc
        let status = try data.optionalString("status")
        if let status, !EmergencyStatus.reportable.contains(where: { $0.rawValue == status }) {
            throw FieldError("\(data.path.isEmpty ? "" : data.path + ".")status", "must be one of \(EmergencyUpdates.allowed)")
        }
        // An ETA comes from an outside service: a whole number of minutes, at most a day.
        let eta = try data.optionalInt("eta_minutes", 0...1440)
        let ambulance = try data.optionalIdentifier("ambulance_id")
        try context.connection.execute(
            """
            UPDATE panic_reports SET status = coalesce(?, status), eta_minutes = coalesce(?, eta_minutes),
                                     ambulance_id = coalesce(?, ambulance_id), status_updated_at = ?
            WHERE emergency_id = ?
            """, [SQLValue(status), SQLValue(eta), SQLValue(ambulance), .text(context.stamp), .text(emergencyID)])
        try context.connection.execute(
            "INSERT INTO emergency_updates(emergency_id, event_type, status, eta_minutes, ambulance_id, payload, received_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
            [.text(emergencyID), .text(event), SQLValue(status), SQLValue(eta), SQLValue(ambulance), .text(callback.text), .text(context.stamp)])
    }

    static func list(_ conn: Connection) throws -> [EmergencySummary] {
        try conn.query(
            """
            SELECT p.*, (SELECT status FROM outbox WHERE report_id = p.emergency_id AND operation = 'notify' ORDER BY id LIMIT 1) AS delivery
            FROM panic_reports p ORDER BY p.reported_at DESC
            """
        ).map { row in
            EmergencySummary(
                emergencyID: row["emergency_id"].string ?? "", eventID: row["event_id"].string ?? "", reportedAt: row["reported_at"].string ?? "",
                severity: Severity(rawValue: row["severity"].string ?? "") ?? .critical, type: row["type"].string ?? "",
                status: EmergencyStatus(rawValue: row["status"].string ?? "") ?? .reported,
                etaMinutes: row.optionalInt("eta_minutes"), ambulanceID: row.optionalString("ambulance_id"),
                satusehatNote: row.optionalString("satusehat_note"), delivery: row.optionalString("delivery").flatMap(ItemStatus.init))
        }
    }
}
