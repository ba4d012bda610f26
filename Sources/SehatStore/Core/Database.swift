import SehatSupport
import CSQLite
import Foundation

/// A SQLite database file behind one serialized connection: every `read` and `write`
/// runs alone, in order of arrival, so a writer never sees another's half-done work.
///
///     let db = try Database(path: "clinic.db", migrator: schema)
///     try db.write { try $0.execute("INSERT INTO t(x) VALUES (?)", [1]) }
///     let n = try db.read { try $0.scalar("SELECT count(*) FROM t").int ?? 0 }
///
/// Durability: WAL with `synchronous=FULL`, so a `write` that returns is on disk.
/// The file (and its WAL) is created with mode 0600.
public final class Database: Sendable {
    /// The database file, or `:memory:`.
    public let path: String
    private let connection: Locked<Connection>

    /// The databases the current thread is inside (`read`/`write`), to turn reentrancy
    /// into an error rather than a deadlock.
    @TaskLocal private static var entered: Set<ObjectIdentifier> = []

    /// Opens (creating if needed) the database at `path` and applies `migrator`.
    public init(path: String, busyTimeoutMilliseconds: Int = 5_000, migrator: Migrator? = nil) throws {
        self.path = path
        if path != ":memory:" { try Database.createPrivateFile(at: path) }
        let conn = try Connection(path: path, flags: SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE)
        try conn.executeScript("PRAGMA busy_timeout = \(busyTimeoutMilliseconds)")
        if path != ":memory:" {
            let mode = try conn.scalar("PRAGMA journal_mode = WAL").string
            guard mode?.lowercased() == "wal" else {
                throw DatabaseError.misuse("could not switch \(path) to WAL (journal_mode is \(mode ?? "unknown"))")
            }
        }
        try conn.executeScript("PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON;")
        connection = Locked(conn)
        try migrator?.migrate(self)
    }

    /// Runs `body` in a `BEGIN IMMEDIATE` transaction; any thrown error rolls it back.
    /// A `DatabaseError` with `isCommitOutcomeUnknown` means the commit itself failed.
    public func write<T: Sendable>(_ body: (Connection) throws -> T) throws -> T {
        try access { conn in try conn.transaction(immediate: true) { try body(conn) } }
    }

    /// Runs `body` in a read transaction: a consistent snapshot of the database.
    public func read<T: Sendable>(_ body: (Connection) throws -> T) throws -> T {
        try access { conn in try conn.transaction(immediate: false) { try body(conn) } }
    }

    /// Runs `body` with the connection and no transaction (pragmas, `VACUUM`, checkpoints).
    public func withoutTransaction<T: Sendable>(_ body: (Connection) throws -> T) throws -> T {
        try access(body)
    }

    private func access<T: Sendable>(_ body: (Connection) throws -> T) throws -> T {
        let me = ObjectIdentifier(self)
        guard !Database.entered.contains(me) else {
            throw DatabaseError.misuse("Database.read/write is not reentrant: use the Connection you were given")
        }
        var inside = Database.entered
        inside.insert(me)
        return try Database.$entered.withValue(inside) {
            try connection.withLock { conn in try body(conn) }
        }
    }

    /// Creates `path` with mode 0600 if it does not exist, and tightens it to 0600 if it does.
    /// SQLite gives the `-wal` and `-shm` files the same mode as the database file.
    private static func createPrivateFile(at path: String) throws {
        let fd = open(path, O_RDWR | O_CREAT, 0o600)
        guard fd >= 0 else {
            let system = errno
            throw DatabaseError(extendedCode: SQLITE_CANTOPEN, message: "cannot create \(path): \(String(cString: strerror(system)))", systemErrno: system)
        }
        defer { close(fd) }
        if fchmod(fd, 0o600) != 0 {
            throw DatabaseError(extendedCode: SQLITE_PERM, message: "cannot set mode 0600 on \(path): \(String(cString: strerror(errno)))")
        }
    }
}
