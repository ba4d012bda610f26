import SehatFHIR
import SehatJSON

/// One outbox item claimed for sending, with everything building its request needs, so
/// building touches no database.
struct ClaimedItem: Sendable, Equatable {
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
    /// The resource's server id, once known.
    var serverID: String?
    /// The server's version of the resource as last seen (an update sends it in `If-Match`);
    /// nil when the server named none: the update then goes without, and the last one wins.
    var serverVersion: String?
    /// For an update: the resource's earlier versions on this device (local references), newest
    /// first. A server version equal to one of them is the device's own write whose answer was
    /// lost (a kill, a dropped connection), not someone else's change.
    var earlierVersions: [JSON] = []
    /// Every local resource the item's body references, with its server id once known
    /// (resolved when the item was claimed; ids not in it are not local: server ids already).
    var references: [String: String?] = [:]
    let attempts: Int
    let maxRetries: Int
    let lane: Lane
    let needsCheck: Bool

    /// What this item sends when it goes alone.
    var body: JSON? { payload ?? resource }

    /// A create whose resource references itself (`hasMember` → itself): it cannot name its
    /// own server id before it has one, so it travels as a one-entry transaction bundle,
    /// where the reference is its `urn:uuid:`.
    var createsSelfReference: Bool {
        guard operation == .create, let resourceID else { return false }
        return references.keys.contains(resourceID)
    }

    /// The same item, knowing server ids found since it was claimed (a check found a
    /// resource on the server before the unit was sent).
    func knowing(_ found: [String: (id: String, version: String?)]) -> ClaimedItem {
        var item = self
        for (localID, server) in found {
            if localID == resourceID { (item.serverID, item.serverVersion) = (server.id, server.version) }
            if item.references.keys.contains(localID) { item.references[localID] = server.id }
        }
        return item
    }
}

/// What the engine sends in one go: a transaction bundle of one group or of several packed
/// together (`parts`: the independent groups, so a refused pack can be split between them),
/// a batch of lookups, or one request.
struct WorkUnit: Sendable {
    enum Kind: Sendable, Equatable {
        case bundle
        /// Several lookups in one `batch` Bundle of searches.
        case searches
        case single
    }

    let kind: Kind
    /// The independent groups it carries, each in sequence order.
    let parts: [[ClaimedItem]]
    /// Every item, part by part.
    var items: [ClaimedItem] { parts.flatMap { $0 } }

    init(parts: [[ClaimedItem]]) {
        self.parts = parts
        let items = parts.flatMap { $0 }
        if items.count < 2 {
            kind = .single
        } else {
            kind = items.allSatisfy { $0.operation == .lookup } ? .searches : .bundle
        }
    }
}
