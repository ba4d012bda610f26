import SehatFHIR

/// One outbox item claimed for sending, with what the request needs.
struct ClaimedItem: Sendable {
    let id: Int64
    let operation: Operation
    let target: Target
    let resourceType: String?
    let resourceID: String?
    let reportID: String?
    let groupID: String?
    /// The item's own payload, when it differs from the resource's current JSON.
    let payload: JSON?
    /// The resource's current JSON (with local references).
    let resource: JSON?
    /// The business identifier the item is searched by.
    let identifier: BusinessIdentifier?
    /// The server id, once known.
    let serverID: String?
    let attempts: Int
    let maxRetries: Int
    let lane: Lane
    let needsCheck: Bool

    /// What this item sends when it goes alone.
    var body: JSON? { payload ?? resource }
}

/// What the engine sends in one go: a transaction bundle of a group, or one request.
struct WorkUnit: Sendable {
    enum Kind: Sendable, Equatable {
        case bundle
        case single
    }

    let kind: Kind
    let items: [ClaimedItem]
}
