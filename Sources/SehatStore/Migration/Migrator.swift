import Foundation

/// One schema change, identified by a version number that only grows.
///
///     Migration(version: 1, name: "create records") { try $0.executeScript("CREATE TABLE …") }
public struct Migration: Sendable {
    /// Its version (applied in ascending order, once).
    public let version: Int
    /// What it does.
    public let name: String
    /// The change.
    public let apply: @Sendable (Connection) throws -> Void

    /// A migration run by a closure.
    public init(version: Int, name: String, apply: @escaping @Sendable (Connection) throws -> Void) {
        self.version = version
        self.name = name
        self.apply = apply
    }

    /// A migration that runs an SQL script.
    public init(version: Int, name: String, sql: String) {
        self.init(version: version, name: name) { try $0.executeScript(sql) }
    }
}

/// Why a database could not be migrated.
public enum MigrationError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The file was written by a newer version of the app (it has migrations this one lacks).
    case unknownVersions([Int])
    /// Two migrations share a version, or versions are not increasing.
    case badOrder(String)

    /// `version name`.
    public var description: String {
        switch self {
        case .unknownVersions(let versions):
            return "the database has schema versions this build does not know (\(versions.map(String.init).joined(separator: ", "))): it was written by a newer version"
        case .badOrder(let text): return "migrations are misordered: \(text)"
        }
    }
}

/// Applies migrations in version order, each in its own transaction, recording each in
/// `schema_migrations`. Applied migrations are skipped on re-open.
///
///     let migrator = Migrator([Migration(version: 1, name: "init", sql: "CREATE TABLE t(x)")])
///     let db = try Database(path: "app.db", migrator: migrator)
public struct Migrator: Sendable {
    /// All migrations, ascending.
    public let migrations: [Migration]

    /// A migrator over `migrations`.
    public init(_ migrations: [Migration]) { self.migrations = migrations }

    /// The SQL of the table that records applied migrations.
    public static let historyTableSQL = """
        CREATE TABLE IF NOT EXISTS schema_migrations (
            version INTEGER PRIMARY KEY,
            name TEXT NOT NULL,
            applied_at TEXT NOT NULL
        )
        """

    /// Applies every migration that has not been applied yet.
    public func migrate(_ db: Database) throws {
        let versions = migrations.map(\.version)
        guard versions == versions.sorted(), Set(versions).count == versions.count else {
            throw MigrationError.badOrder("versions \(versions)")
        }
        let applied: [Int] = try db.write { conn in
            try conn.executeScript(Migrator.historyTableSQL)
            return try conn.query("SELECT version FROM schema_migrations ORDER BY version").compactMap { $0[0].int }
        }
        let unknown = Set(applied).subtracting(versions)
        guard unknown.isEmpty else { throw MigrationError.unknownVersions(unknown.sorted()) }
        let pending = migrations.filter { !applied.contains($0.version) }
        // All pending migrations in one transaction: a database is never left between two
        // versions, and the WAL holds each page of the schema once — as one transaction per
        // migration it held a copy per migration, which a new database on a small disk could
        // not afford.
        if !pending.isEmpty {
            try db.write { conn in
                let appliedAt = ISO8601DateFormatter().string(from: Date())
                for migration in pending {
                    try migration.apply(conn)
                    try conn.execute("INSERT INTO schema_migrations(version, name, applied_at) VALUES (?, ?, ?)",
                                     [.integer(Int64(migration.version)), .text(migration.name), .text(appliedAt)])
                }
            }
        }
        // Then fold the WAL into the database, so the new schema is not on disk twice. Best
        // effort — a reader in another process may hold the WAL, and SQLite checkpoints by
        // itself later.
        if !pending.isEmpty, db.path != ":memory:" {
            _ = try? db.withoutTransaction { try $0.query("PRAGMA wal_checkpoint(TRUNCATE)") }
        }
    }

    /// The versions recorded as applied in `db`.
    public static func appliedVersions(in db: Database) throws -> [Int] {
        try db.read { conn in
            try conn.query("SELECT version FROM schema_migrations ORDER BY version").compactMap { $0[0].int }
        }
    }
}
