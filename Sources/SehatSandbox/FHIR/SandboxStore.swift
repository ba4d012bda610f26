import Foundation
import SehatJSON

/// The sandbox's resources in memory, with the indexes searches need.
struct SandboxStore {
    struct Stored {
        var json: JSON
        var version: Int
    }

    private(set) var resources: [String: [String: Stored]] = [:]
    /// `Type|system|value` → ids, for `identifier=` searches and duplicate checks.
    private var identifierIndex: [String: [String]] = [:]
    /// `Type|system|code` → ids, for `_tag=` searches.
    private var tagIndex: [String: [String]] = [:]
    private(set) var creationOrder: [(type: String, id: String)] = []

    func read(_ type: String, _ id: String) -> Stored? { resources[type]?[id] }
    func exists(_ type: String, _ id: String) -> Bool { resources[type]?[id] != nil }

    func ids(type: String, identifier system: String, _ value: String) -> [String] {
        identifierIndex["\(type)|\(system)|\(value)"] ?? []
    }

    func ids(type: String, tag system: String, _ code: String) -> [String] { tagIndex["\(type)|\(system)|\(code)"] ?? [] }

    /// Whether a PractitionerRole links this practitioner to this location.
    func hasRole(practitioner: String, location: String) -> Bool {
        (resources["PractitionerRole"] ?? [:]).values.contains { stored in
            stored.json.value(at: "practitioner.reference")?.stringValue == practitioner
                && (stored.json["location"]?.arrayValue ?? []).contains { $0["reference"]?.stringValue == location }
        }
    }


    /// Stores (or replaces) a resource, keeping the indexes right.
    mutating func put(_ type: String, _ id: String, _ json: JSON, version: Int) {
        if let old = resources[type]?[id] {
            unindex(type, id, old.json)
        } else {
            creationOrder.append((type, id))
        }
        resources[type, default: [:]][id] = Stored(json: json, version: version)
        for (system, value) in SandboxStore.identifiers(of: json) { identifierIndex["\(type)|\(system)|\(value)", default: []].append(id) }
        for (system, code) in SandboxStore.tags(of: json) { tagIndex["\(type)|\(system)|\(code)", default: []].append(id) }
    }

    private mutating func unindex(_ type: String, _ id: String, _ json: JSON) {
        for (system, value) in SandboxStore.identifiers(of: json) { identifierIndex["\(type)|\(system)|\(value)"]?.removeAll { $0 == id } }
        for (system, code) in SandboxStore.tags(of: json) { tagIndex["\(type)|\(system)|\(code)"]?.removeAll { $0 == id } }
    }

    /// `identifier` may be an array or (Composition, Bundle) a single object.
    static func identifiers(of json: JSON) -> [(String, String)] {
        let list = json["identifier"]?.arrayValue ?? json["identifier"].map { [$0] } ?? []
        return list.compactMap { identifier in
            guard let value = identifier["value"]?.stringValue else { return nil }
            return (identifier["system"]?.stringValue ?? "", value)
        }
    }

    static func tags(of json: JSON) -> [(String, String)] {
        (json.value(at: "meta.tag")?.arrayValue ?? []).compactMap { tag in
            guard let code = tag["code"]?.stringValue else { return nil }
            return (tag["system"]?.stringValue ?? "", code)
        }
    }

    var counts: [String: Int] { resources.mapValues(\.count) }
}
