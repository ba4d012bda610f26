import Foundation
import SehatFHIR
import SehatStore

/// What recording a panic report produced.
public struct RecordedPanic: Sendable, Equatable {
    /// The emergency id, sent to the emergency service as `emergency_id`.
    public let emergencyID: String
    /// The webhook `event_id`: the same on every retry, so the receiver can de-duplicate.
    public let eventID: String
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
                                      victim_age, victim_gender, reporter, created_at)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """,
            [
                .text(emergencyID), .text(eventID), .text(reportedAt), .real(report.latitude), .real(report.longitude),
                SQLValue(report.address), .text(report.severity.rawValue), .text(report.type), SQLValue(report.victimAge),
                SQLValue(report.victimGender?.rawValue), SQLValue(report.reporter), .text(context.stamp),
            ])
        let envelope = PanicRecorder.envelope(eventID: eventID, emergencyID: emergencyID, reportedAt: reportedAt, report: report, now: context.stamp)
        let item = try context.outbox.enqueue(
            NewOutboxItem(
                lane: .emergency, queue: PanicRecorder.queue, target: .emergency, operation: .notify, reportID: emergencyID,
                payload: envelope, priority: report.severity.priority, maxRetries: RecordContext.emergencyMaxRetries),
            resourceJSON: nil)
        return RecordedPanic(emergencyID: emergencyID, eventID: eventID, outboxItemIDs: [item])
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
