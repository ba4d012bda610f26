import Foundation
import SehatFHIR
import SehatJSON
import SehatStore

/// Raised when a record is attempted before `sehat init` / `SehatClient.configure`.
public struct NotConfiguredError: Error, Sendable, CustomStringConvertible {
    /// The error.
    public init() {}
    /// What happened, for a person.
    public var description: String { "this device is not set up yet: configure it first (SehatClient.configure)" }
}

/// What every recorder needs inside its write transaction: the connection, the time,
/// and the device's organization and profile.
struct RecordContext {
    let connection: Connection
    let now: Date
    let orgID: String
    let profile: Profile
    /// Who makes this change (a person's name or role), kept with the history; nil: not said.
    var author: String?

    init(connection: Connection, now: Date) throws {
        guard let row = try connection.queryFirst("SELECT org_id, profile FROM config WHERE id = 1") else { throw NotConfiguredError() }
        self.connection = connection
        self.now = now
        self.orgID = try row.string("org_id")
        self.profile = Profile(rawValue: try row.string("profile")) ?? .satusehat
    }

    var stamp: String { FHIRDateTime.format(now) }
    var outbox: OutboxLifecycle { OutboxLifecycle(connection: connection, now: now) }
    var history: ResourceHistory { ResourceHistory(connection: connection, stamp: stamp, author: author) }

    /// A new local id: a lowercase UUID, stable for the record's whole life.
    func newID() -> String { UUID().uuidString.lowercased() }

    /// Stores a resource with its business identifier, after checking it against the
    /// profile's rules (a builder bug must not reach the outbox).
    func insertResource(localID: String, identifier: BusinessIdentifier, json: JSON, encounterID: String? = nil) throws {
        try checkResource(json)
        try connection.execute(
            """
            INSERT INTO resources(local_id, resource_type, identifier_system, identifier_value, json, encounter_id, created_at, updated_at)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?)
            """,
            [
                .text(localID), .text(json["resourceType"]?.stringValue ?? ""), .text(identifier.system), .text(identifier.value),
                .text(json.text), SQLValue(encounterID), .text(stamp), .text(stamp),
            ]
        )
    }

    func checkResource(_ json: JSON) throws {
        let rulesProfile: ResourceRules.Profile = profile == .satusehat ? .satusehat : .fhir
        if let issue = ResourceRules.issues(in: json, profile: rulesProfile, now: now).first {
            let type = json["resourceType"]?.stringValue ?? "resource"
            throw FieldError("\(type).\(issue.field)", issue.reason)
        }
    }

    /// The queue name `{service}.{operation}.{priority}` for a SATUSEHAT resource.
    func clinicQueue(_ resourceType: String) -> String { "satusehat.\(resourceType.lowercased()).normal" }

    /// Retries before an item is escalated (SATUSEHAT spec: 3; emergency webhooks: 6).
    static let clinicMaxRetries = 3
    static let emergencyMaxRetries = 6
}

/// Outbox priorities in the clinic lane (lower goes first); dependencies decide order,
/// priority only breaks ties among ready items.
enum ClinicPriority {
    static let prerequisite = 10
    static let identity = 20
    static let encounter = 100
}
