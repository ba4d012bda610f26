import Foundation

/// What `sehat status` shows and an app displays: the queue, what needs a person, the link.
public struct SyncStatus: Sendable {
    /// Items per lane and status.
    public let counts: [OutboxCount]
    /// Items flagged after max retries (still retrying).
    public let escalated: Int
    /// Alerts raised for a person.
    public let alerts: Int
    /// The simulated link, as testers set it (online unless changed).
    public let link: LinkState
    /// The newest unresolved error, if any.
    public let lastError: String?
    /// The latest check of each endpoint.
    public let health: [HealthCheck]
    /// Set while SATUSEHAT's token endpoint refuses the device's credentials.
    public var authFailure: String? = nil
    /// Per resource type, resources recorded and sent (what "not yet synced" counts). Filled in
    /// the engine's status stream (counted at most once a second); `SehatClient.status()`
    /// leaves it empty to stay fast — `SehatClient.progress()` counts it on demand.
    public var progress: [ResourceProgress] = []
    /// The newest acknowledged request per destination (absent: none yet).
    public var lastSuccess: [Target: Date] = [:]

    /// How many items have `status` (in `lane`, or in both).
    public func count(_ status: ItemStatus, lane: Lane? = nil) -> Int {
        counts.filter { $0.status == status && (lane == nil || $0.lane == lane) }.reduce(0) { $0 + $1.count }
    }

    /// Online as far as the device knows: the link is not down and the latest FHIR check answered.
    public var online: Bool {
        link.mode != .offline && health.first { $0.endpoint == .satusehatFHIR }.map { $0.status != .unhealthy } ?? true
    }
}

/// One resource type: how many resources were recorded, and how many the server has with
/// every change. A resource counts once however many changes it queued; withdrawn ones do not
/// count; a webhook to the emergency service counts as its own resource (by its queue).
public struct ResourceProgress: Sendable, Equatable {
    /// The FHIR type (or the queue, for webhooks).
    public let resourceType: String
    /// Resources recorded.
    public let recorded: Int
    /// Of those, delivered with every change.
    public let sent: Int

    /// Recorded and not yet sent.
    public var unsynced: Int { recorded - sent }
}
