import Foundation
import SehatFHIR
import SehatJSON

/// Why a request could not be built (a dependency's server id is missing).
struct BuildError: Error, CustomStringConvertible {
    let message: String
    var description: String { message }
}

/// One entry of a transaction bundle and the items it completes.
struct BundleEntryPlan: Sendable {
    let resourceID: String
    let itemIDs: [Int64]
}

/// Stage 2 — build: turns claimed items into HTTP calls, rewriting local references to the
/// server ids the fetch stage resolved (or to `urn:uuid:` inside a bundle) on a copy. A pure
/// function of the items: it touches no database, and stored JSON is never edited.
struct RequestBuilder: Sendable {
    let baseURL: String
    let emergencyURL: String?
    let timeouts: (critical: TimeInterval, normal: TimeInterval, long: TimeInterval)

    /// `GET {base}/{Type}?identifier=system|value` (`_tag=` for types without identifiers):
    /// a lookup, or the check before a re-send.
    func search(_ item: ClaimedItem) -> HTTPCall? {
        guard let type = item.resourceType, let identifier = item.identifier else { return nil }
        let parameter = ResourceTypes.searchParameter(finding: identifier, in: item.resource)
        return HTTPCall(method: "GET", url: "\(baseURL)/\(type)?\(parameter)=\(RequestBuilder.encode(identifier.searchToken))",
                        headers: ["Accept": "application/fhir+json"], timeout: timeouts.normal)
    }

    /// One item alone: POST a create, PUT an update, notify the emergency service.
    func single(_ item: ClaimedItem) throws -> HTTPCall {
        switch item.operation {
        case .lookup:
            guard let call = search(item) else { throw BuildError(message: "item \(item.id) has nothing to search by") }
            return call
        case .notify:
            guard let emergencyURL, let body = item.payload else { throw BuildError(message: "no emergency service is configured") }
            return json("POST", emergencyURL + "/api/emergency/notify", body, contentType: "application/json", timeout: timeouts.critical)
        case .create:
            guard let type = item.resourceType, var body = item.body else { throw BuildError(message: "item \(item.id) has no resource") }
            body = try rewrite(body, of: item, inBundle: [])
            body["id"] = nil
            return json("POST", "\(baseURL)/\(type)", body)
        case .update where item.target == .emergency:
            guard let emergencyURL, let body = item.payload, let id = item.reportID else { throw BuildError(message: "no emergency service is configured") }
            return json("PUT", emergencyURL + "/api/emergency/\(id)/status", body, contentType: "application/json", timeout: timeouts.critical)
        case .update:
            guard let type = item.resourceType, var body = item.body, let serverID = item.serverID else {
                throw BuildError(message: "item \(item.id) updates a resource the server has not created yet")
            }
            body = try rewrite(body, of: item, inBundle: [])
            body = JSON.withID(body, serverID)
            var call = json("PUT", "\(baseURL)/\(type)/\(serverID)", body)
            // Based on the version last seen: a 412 means someone else changed it since.
            if let version = item.serverVersion { call.headers["If-Match"] = RequestBuilder.etag(version) }
            return call
        }
    }

    /// Lookups in one `batch` Bundle: an entry per search (`GET Type?identifier=…`), each
    /// answered on its own.
    func searches(_ items: [ClaimedItem]) throws -> HTTPCall {
        let entries = try items.map { item -> JSON in
            guard let call = search(item), let query = call.url.split(separator: "?", maxSplits: 1).last, let type = item.resourceType else {
                throw BuildError(message: "item \(item.id) has nothing to search by")
            }
            return .obj(["request": .obj(["method": "GET", "url": .string("\(type)?\(query)")])])
        }
        return json("POST", baseURL, .obj(["resourceType": "Bundle", "type": "batch", "entry": .array(entries)]), timeout: timeouts.long)
    }

    /// A transaction bundle for a group: one entry per resource; when a group carries both
    /// the create and the closing update of a resource (an Encounter), the entry POSTs the
    /// final version, which completes both items.
    func bundle(_ items: [ClaimedItem]) throws -> (HTTPCall, [BundleEntryPlan]) {
        var order: [String] = []
        var entries: [String: (item: ClaimedItem, body: JSON, method: String, itemIDs: [Int64])] = [:]
        for item in items {
            guard let resourceID = item.resourceID, let body = item.body else { throw BuildError(message: "item \(item.id) has no resource") }
            if var entry = entries[resourceID] {
                entry.itemIDs.append(item.id)
                if item.operation == .update, let resource = item.resource { entry.body = resource }
                entries[resourceID] = entry
            } else {
                switch item.operation {
                case .create: entries[resourceID] = (item, body, "POST", [item.id])
                case .update:
                    guard item.serverID != nil else { throw BuildError(message: "item \(item.id) updates a resource the server has not created yet") }
                    entries[resourceID] = (item, body, "PUT", [item.id])
                case .lookup, .notify: throw BuildError(message: "item \(item.id) cannot travel in a bundle")
                }
                order.append(resourceID)
            }
        }
        let inBundle = Set(order.filter { entries[$0]?.method == "POST" })
        var bundleEntries: [JSON] = []
        for resourceID in order {
            let entry = entries[resourceID]!
            let type = entry.item.resourceType ?? ""
            var body = try rewrite(entry.body, of: entry.item, inBundle: inBundle)
            var request: [JSON.Member] = [JSON.Member("method", .string(entry.method))]
            if entry.method == "POST" {
                body["id"] = nil
                request.append(JSON.Member("url", .string(type)))
            } else {
                body = JSON.withID(body, entry.item.serverID!)
                request.append(JSON.Member("url", .string("\(type)/\(entry.item.serverID!)")))
                if let version = entry.item.serverVersion { request.append(JSON.Member("ifMatch", .string(RequestBuilder.etag(version)))) }
            }
            bundleEntries.append(.obj(["fullUrl": .string("urn:uuid:\(resourceID)"), "resource": body, "request": .object(request)]))
        }
        let bundle = JSON.obj(["resourceType": "Bundle", "type": "transaction", "entry": .array(bundleEntries)])
        return (json("POST", baseURL, bundle, timeout: timeouts.long), order.map { BundleEntryPlan(resourceID: $0, itemIDs: entries[$0]!.itemIDs) })
    }

    /// Local references → `urn:uuid:` (inside the bundle) or `Type/serverId`; references to
    /// anything not local (a server id already) stay as they are.
    private func rewrite(_ body: JSON, of item: ClaimedItem, inBundle: Set<String>) throws -> JSON {
        try body.rewritingReferences { reference in
            guard case .relative(let type, let id) = reference else { return nil }
            if inBundle.contains(id) { return "urn:uuid:\(id)" }
            guard let entry = item.references[id] else { return nil }
            guard let serverID = entry else { throw BuildError(message: "\(type)/\(id) has no server id yet") }
            return "\(type)/\(serverID)"
        }
    }

    private func json(_ method: String, _ url: String, _ body: JSON, contentType: String = "application/fhir+json",
                      timeout: TimeInterval? = nil) -> HTTPCall {
        HTTPCall(method: method, url: url, headers: ["Content-Type": contentType, "Accept": "application/fhir+json"],
                 body: Array(body.text.utf8), timeout: timeout ?? timeouts.normal)
    }

    /// An earlier version of an update's resource as it would have been sent: references to
    /// local resources as their server ids, the server id as its id. Nil when it cannot be.
    func sentForm(_ version: JSON, of item: ClaimedItem) -> JSON? {
        guard let serverID = item.serverID, let body = try? rewrite(version, of: item, inBundle: []) else { return nil }
        return JSON.withID(body, serverID)
    }

    /// A version as an entity tag: `3` → `W/"3"` (FHIR's weak ETag).
    static func etag(_ version: String) -> String { "W/\"\(version)\"" }

    /// `GET {base}/{Type}/{id}`: the server's current version of an updated resource, read after a 412.
    func read(_ item: ClaimedItem) -> HTTPCall? {
        guard let type = item.resourceType, let serverID = item.serverID else { return nil }
        return HTTPCall(method: "GET", url: "\(baseURL)/\(type)/\(RequestBuilder.encode(serverID))",
                        headers: ["Accept": "application/fhir+json"], timeout: timeouts.normal)
    }

    static func encode(_ text: String) -> String {
        text.addingPercentEncoding(withAllowedCharacters: .alphanumerics.union(CharacterSet(charactersIn: "-._~:/"))) ?? text
    }
}

extension JSON {
    /// The resource with `id` right after `resourceType`.
    static func withID(_ resource: JSON, _ id: String) -> JSON {
        var members = (resource.members ?? []).filter { $0.key != "id" }
        members.insert(JSON.Member("id", .string(id)), at: min(1, members.count))
        return .object(members)
    }
}
