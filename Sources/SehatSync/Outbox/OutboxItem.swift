/// The lane an item travels in: emergency work always goes before clinic work.
public enum Lane: String, Sendable, CaseIterable {
    case emergency
    case clinic
}

/// Where an item is in its life.
public enum ItemStatus: String, Sendable, CaseIterable {
    /// Waiting: ready once due and its dependencies are completed.
    case pending
    /// Handed to a transport; goes back to pending if the process dies.
    case processing
    case completed
    /// Refused by the server (client error); kept for a person to fix.
    case failed
    /// Given up on, with the reason; never dropped.
    case dead
    /// Waiting on something other than time: a failed dependency, consent, a registration.
    case held
}

/// What an item does on the server.
public enum Operation: String, Sendable, CaseIterable {
    /// POST a new resource.
    case create
    /// PUT a new version of a resource already created.
    case update
    /// Search a resource the server already has (Patient and Practitioner by NIK).
    case lookup
    /// Deliver a webhook to the emergency service.
    case notify
}

/// Who receives an item.
public enum Target: String, Sendable, CaseIterable {
    case satusehat
    case emergency
}

/// One queued operation, as read back from the outbox.
public struct OutboxItem: Sendable, Equatable {
    public let id: Int64
    public let lane: Lane
    /// `{service}.{operation}.{priority}`, e.g. `notification.emergency.critical`.
    public let queue: String
    public let target: Target
    public let operation: Operation
    public let resourceType: String?
    public let resourceID: String?
    public let reportID: String?
    public let encounterID: String?
    public let priority: Int
    public let status: ItemStatus
    public let attempts: Int
    public let maxRetries: Int
    /// Unix milliseconds.
    public let nextAttemptAt: Int64
    public let dependsOn: [Int64]
    /// How many of `dependsOn` are not completed yet.
    public let unresolvedDependencies: Int
    public let heldReason: String?
    public let lastError: String?
}

/// How many items are in one lane and status.
public struct OutboxCount: Sendable, Equatable {
    public let lane: Lane
    public let status: ItemStatus
    public let count: Int
}
