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
        let resources = try conn.query("SELECT local_id FROM resources WHERE encounter_id = ? ORDER BY created_at, local_id",
                                       [.text(encounterID)])
        let withdrawal = ResourceWithdrawal(context: context)
        for resource in resources {
            let localID = try resource.string("local_id")
            let outcome = try withdrawal.withdraw(localID, change: .cancelled, reason: reason, note: "encounter \(number) cancelled: \(reason)")
            dropped += outcome.dropped
            queued += outcome.queued
            if outcome.onServer { withdrawn.append(localID) }
        }
        try conn.execute("UPDATE encounters SET cancelled_at = ?, cancel_reason = ? WHERE local_id = ?",
                         [.text(context.stamp), .text(reason), .text(encounterID)])
        return CancelledEncounter(encounterID: encounterID, withdrawnOnServer: withdrawn, droppedItems: dropped, outboxItemIDs: queued)
    }
}
