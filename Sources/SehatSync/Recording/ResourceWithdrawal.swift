import Foundation
import SehatFHIR
import SehatJSON
import SehatStore

/// Withdraws one resource of a visit (a cancelled visit, a part removed by an amendment): if it
/// never reached the server its items are withdrawn and it never leaves; if the server has it,
/// or may have it (completed, in flight, or sent with the answer lost), it becomes
/// `entered-in-error` there by an update queued after whatever is in flight for it. The previous
/// version is kept in `resource_history`.
struct ResourceWithdrawal {
    let context: RecordContext

    /// What withdrawing one resource did.
    struct Outcome {
        /// Whether the server has (or may have) it: an update was queued.
        var onServer = false
        var dropped: [Int64] = []
        var queued: [Int64] = []
    }

    func withdraw(_ localID: String, change: ResourceChange, reason: String, note: String) throws -> Outcome {
        let conn = context.connection
        var outcome = Outcome()
        guard let resource = try conn.queryFirst("SELECT resource_type, json, encounter_id FROM resources WHERE local_id = ?", [.text(localID)]) else {
            return outcome
        }
        try VersionConflicts(connection: conn, stamp: context.stamp).requireNone(on: localID, type: resource.optionalString("resource_type"))
        let items = try conn.query("SELECT id, operation, status, needs_check FROM outbox WHERE resource_id = ? AND withdrawn = 0 ORDER BY id",
                                   [.text(localID)])
        guard let create = items.first(where: { $0["operation"].string == Operation.create.rawValue }) else { return outcome }
        let mayBeOnServer = OutboxLifecycle.mayBeOnServer(createStatus: ItemStatus(rawValue: create["status"].string ?? ""),
                                                          needsCheck: create["needs_check"].int == 1)
        if !mayBeOnServer {
            for item in items {
                guard let id = item["id"].int64 else { continue }
                try context.outbox.withdraw(id, reason: note)
                outcome.dropped.append(id)
            }
            return outcome
        }
        guard let current = try? JSON.parse(try resource.string("json")), let entered = Withdrawal.enteredInError(current) else { return outcome }
        // Updates of it still waiting are superseded; one in flight goes first.
        var after: [Int64] = []
        for item in items.dropFirst() where item["operation"].string == Operation.update.rawValue {
            guard let id = item["id"].int64 else { continue }
            switch ItemStatus(rawValue: item["status"].string ?? "") {
            case .processing?: after.append(id)
            case .completed?: break
            default:
                try context.outbox.withdraw(id, reason: "superseded: " + note)
                outcome.dropped.append(id)
            }
        }
        try context.history.keep(localID, previous: current.text, change: change, reason: reason)
        try conn.execute("UPDATE resources SET json = ?, updated_at = ? WHERE local_id = ?", [.text(entered.text), .text(context.stamp), .text(localID)])
        let type = try resource.string("resource_type")
        outcome.queued.append(try context.outbox.enqueue(
            NewOutboxItem(queue: context.clinicQueue(type), operation: .update, resourceType: type, resourceID: localID,
                          encounterID: resource.optionalString("encounter_id"), payload: entered, priority: ClinicPriority.encounter,
                          maxRetries: RecordContext.clinicMaxRetries, extraDependencies: after),
            resourceJSON: entered))
        outcome.onServer = true
        return outcome
    }
}
