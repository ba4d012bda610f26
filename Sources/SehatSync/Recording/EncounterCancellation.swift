import Foundation
import SehatFHIR
import SehatJSON
import SehatStore

/// What cancelling a visit did.
public struct CancelledEncounter: Sendable, Equatable {
    /// The encounter's local id.
    public let encounterID: String
    /// Resources the server has (or may have): each queued to become `entered-in-error` there.
    public let withdrawnOnServer: [String]
    /// Outbox items that never reached the server: withdrawn, they never leave.
    public let droppedItems: [Int64]
    /// The update items queued.
    public let outboxItemIDs: [Int64]
}

/// Cancels a recorded visit (`sehat encounter cancel`): what never left the device never
/// will; what the server has, or may have (sent with no answer yet, or in flight), becomes
/// `entered-in-error` there by an update queued after whatever is in flight for it. Every
/// changed resource keeps its previous version in `resource_history` with the reason.
struct EncounterCancellation {
    let context: RecordContext

    func cancel(number: String, reason: String) throws -> CancelledEncounter {
        let conn = context.connection
        try InputLimits.checkText(reason, field: "reason", max: InputLimits.textLength, multiline: true)
        guard !reason.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else { throw FieldError("reason", "is required: say why the visit is cancelled") }
        guard let encounter = try conn.queryFirst("SELECT local_id, cancelled_at FROM encounters WHERE number = ?", [.text(number)]) else {
            throw FieldError("number", "no encounter \(FieldError.quote(number)) is recorded on this device")
        }
        let encounterID = try encounter.string("local_id")
        if let at = encounter.optionalString("cancelled_at") { throw FieldError("number", "encounter \(number) was already cancelled at \(at)") }

        var withdrawn: [String] = []
        var dropped: [Int64] = []
        var queued: [Int64] = []
        let resources = try conn.query("SELECT local_id, resource_type, json FROM resources WHERE encounter_id = ? ORDER BY created_at, local_id",
                                       [.text(encounterID)])
        for resource in resources {
            let localID = try resource.string("local_id")
            let items = try conn.query("SELECT id, operation, status, attempts, needs_check FROM outbox WHERE resource_id = ? ORDER BY id", [.text(localID)])
            guard let create = items.first(where: { $0["operation"].string == Operation.create.rawValue }) else { continue }
            let status = ItemStatus(rawValue: create["status"].string ?? "") ?? .pending
            // On the server, or maybe: completed, in flight, or sent with the answer lost.
            let mayBeOnServer = status == .completed || status == .processing || create["needs_check"].int == 1
            if !mayBeOnServer {
                for item in items {
                    guard let id = item["id"].int64 else { continue }
                    try context.outbox.withdraw(id, reason: "encounter \(number) cancelled: \(reason)")
                    dropped.append(id)
                }
                continue
            }
            guard let current = try? JSON.parse(try resource.string("json")), let entered = Withdrawal.enteredInError(current) else { continue }
            // Updates of this resource still waiting are superseded; one in flight goes first.
            var after: [Int64] = []
            for item in items.dropFirst() where item["operation"].string == Operation.update.rawValue {
                guard let id = item["id"].int64 else { continue }
                switch ItemStatus(rawValue: item["status"].string ?? "") {
                case .processing?: after.append(id)
                case .completed?: break
                default:
                    try context.outbox.withdraw(id, reason: "superseded: encounter \(number) cancelled")
                    dropped.append(id)
                }
            }
            try conn.execute("INSERT INTO resource_history(local_id, json, change, reason, recorded_at) VALUES (?, ?, 'cancelled', ?, ?)",
                             [.text(localID), .text(current.text), .text(reason), .text(context.stamp)])
            try conn.execute("UPDATE resources SET json = ?, updated_at = ? WHERE local_id = ?", [.text(entered.text), .text(context.stamp), .text(localID)])
            let type = try resource.string("resource_type")
            queued.append(try context.outbox.enqueue(
                NewOutboxItem(queue: context.clinicQueue(type), operation: .update, resourceType: type, resourceID: localID, encounterID: encounterID,
                              payload: entered, priority: ClinicPriority.encounter, maxRetries: RecordContext.clinicMaxRetries, extraDependencies: after),
                resourceJSON: entered))
            withdrawn.append(localID)
        }
        try conn.execute("UPDATE encounters SET cancelled_at = ?, cancel_reason = ? WHERE local_id = ?",
                         [.text(context.stamp), .text(reason), .text(encounterID)])
        return CancelledEncounter(encounterID: encounterID, withdrawnOnServer: withdrawn, droppedItems: dropped, outboxItemIDs: queued)
    }
}
