import Foundation
import SehatFHIR
import SehatJSON
import SehatStore

/// Why a resource's previous version was kept.
public enum ResourceChange: String, Sendable, CaseIterable {
    /// Changed by an amendment or a correction of a person.
    case amended
    /// Withdrawn (`entered-in-error`): its visit was cancelled, or the part removed from it.
    case cancelled
    /// A person kept the server's version in a version conflict, over the local one.
    case serverKept = "server_kept"
}

/// One kept version of a resource: what it was before a change, and what the change was based on.
public struct ResourceHistoryEntry: Sendable, Equatable {
    /// The resource's local id.
    public let resourceID: String
    /// Its FHIR type.
    public let resourceType: String
    /// The version before the change.
    public let previous: JSON
    /// What kind of change it was.
    public let change: ResourceChange
    /// Why, as the person gave it.
    public let reason: String
    /// When (FHIR dateTime).
    public let recordedAt: String
    /// Whether the server had (or may have had) the resource when it changed; nil for changes
    /// kept before the device recorded this.
    public let onServer: Bool?
    /// The server's version the change was based on (its update carries it in `If-Match`); nil
    /// with `onServer` true means the server named no version: the last change wins.
    public let baseVersion: String?
    /// Who made the change, when they said.
    public let changedBy: String?
}

/// `resource_history`: the previous version of every changed resource. Appended to, never
/// edited — who changed what, when, why, and what the server held then.
struct ResourceHistory {
    let connection: Connection
    let stamp: String
    var author: String?

    /// Keeps `previous` as `localID`'s version before `change`, with whether the server had it
    /// (its id is known, or its create may have arrived) and the server's version then.
    func keep(_ localID: String, previous: String, change: ResourceChange, reason: String) throws {
        guard let resource = try connection.queryFirst("SELECT server_id, server_version FROM resources WHERE local_id = ?", [.text(localID)]) else {
            return
        }
        let create = try connection.queryFirst(
            "SELECT status, needs_check FROM outbox WHERE resource_id = ? AND operation = 'create' AND withdrawn = 0 ORDER BY id LIMIT 1", [.text(localID)])
        let onServer = resource.optionalString("server_id") != nil
            || create.map { OutboxLifecycle.mayBeOnServer(createStatus: ItemStatus(rawValue: $0["status"].string ?? ""), needsCheck: $0["needs_check"].int == 1) }
                ?? false
        try connection.execute(
            """
            INSERT INTO resource_history(local_id, json, change, reason, recorded_at, changed_by, on_server, base_version)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?)
            """, [.text(localID), .text(previous), .text(change.rawValue), .text(reason), .text(stamp), SQLValue(author), .integer(onServer ? 1 : 0),
                  resource["server_version"]])
    }

    /// Every kept version of the resources of one visit (the Encounter and what was recorded in
    /// it), oldest first.
    func entries(ofEncounter encounterID: String) throws -> [ResourceHistoryEntry] {
        try connection.query(
            """
            SELECT h.local_id, r.resource_type, h.json, h.change, h.reason, h.recorded_at, h.on_server, h.base_version, h.changed_by
            FROM resource_history h JOIN resources r ON r.local_id = h.local_id
            WHERE r.local_id = ? OR r.encounter_id = ? ORDER BY h.id
            """, [.text(encounterID), .text(encounterID)]
        ).map { row in
            ResourceHistoryEntry(
                resourceID: try row.string("local_id"), resourceType: try row.string("resource_type"), previous: try JSON.parse(try row.string("json")),
                change: ResourceChange(rawValue: try row.string("change")) ?? .amended, reason: try row.string("reason"),
                recordedAt: try row.string("recorded_at"), onServer: row["on_server"].int.map { $0 == 1 }, baseVersion: row.optionalString("base_version"),
                changedBy: row.optionalString("changed_by"))
        }
    }
}
