import Foundation
import SehatFHIR
import SehatJSON
import SehatStore

/// Which version a person keeps in a version conflict.
public enum ConflictChoice: String, Sendable, CaseIterable {
    /// The device's version: sent again, over the server's.
    case local
    /// The server's version: it becomes the device's, and nothing is sent.
    case server
}

/// An update the server refused because someone else changed the resource since the version
/// it was based on: both versions, kept until a person chooses (`SehatClient.resolveConflict`).
public struct VersionConflictDetail: Sendable, Equatable {
    /// The outbox item (the update) in conflict.
    public let itemID: Int64
    /// The resource's local id.
    public let resourceID: String
    /// The server version the update was based on (sent in `If-Match`).
    public let basedOn: String?
    /// The server's version found.
    public let serverVersion: String?
    /// The device's version, as its update sent it (references as server ids, like `server`'s).
    public let local: JSON
    /// The server's version, as the server answered it (its references are server ids).
    public let server: JSON
    /// When the conflict was found (FHIR dateTime).
    public let detectedAt: String
    /// What a person kept, once resolved.
    public let kept: ConflictChoice?
    /// When it was resolved.
    public let resolvedAt: String?
    /// Who resolved it, when they said.
    public let resolvedBy: String?

    /// The top-level members whose values differ between the two versions (the server's
    /// bookkeeping, `meta`, left out), in the local version's order then the server's.
    public var differingMembers: [String] {
        let local = Dictionary((self.local.members ?? []).map { ($0.key, $0.value.keyOrdered) }, uniquingKeysWith: { a, _ in a })
        let server = Dictionary((self.server.members ?? []).map { ($0.key, $0.value.keyOrdered) }, uniquingKeysWith: { a, _ in a })
        let keys = (self.local.members ?? []).map(\.key) + (self.server.members ?? []).map(\.key).filter { local[$0] == nil }
        return keys.filter { $0 != "meta" && $0 != "id" && local[$0] != server[$0] }
    }
}

/// `version_conflicts`: one row per conflict found, with both versions; at most one open per
/// item. Resolving records what was kept and when; rows are never deleted.
struct VersionConflicts {
    let connection: Connection
    let stamp: String

    /// Keeps a conflict found for `item`: the version the device sent and the server's.
    func record(_ conflict: VersionConflict, item: Int64, resourceID: String) throws {
        try connection.execute(
            """
            INSERT INTO version_conflicts(item_id, local_id, based_on, server_version, local_json, server_json, detected_at)
            VALUES (?, ?, ?, ?, ?, ?, ?)
            """, [.integer(item), .text(resourceID), SQLValue(conflict.basedOn), SQLValue(conflict.serverVersion), .text(conflict.sentResource.text),
                  .text(conflict.serverResource.text), .text(stamp)])
    }

    /// The latest conflict of an item (open or resolved), if it ever had one.
    func latest(item: Int64) throws -> VersionConflictDetail? {
        try connection.queryFirst("SELECT * FROM version_conflicts WHERE item_id = ? ORDER BY id DESC LIMIT 1", [.integer(item)]).map { row in
            VersionConflictDetail(
                itemID: item, resourceID: try row.string("local_id"), basedOn: row.optionalString("based_on"),
                serverVersion: row.optionalString("server_version"), local: try JSON.parse(try row.string("local_json")),
                server: try JSON.parse(try row.string("server_json")), detectedAt: try row.string("detected_at"),
                kept: row.optionalString("kept").flatMap(ConflictChoice.init), resolvedAt: row.optionalString("resolved_at"),
                resolvedBy: row.optionalString("resolved_by"))
        }
    }

    /// Refuses a further change of a resource whose update is in conflict: the choice still to
    /// be made would decide over it, so it is made first.
    func requireNone(on resourceID: String, type: String?) throws {
        guard let item = try connection.scalar("SELECT item_id FROM version_conflicts WHERE local_id = ? AND resolved_at IS NULL",
                                                [.text(resourceID)]).int64 else { return }
        throw FieldError("id", "\(type ?? "resource") \(resourceID) has a version conflict on the server (outbox item \(item)): "
            + "keep one version with `outbox resolve \(item) --keep local|server`, then change it")
    }

    /// Records a person's choice on the open conflict of `item`.
    func resolve(item: Int64, keeping choice: ConflictChoice, by author: String?) throws {
        try connection.execute("UPDATE version_conflicts SET kept = ?, resolved_at = ?, resolved_by = ? WHERE item_id = ? AND resolved_at IS NULL",
                               [.text(choice.rawValue), .text(stamp), SQLValue(author), .integer(item)])
    }
}
