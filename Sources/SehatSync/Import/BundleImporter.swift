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
        let entries = try BundleImporter.checkShape(bundle)

        // 1. A local id per entry, and every name an entry can be referenced by.
        var localIDs: [String] = []
        var names: [String: String] = [:]
        var typeOf: [String: String] = [:]
        for entry in entries {
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

        // 2. Conditional references → stand-ins found by lookup (shared with earlier imports).
        var standIns: [String: String] = [:]
        var lookups = 0
        var items: [Int64] = []
        for entry in entries {
            for site in entry["resource"]!.references() {
                guard case .conditional(let targetType, _) = site.reference, standIns[site.reference.description] == nil else { continue }
                guard let (system, value) = site.reference.conditionalIdentifier, !value.isEmpty else {
                    throw FieldError(site.path, "conditional reference \(site.reference) must search by identifier=system|value")
                }
                let (id, item) = try standIn(type: targetType, system: system, value: value)
                standIns[site.reference.description] = id
                if let item {
                    items.append(item)
                    lookups += 1
                }
            }
        }

        // 3. Resources with local references and the SDK's identifier.
        let groupID = "import:" + context.newID()
        var resources: [(id: String, json: JSON, identifier: BusinessIdentifier)] = []
        for (index, entry) in entries.enumerated() {
            var resource = entry["resource"]!
            let resourceType = resource["resourceType"]!.stringValue!
            // A `urn:uuid:` means nothing outside the bundle: one that names no entry would be
            // refused by every server, so the import is refused, naming it.
            for site in resource.references() {
                if case .urn(let urn) = site.reference, names[urn] == nil {
                    throw FieldError("entry[\(index)].resource.\(site.path)", "\(urn) is not the fullUrl of any entry in this bundle")
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
            resources.append((localIDs[index], resource, identifier))
        }
        for resource in resources {
            try context.insertResource(localID: resource.id, identifier: resource.identifier, json: resource.json)
        }

        // 4. Items parents first, so every edge finds the item it points to.
        for resource in BundleImporter.parentsFirst(resources.map { ($0.id, $0.json) }) {
            let resourceType = resource.json["resourceType"]?.stringValue ?? ""
            items.append(try context.outbox.enqueue(
                NewOutboxItem(queue: context.clinicQueue(resourceType), operation: .create, resourceType: resourceType, resourceID: resource.id,
                              groupID: groupID, priority: ClinicPriority.encounter, maxRetries: RecordContext.clinicMaxRetries),
                resourceJSON: resource.json))
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
    /// cycle, which FHIR allows inside a transaction, is broken where it is met). Iterative,
    /// with its own stack: a chain as long as the bundle's entry limit must not exhaust the
    /// thread's stack.
    static func parentsFirst(_ resources: [(id: String, json: JSON)]) -> [(id: String, json: JSON)] {
        let byID = Dictionary(resources.map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
        var state: [String: Bool] = [:]  // false: visiting, true: done
        var ordered: [(id: String, json: JSON)] = []
        for root in resources where state[root.id] == nil {
            // Each frame: a resource and the targets it still has to visit.
            var stack: [(id: String, targets: [String])] = []
            func push(_ id: String) {
                guard state[id] == nil, let resource = byID[id] else { return }
                state[id] = false
                let targets = resource.json.references().compactMap { site -> String? in
                    if case .relative(_, let target) = site.reference { return target }
                    return nil
                }
                stack.append((id, targets.reversed()))
            }
            push(root.id)
            while !stack.isEmpty {
                if let next = stack[stack.count - 1].targets.popLast() {
                    push(next)
                } else {
                    let done = stack.removeLast().id
                    state[done] = true
                    ordered.append(byID[done]!)
                }
            }
        }
        return ordered
    }
}
