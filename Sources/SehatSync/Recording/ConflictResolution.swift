import Foundation
import SehatFHIR
import SehatJSON
import SehatStore

/// A person's choice in a version conflict (`sehat outbox resolve ID --keep local|server`), in
/// one transaction:
///
/// - **local**: the update goes again, now based on the server's version it overwrites (so a
///   further change by someone else is again a conflict, never lost silently);
/// - **server**: the server's version becomes the device's — its references mapped back to
///   local ids, the local version kept in the history (`server_kept`) — and the update is done.
///
/// Either way both versions stay in `version_conflicts` with what was kept and when.
struct ConflictResolution {
    let context: RecordContext

    func resolve(item: Int64, keep choice: ConflictChoice) throws -> VersionConflictDetail {
        let conn = context.connection
        let conflicts = VersionConflicts(connection: conn, stamp: context.stamp)
        guard let conflict = try conflicts.latest(item: item), conflict.resolvedAt == nil else {
            throw FieldError("id", "item \(item) has no version conflict to resolve")
        }
        switch choice {
        case .local:
            try conn.execute("UPDATE resources SET server_version = ?, updated_at = ? WHERE local_id = ?",
                             [SQLValue(conflict.serverVersion), .text(context.stamp), .text(conflict.resourceID)])
        case .server:
            let current = try conn.scalar("SELECT json FROM resources WHERE local_id = ?", [.text(conflict.resourceID)]).string ?? conflict.local.text
            try context.history.keep(conflict.resourceID, previous: current, change: .serverKept,
                                     reason: "version conflict: kept the server's version \(conflict.serverVersion ?? "?") over this one")
            let adopted = try localVersion(of: conflict.server, localID: conflict.resourceID)
            try conn.execute("UPDATE resources SET json = ?, server_version = ?, updated_at = ? WHERE local_id = ?",
                             [.text(adopted.text), SQLValue(conflict.serverVersion), .text(context.stamp), .text(conflict.resourceID)])
        }
        try context.outbox.resolveConflict(item, keepingLocal: choice == .local)
        try conflicts.resolve(item: item, keeping: choice, by: context.author)
        return try conflicts.latest(item: item) ?? conflict
    }

    /// The server's resource as the device stores it: its own local id, no server bookkeeping
    /// (`meta`), and each reference to a resource the device knows by its server id written
    /// with the local id again (the send rewrites them back); others stay as the server wrote them.
    private func localVersion(of server: JSON, localID: String) throws -> JSON {
        var json = server
        json["meta"] = nil
        json = JSON.withID(json, localID)
        var known: [String: String] = [:]
        for site in json.references() {
            guard case .relative(let type, let id) = site.reference, known["\(type)/\(id)"] == nil else { continue }
            if let local = try context.connection.scalar("SELECT local_id FROM resources WHERE resource_type = ? AND server_id = ?",
                                                         [.text(type), .text(id)]).string {
                known["\(type)/\(id)"] = "\(type)/\(local)"
            }
        }
        return try json.rewritingReferences { reference in
            guard case .relative(let type, let id) = reference else { return nil }
            return known["\(type)/\(id)"]
        }
    }
}
