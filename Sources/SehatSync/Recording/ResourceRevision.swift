import Foundation
import SehatFHIR
import SehatJSON
import SehatStore

/// Makes the new version of a stored resource travel (an amended visit, a corrected person):
/// through its create when the server does not have it yet (a refused create is revived, so
/// what it held is released; an Encounter's create takes its new `arrived` snapshot), else by
/// an update that sends the stored version when it leaves, queued after whatever is in flight
/// for it, so the last correction wins. A resource established by a lookup (a SATUSEHAT
/// patient or practitioner) has nothing to send: the device does not change the national record.
struct ResourceRevision {
    let context: RecordContext

    func publish(_ resourceID: String, json: JSON, arrived: String? = nil) throws -> (resent: [Int64], queued: [Int64]) {
        let conn = context.connection
        try VersionConflicts(connection: conn, stamp: context.stamp).requireNone(on: resourceID, type: json["resourceType"]?.stringValue)
        let items = try conn.query("SELECT id, operation, status, needs_check, payload FROM outbox WHERE resource_id = ? AND withdrawn = 0 ORDER BY id",
                                   [.text(resourceID)])
        guard let create = items.first(where: { $0["operation"].string == Operation.create.rawValue }), let createID = create["id"].int64 else {
            return ([], [])
        }
        let mayBeOnServer = OutboxLifecycle.mayBeOnServer(createStatus: ItemStatus(rawValue: create["status"].string ?? ""),
                                                          needsCheck: create["needs_check"].int == 1)
        var resent: [Int64] = []
        if !mayBeOnServer {
            // The create sends the stored (now amended) resource; the Encounter's carries its arrived snapshot.
            if let arrived, let snapshot = try? JSON.parse(arrived) { try context.outbox.replacePayload(createID, with: snapshot) }
            for item in items {
                guard let id = item["id"].int64, [ItemStatus.failed, .dead].contains(ItemStatus(rawValue: item["status"].string ?? "") ?? .pending) else { continue }
                try context.outbox.revive(id)
                resent.append(id)
            }
            return (resent, [])
        }
        // On the server: an update that has not left yet sends the stored version anyway; else queue one.
        var inFlight: [Int64] = []
        var waiting = false
        for item in items.dropFirst() where item["operation"].string == Operation.update.rawValue {
            guard let id = item["id"].int64 else { continue }
            switch ItemStatus(rawValue: item["status"].string ?? "") {
            case .processing?: inFlight.append(id)
            case .pending?, .held?: if item["payload"].isNull { waiting = true }
            case .failed?, .dead?:
                if item["payload"].isNull {
                    try context.outbox.revive(id)
                    resent.append(id)
                    waiting = true
                }
            default: break
            }
        }
        if waiting && inFlight.isEmpty { return (resent, []) }
        let type = json["resourceType"]?.stringValue ?? ""
        let update = try context.outbox.enqueue(
            NewOutboxItem(queue: context.clinicQueue(type), operation: .update, resourceType: type, resourceID: resourceID,
                          encounterID: try conn.scalar("SELECT encounter_id FROM resources WHERE local_id = ?", [.text(resourceID)]).string,
                          payload: nil, priority: ClinicPriority.encounter, maxRetries: RecordContext.clinicMaxRetries, extraDependencies: inFlight),
            resourceJSON: json)
        return (resent, [update])
    }

}
