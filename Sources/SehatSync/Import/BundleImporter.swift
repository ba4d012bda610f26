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
    /// store. What stays in memory per entry is its names and the entries it points to, as
    /// numbers: a few dozen bytes, however big the entry.
    func importBundle(_ source: BundleSource) throws -> ImportedBundle {
        // Entry i's local id is `ids[i]`: one random prefix for the import, the index in the last group.
        let ids = ImportIDs(base: context.newID())
        // 1. The shape of everything, and every name an entry can be referenced by.
        var fullUrls: [String: Int] = [:]
        var names: [String: Int32] = [:]
        var types = TypeTable()
        var count = 0
        try source.checkHeader()
        try source.forEachEntry { index, entry in
            try BundleImporter.checkEntry(entry, index: index, fullUrls: &fullUrls)
            let resource = entry["resource"]!
            let resourceType = resource["resourceType"]!.stringValue!
            types.append(resourceType)
            let at = Int32(index)
            if let fullUrl = entry["fullUrl"]?.stringValue {
                names[fullUrl] = at
                if case .relative(let t, let id) = FHIRReference(String(fullUrl.split(separator: "/").suffix(2).joined(separator: "/"))) {
                    names["\(t)/\(id)"] = at
                }
            }
            if let id = resource["id"]?.stringValue { names["\(resourceType)/\(id)"] = at }
            count = index + 1
        }
        fullUrls = [:]

        // 2. Each resource with local references and the SDK's identifier, stored; conditional
        //    references become stand-ins found by lookup (shared with earlier imports).
        let groupID = "import:" + context.newID()
        var standIns: [String: String] = [:]
        var lookups = 0
        var items: [Int64] = []
        var edges: [[Int32]] = []
        edges.reserveCapacity(count)
        try source.forEachEntry { index, entry in
            var resource = entry["resource"]!
            let resourceType = types[index]
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
            var targets: [Int32] = []
            resource = resource.rewritingReferences { reference in
                switch reference {
                case .urn(let urn):
                    guard let target = names[urn] else { return nil }
                    targets.append(target)
                    return "\(types[Int(target)])/\(ids[Int(target)])"
                case .relative(let type, let id):
                    guard let target = names["\(type)/\(id)"] else { return nil }
                    targets.append(target)
                    return "\(type)/\(ids[Int(target)])"
                case .conditional(let type, _): return standIns[reference.description].map { "\(type)/\($0)" }
                case .other: return nil
                }
            }
            let identifier = businessIdentifier(for: resourceType, localID: ids[index])
            resource = BundleImporter.marked(resource, type: resourceType, with: identifier)
            try context.checkResource(resource)
            try context.insertResource(localID: ids[index], identifier: identifier, json: resource)
            edges.append(targets)
        }
        names = [:]

        // 3. Items parents first, so every edge finds the item it points to.
        for index in BundleImporter.parentsFirst(edges: edges) {
            let id = ids[Int(index)]
            let resourceType = types[Int(index)]
            guard let text = try context.connection.scalar("SELECT json FROM resources WHERE local_id = ?", [.text(id)]).string else { continue }
            items.append(try context.outbox.enqueue(
                NewOutboxItem(queue: context.clinicQueue(resourceType), operation: .create, resourceType: resourceType, resourceID: id,
                              groupID: groupID, priority: ClinicPriority.encounter, maxRetries: RecordContext.clinicMaxRetries),
                resourceJSON: try JSON.parse(text)))
        }
        return ImportedBundle(groupID: groupID, resourceIDs: (0..<count).map { ids[$0] }, lookups: lookups, outboxItemIDs: items)
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
        // A repeated id counts once, as its first.
        var position: [String: Int32] = [:]
        var resources = resources
        resources.removeAll { resource in
            guard position[resource.id] == nil else { return true }
            position[resource.id] = Int32(position.count)
            return false
        }
        let edges = resources.map { resource in
            resource.json.references().compactMap { site -> Int32? in
                if case .relative(_, let target) = site.reference { return position[target] }
                return nil
            }
        }
        return parentsFirst(edges: edges).map { resources[Int($0)] }
    }

    /// Entry indexes ordered so that each comes after the entries it points to (`edges[i]`:
    /// the entries entry i references). Iterative, with its own stack: a chain as long as the
    /// bundle's entry limit must not exhaust the thread's stack.
    static func parentsFirst(edges: [[Int32]]) -> [Int32] {
        var state = [UInt8](repeating: 0, count: edges.count)  // 0: not seen, 1: visiting, 2: done
        var ordered: [Int32] = []
        ordered.reserveCapacity(edges.count)
        for root in edges.indices where state[root] == 0 {
            // Each frame: an entry and how many of its targets it has visited.
            var stack: [(entry: Int32, next: Int)] = [(Int32(root), 0)]
            state[root] = 1
            while let top = stack.last {
                let targets = edges[Int(top.entry)]
                if top.next < targets.count {
                    stack[stack.count - 1].next += 1
                    let target = Int(targets[top.next])
                    if target >= 0, target < edges.count, state[target] == 0 {
                        state[target] = 1
                        stack.append((Int32(target), 0))
                    }
                } else {
                    stack.removeLast()
                    state[Int(top.entry)] = 2
                    ordered.append(top.entry)
                }
            }
        }
        return ordered
    }
}

/// The local ids of one import's entries: a random UUID whose last group is the entry's
/// index, so they are unique, valid UUIDs (`urn:uuid:` in a bundle) and need no table.
struct ImportIDs {
    private let prefix: String

    init(base: String) { prefix = String(base.prefix(24)) }

    subscript(index: Int) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var hex = [UInt8](repeating: UInt8(ascii: "0"), count: 12)
        var rest = index
        for place in stride(from: 11, through: 0, by: -1) {
            hex[place] = digits[rest & 0xF]
            rest >>= 4
        }
        return prefix + String(decoding: hex, as: UTF8.self)
    }
}

/// Resource types by entry, each distinct name stored once.
struct TypeTable {
    private var names: [String] = []
    private var codes: [String: UInt16] = [:]
    private var byEntry: [UInt16] = []

    mutating func append(_ type: String) {
        let code = codes[type] ?? {
            names.append(type)
            codes[type] = UInt16(names.count - 1)
            return UInt16(names.count - 1)
        }()
        byEntry.append(code)
    }

    subscript(index: Int) -> String { names[Int(byEntry[index])] }
}
