import Foundation
import SehatJSON
import SehatStore

/// The sandbox's resources, with the indexes searches need: in memory (the default), or in a
/// temporary SQLite file (`Sandbox.Storage.disk`) for runs that send it more than memory
/// should hold — a million resources drained in one benchmark.
struct SandboxStore {
    struct Stored {
        var json: JSON
        var version: Int
    }

    private var memory = MemoryShelf()
    private let disk: DiskShelf?

    init(storage: Sandbox.Storage = .memory) throws {
        switch storage {
        case .memory: disk = nil
        case .disk(let directory): disk = try DiskShelf(directory: directory)
        }
    }

    func read(_ type: String, _ id: String) -> Stored? { disk.map { $0.read(type, id) } ?? memory.resources[type]?[id] }
    func exists(_ type: String, _ id: String) -> Bool { disk.map { $0.exists(type, id) } ?? (memory.resources[type]?[id] != nil) }

    func ids(type: String, identifier system: String, _ value: String) -> [String] { ids(key: "I|\(type)|\(system)|\(value)") }

    func ids(type: String, tag system: String, _ code: String) -> [String] { ids(key: "T|\(type)|\(system)|\(code)") }

    private func ids(key: String) -> [String] { disk.map { $0.ids(key: key) } ?? memory.index[key] ?? [] }

    /// The ids of `type` (every type when nil), in the order they were created.
    func ids(ofType type: String?) -> [(type: String, id: String)] {
        disk.map { $0.ids(ofType: type) } ?? memory.creationOrder.filter { type == nil || $0.type == type }
    }

    /// Whether a PractitionerRole links this practitioner to this location.
    func hasRole(practitioner: String, location: String) -> Bool {
        let roles = disk.map { $0.resources(ofType: "PractitionerRole") } ?? (memory.resources["PractitionerRole"].map { Array($0.values.map(\.json)) } ?? [])
        return roles.contains { json in
            json.value(at: "practitioner.reference")?.stringValue == practitioner
                && (json["location"]?.arrayValue ?? []).contains { $0["reference"]?.stringValue == location }
        }
    }

    /// Stores (or replaces) a resource, keeping the indexes right.
    mutating func put(_ type: String, _ id: String, _ json: JSON, version: Int) {
        let keys = SandboxStore.identifiers(of: json).map { "I|\(type)|\($0.0)|\($0.1)" } + SandboxStore.tags(of: json).map { "T|\(type)|\($0.0)|\($0.1)" }
        if let disk {
            disk.put(type, id, json, version: version, keys: keys)
        } else {
            let old = memory.resources[type]?[id].map { old in
                SandboxStore.identifiers(of: old.json).map { "I|\(type)|\($0.0)|\($0.1)" } + SandboxStore.tags(of: old.json).map { "T|\(type)|\($0.0)|\($0.1)" }
            }
            memory.put(type, id, json, version: version, keys: keys, replacing: old)
        }
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

    /// Removes a disk store's scratch file (the sandbox stopped); nothing for memory.
    func discardScratch() { disk?.removeFiles() }

    var counts: [String: Int] { disk.map { $0.counts() } ?? memory.resources.mapValues(\.count) }
}

/// Resources as parsed JSON in dictionaries: fast, and as big as what was sent.
private struct MemoryShelf {
    var resources: [String: [String: SandboxStore.Stored]] = [:]
    /// `I|Type|system|value` and `T|Type|system|code` → ids, for searches and duplicate checks.
    var index: [String: [String]] = [:]
    var creationOrder: [(type: String, id: String)] = []

    /// `replacing`: the index keys of the version replaced (nil for a new resource).
    mutating func put(_ type: String, _ id: String, _ json: JSON, version: Int, keys: [String], replacing old: [String]?) {
        if let old {
            for key in old { index[key]?.removeAll { $0 == id } }
        } else {
            creationOrder.append((type, id))
        }
        resources[type, default: [:]][id] = SandboxStore.Stored(json: json, version: version)
        for key in keys { index[key, default: []].append(id) }
    }
}

/// Resources as compact JSON text in a temporary SQLite file, deleted when the sandbox goes:
/// memory stays at SQLite's page cache however many resources arrive. Slower per request
/// than memory (each read parses), and only as durable as the sandbox needs — not at all.
private final class DiskShelf {
    private let database: Database
    private let path: String

    init(directory: String?) throws {
        let folder = directory ?? NSTemporaryDirectory()
        path = (folder as NSString).appendingPathComponent("sehat-sandbox-\(UUID().uuidString).db")
        database = try Database(path: path)
        try database.withoutTransaction { conn in
            try conn.executeScript(
                """
                PRAGMA journal_mode = OFF;
                PRAGMA synchronous = OFF;
                PRAGMA locking_mode = EXCLUSIVE;
                PRAGMA cache_size = -2000;
                CREATE TABLE resources(seq INTEGER PRIMARY KEY, type TEXT NOT NULL, id TEXT NOT NULL, version INTEGER NOT NULL,
                                       json TEXT NOT NULL, UNIQUE(type, id));
                CREATE TABLE keys(key TEXT NOT NULL, type TEXT NOT NULL, id TEXT NOT NULL);
                CREATE INDEX keys_key ON keys(key);
                CREATE INDEX keys_resource ON keys(type, id);
                CREATE INDEX resources_type ON resources(type, seq);
                BEGIN;
                """)
        }
    }
    /// Puts since the scratch transaction was last committed: it is committed every so often
    /// only to keep SQLite's cache of changed pages from growing; nothing here needs durability.
    private var uncommitted = 0

    deinit { removeFiles() }

    /// Unlinks the scratch file: gone from the folder at once, while the open connection goes on
    /// using it (a request a stopping server is still finishing) until the shelf is released.
    func removeFiles() {
        for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + suffix) }
    }

    /// The sandbox has no way to answer a failure of its own scratch file but to stop.
    private func run<T: Sendable>(_ body: (Connection) throws -> T) -> T {
        do {
            return try database.withoutTransaction(body)
        } catch {
            preconditionFailure("the sandbox's disk store failed: \(error)")
        }
    }

    func read(_ type: String, _ id: String) -> SandboxStore.Stored? {
        let row = run { try $0.queryFirst("SELECT version, json FROM resources WHERE type = ? AND id = ?", [.text(type), .text(id)]) }
        guard let row, let text = row["json"].string, let json = try? JSON.parse(text) else { return nil }
        return SandboxStore.Stored(json: json, version: row["version"].int ?? 1)
    }

    func exists(_ type: String, _ id: String) -> Bool {
        run { try $0.queryFirst("SELECT 1 FROM resources WHERE type = ? AND id = ?", [.text(type), .text(id)]) } != nil
    }

    func ids(key: String) -> [String] {
        run { try $0.query("SELECT id FROM keys WHERE key = ? ORDER BY rowid", [.text(key)]).compactMap { $0["id"].string } }
    }

    func ids(ofType type: String?) -> [(type: String, id: String)] {
        run { conn in
            let rows = try type.map { try conn.query("SELECT type, id FROM resources WHERE type = ? ORDER BY seq", [.text($0)]) }
                ?? conn.query("SELECT type, id FROM resources ORDER BY seq")
            return rows.map { (type: $0["type"].string ?? "", id: $0["id"].string ?? "") }
        }
    }

    func resources(ofType type: String) -> [JSON] {
        run { conn in try conn.query("SELECT json FROM resources WHERE type = ? ORDER BY seq", [.text(type)]).compactMap { try? JSON.parse($0["json"].string ?? "") } }
    }

    func put(_ type: String, _ id: String, _ json: JSON, version: Int, keys: [String]) {
        run { conn in
            try conn.execute(
                "INSERT INTO resources(type, id, version, json) VALUES (?, ?, ?, ?) ON CONFLICT(type, id) DO UPDATE SET version = excluded.version, json = excluded.json",
                [.text(type), .text(id), .integer(Int64(version)), .text(json.text)])
            try conn.execute("DELETE FROM keys WHERE type = ? AND id = ?", [.text(type), .text(id)])
            for key in keys { try conn.execute("INSERT INTO keys(key, type, id) VALUES (?, ?, ?)", [.text(key), .text(type), .text(id)]) }
            uncommitted += 1
            if uncommitted >= 5_000 {
                try conn.executeScript("COMMIT; BEGIN;")
                uncommitted = 0
            }
        }
    }

    func counts() -> [String: Int] {
        run { conn in
            Dictionary(try conn.query("SELECT type, count(*) AS n FROM resources GROUP BY type").map { ($0["type"].string ?? "", $0["n"].int ?? 0) },
                       uniquingKeysWith: +)
        }
    }
}
