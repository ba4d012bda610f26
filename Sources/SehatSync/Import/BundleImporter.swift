import Foundation
import SehatFHIR
import SehatJSON
import SehatStore

/// What importing a bundle produced.
public struct ImportedBundle: Sendable, Equatable {
    /// The group its items travel in (one transaction bundle where possible).
    public let groupID: String
    /// Resources stored, in the bundle's order.
    public let resourceIDs: [String]
    /// Conditional references turned into lookups of resources the server already has.
    public let lookups: Int
    /// The items queued, in sequence.
    public let outboxItemIDs: [Int64]
}

/// Imports any FHIR R4 `transaction` or `collection` Bundle for the generic path:
/// - every entry gets a local id; `urn:uuid:` fullUrls and `Type/id` references between
///   entries are rewritten to local ids, which the engine rewrites to server ids when it sends;
/// - each distinct conditional reference `Type?identifier=system|value` becomes one lookup
///   item of a local stand-in resource, found by search before anything that needs it;
/// - every resource gets a business identifier of the SDK's own, added beside the ones it
///   has (kept untouched), so every create is idempotent on any server; types without an
///   identifier list get a `meta.tag` instead;
/// - items are written parents first, so edges derive from references as for recorded data.
struct BundleImporter {
    let context: RecordContext

    func importBundle(_ bundle: JSON) throws -> ImportedBundle {
        try importBundle(BundleSource(bundle))
    }

    /// Three passes over the entries, none holding more than one entry's JSON: check every
    /// entry and name it; rewrite and store each; queue them parents first, read back from the
    /// store. What stays in memory is a few names and edges per entry.
    func importBundle(_ source: BundleSource) throws -> ImportedBundle {
        // 1. The shape of everything, a local id per entry, and every name an entry can be referenced by.
        var fullUrls: [String: Int] = [:]
        var localIDs: [String] = []
        var names: [String: String] = [:]
        var typeOf: [String: String] = [:]
        try source.checkHeader()
        try source.forEachEntry { index, entry in
            try BundleImporter.checkEntry(entry, index: index, fullUrls: &fullUrls)
            let resource = entry["resource"]!
            let resourceType = resource["resourceType"]!.stringValue!
            let localID = context.newID()
            localIDs.append(localID)
            typeOf[localID] = resourceType
            if let fullUrl = entry["fullUrl"]?.stringValue {
                names[fullUrl] = localID
                if case .relative(let t, let id) = FHIRReference(String(fullUrl.split(separator: "/").suffix(2).joined(separator: "/"))) {
                    names["\(t)/\(id)"] = localID
                }
            }
            if let id = resource["id"]?.stringValue { names["\(resourceType)/\(id)"] = localID }
        }
        fullUrls = [:]

        // 2. Each resource with local references and the SDK's identifier, stored; conditional
        //    references become stand-ins found by lookup (shared with earlier imports).
        let groupID = "import:" + context.newID()
        var standIns: [String: String] = [:]
        var lookups = 0
        var items: [Int64] = []
        var edges: [(id: String, targets: [String])] = []
        edges.reserveCapacity(localIDs.count)
        try source.forEachEntry { index, entry in
            var resource = entry["resource"]!
            let resourceType = resource["resourceType"]!.stringValue!
            for site in resource.references() {
                switch site.reference {
                case .conditional(let targetType, _) where standIns[site.reference.description] == nil:
                    guard let (system, value) = site.reference.conditionalIdentifier, !value.isEmpty else {
                        throw FieldError(site.path, "conditional reference \(site.reference) must search by identifier=system|value")
                    }
                    let (id, item) = try standIn(type: targetType, system: system, value: value)
                    standIns[site.reference.description] = id
                    if let item {
                        items.append(item)
                        lookups += 1
                    }
                // A `urn:uuid:` means nothing outside the bundle: one that names no entry would be
                // refused by every server, so the import is refused, naming it.
                case .urn(let urn) where names[urn] == nil:
                    throw FieldError("entry[\(index)].resource.\(site.path)", "\(urn) is not the fullUrl of any entry in this bundle")
                default: continue
                }
            }
            resource["id"] = nil
            resource = resource.rewritingReferences { reference in
                switch reference {
                case .urn(let urn): return names[urn].map { "\(typeOf[$0]!)/\($0)" }
                case .relative(let type, let id): return names["\(type)/\(id)"].map { "\(type)/\($0)" }
                case .conditional(let type, _): return standIns[reference.description].map { "\(type)/\($0)" }
                case .other: return nil
                }
            }
            let identifier = businessIdentifier(for: resourceType, localID: localIDs[index])
            resource = BundleImporter.marked(resource, type: resourceType, with: identifier)
            try context.checkResource(resource)
            try context.insertResource(localID: localIDs[index], identifier: identifier, json: resource)
            edges.append((localIDs[index], BundleImporter.targets(of: resource)))
        }
        names = [:]

        // 3. Items parents first, so every edge finds the item it points to.
        for id in BundleImporter.parentsFirst(edges: edges) {
            let resourceType = typeOf[id] ?? ""
            guard let text = try context.connection.scalar("SELECT json FROM resources WHERE local_id = ?", [.text(id)]).string else { continue }
            items.append(try context.outbox.enqueue(
                NewOutboxItem(queue: context.clinicQueue(resourceType), operation: .create, resourceType: resourceType, resourceID: id,
                              groupID: groupID, priority: ClinicPriority.encounter, maxRetries: RecordContext.clinicMaxRetries),
                resourceJSON: try JSON.parse(text)))
        }
        return ImportedBundle(groupID: groupID, resourceIDs: localIDs, lookups: lookups, outboxItemIDs: items)
    }

    /// A local stand-in for a resource the server already has, and its lookup item
    /// (nil when an earlier import created both).
    private func standIn(type: String, system: String, value: String) throws -> (String, Int64?) {
        if let existing = try context.connection.scalar(
            "SELECT local_id FROM resources WHERE resource_type = ? AND identifier_system = ? AND identifier_value = ?",
            [.text(type), .text(system), .text(value)]).string
        {
            return (existing, nil)
        }
        let id = context.newID()
        let json = JSON.obj(["resourceType": .string(type), "identifier": [BusinessIdentifier(system: system, value: value).json]])
        try context.insertResource(localID: id, identifier: BusinessIdentifier(system: system, value: value), json: json)
        let item = try context.outbox.enqueue(
            NewOutboxItem(queue: context.clinicQueue(type), operation: .lookup, resourceType: type, resourceID: id,
                          priority: ClinicPriority.prerequisite, maxRetries: RecordContext.clinicMaxRetries),
            resourceJSON: json)
        return (id, item)
    }

    /// The SDK's own identifier: `sys-ids` on SATUSEHAT, a URN of the organization elsewhere.
    private func businessIdentifier(for type: String, localID: String) -> BusinessIdentifier {
        let system = context.profile == .satusehat
            ? Systems.business(type.lowercased(), org: context.orgID) : "urn:sehatsync:\(context.orgID):local-id"
        return BusinessIdentifier(system: system, value: localID)
    }

    /// Adds the identifier beside the resource's own (or a `meta.tag` where there is no list).
    static func marked(_ resource: JSON, type: String, with identifier: BusinessIdentifier) -> JSON {
        var resource = resource
        if ResourceTypes.hasIdentifierList(type) {
            resource["identifier"] = .array((resource["identifier"]?.arrayValue ?? []) + [identifier.json])
        } else {
            var meta = resource["meta"] ?? .object([])
            meta["tag"] = .array((meta["tag"]?.arrayValue ?? []) + [.obj(["system": .string(identifier.system), "code": .string(identifier.value)])])
            resource["meta"] = meta
        }
        return resource
    }

    /// Resources ordered so that each comes after those it references (depth-first; a
    /// cycle, which FHIR allows inside a transaction, is broken where it is met).
    static func parentsFirst(_ resources: [(id: String, json: JSON)]) -> [(id: String, json: JSON)] {
        let byID = Dictionary(resources.map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
        return parentsFirst(edges: resources.map { ($0.id, targets(of: $0.json)) }).map { byID[$0]! }
    }

    /// The local ids a resource references (`Type/id`).
    static func targets(of json: JSON) -> [String] {
        json.references().compactMap { site -> String? in
            if case .relative(_, let target) = site.reference { return target }
            return nil
        }
    }

    /// Ids ordered so that each comes after the ids it points to; targets that are not among
    /// `edges` are passed over. Iterative, with its own stack: a chain as long as the
    /// bundle's entry limit must not exhaust the thread's stack.
    static func parentsFirst(edges: [(id: String, targets: [String])]) -> [String] {
        var targetsOf: [String: [String]] = [:]
        targetsOf.reserveCapacity(edges.count)
        for edge in edges where targetsOf[edge.id] == nil { targetsOf[edge.id] = edge.targets }
        var state: [String: Bool] = [:]  // false: visiting, true: done
        var ordered: [String] = []
        for root in edges where state[root.id] == nil {
            // Each frame: a resource and the targets it still has to visit.
            var stack: [(id: String, targets: [String])] = []
            func push(_ id: String) {
                guard state[id] == nil, let targets = targetsOf[id] else { return }
                state[id] = false
                stack.append((id, targets.reversed()))
            }
            push(root.id)
            while !stack.isEmpty {
                if let next = stack[stack.count - 1].targets.popLast() {
                    push(next)
                } else {
                    let done = stack.removeLast().id
                    state[done] = true
                    ordered.append(done)
                }
            }
        }
        return ordered
    }
}
