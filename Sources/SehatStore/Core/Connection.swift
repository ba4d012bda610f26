import CSQLite
import Foundation

/// One open SQLite connection: the thin owner of a `sqlite3*`, with a statement cache.
///
/// A `Connection` is handed to you inside `Database.write` / `Database.read` and must not
/// escape that closure; the `Database` serializes all access to it.
///
///     try db.write { conn in try conn.execute("DELETE FROM t WHERE id = ?", [7]) }
public final class Connection {
    let handle: OpaquePointer
    private var cache: [String: Statement] = [:]
    private var savepointDepth = 0

    init(path: String, flags: Int32) throws {
        var db: OpaquePointer?
        let rc = sqlite3_open_v2(path, &db, flags | SQLITE_OPEN_NOMUTEX, nil)
        guard rc == SQLITE_OK, let db else {
            let message = db.map { String(cString: sqlite3_errmsg($0)) } ?? String(cString: sqlite3_errstr(rc))
            let system = db.map { sqlite3_system_errno($0) } ?? 0
            sqlite3_close_v2(db)
            throw DatabaseError(extendedCode: rc, message: message + " (opening \(path))", systemErrno: system)
        }
        handle = db
        sqlite3_extended_result_codes(db, 1)
    }

    deinit {
        cache.removeAll()
        sqlite3_close_v2(handle)
    }

    func error(_ rc: Int32, sql: String?) -> DatabaseError {
        let extended = sqlite3_extended_errcode(handle)
        // The connection's error code can be stale for some failures (e.g. bind misuse).
        let code = (extended & 0xFF) == (rc & 0xFF) ? extended : rc
        return DatabaseError(extendedCode: code, message: String(cString: sqlite3_errmsg(handle)), sql: sql, systemErrno: sqlite3_system_errno(handle))
    }

    /// A cached prepared statement for `sql`.
    public func prepare(_ sql: String) throws -> Statement {
        if let statement = cache[sql] { return statement }
        let statement = try Statement(connection: self, sql: sql)
        cache[sql] = statement
        return statement
    }

    /// Runs one statement with arguments.
    public func execute(_ sql: String, _ arguments: [SQLValue] = []) throws {
        try prepare(sql).run(arguments)
    }

    /// Runs several `;`-separated statements without arguments (migrations, pragmas).
    public func executeScript(_ sql: String) throws {
        var message: UnsafeMutablePointer<CChar>?
        let rc = sqlite3_exec(handle, sql, nil, nil, &message)
        guard rc == SQLITE_OK else {
            let text = message.map { String(cString: $0) } ?? String(cString: sqlite3_errstr(rc))
            sqlite3_free(message)
            throw DatabaseError(extendedCode: sqlite3_extended_errcode(handle), message: text, sql: sql, systemErrno: sqlite3_system_errno(handle))
        }
    }

    /// Every row of a query.
    public func query(_ sql: String, _ arguments: [SQLValue] = []) throws -> [Row] {
        try prepare(sql).rows(arguments)
    }

    /// The first row of a query, if any.
    public func queryFirst(_ sql: String, _ arguments: [SQLValue] = []) throws -> Row? {
        let statement = try prepare(sql)
        try statement.bind(arguments)
        defer { sqlite3_reset(statement.handle) }
        guard try statement.step() else { return nil }
        return Row(columns: statement.columnNames, values: statement.currentValues())
    }

    /// The first column of the first row (`.null` when there is no row).
    public func scalar(_ sql: String, _ arguments: [SQLValue] = []) throws -> SQLValue {
        try queryFirst(sql, arguments)?.values.first ?? .null
    }

    /// The rowid of the last inserted row.
    public var lastInsertRowID: Int64 { sqlite3_last_insert_rowid(handle) }

    /// Rows changed by the last statement.
    public var changes: Int { Int(sqlite3_changes(handle)) }

    /// True while a transaction is open.
    public var isInTransaction: Bool { sqlite3_get_autocommit(handle) == 0 }

    /// Runs `body` inside a savepoint: released on success, rolled back to on any thrown error.
    ///
    ///     try conn.savepoint { try conn.execute("INSERT …") }
    public func savepoint<T>(_ body: () throws -> T) throws -> T {
        savepointDepth += 1
        defer { savepointDepth -= 1 }
        let name = "sp\(savepointDepth)"
        try executeScript("SAVEPOINT \(name)")
        do {
            let result = try body()
            try executeScript("RELEASE \(name)")
            return result
        } catch {
            try? executeScript("ROLLBACK TO \(name); RELEASE \(name)")
            throw error
        }
    }

    /// `BEGIN IMMEDIATE` … `COMMIT`, rolled back on any thrown error.
    func transaction<T>(immediate: Bool, _ body: () throws -> T) throws -> T {
        try execute(immediate ? "BEGIN IMMEDIATE" : "BEGIN DEFERRED")
        let result: T
        do {
            result = try body()
        } catch {
            rollbackIfNeeded()
            throw error
        }
        do {
            try execute("COMMIT")
        } catch {
            rollbackIfNeeded()
            throw error
        }
        return result
    }

    private func rollbackIfNeeded() {
        if isInTransaction { try? execute("ROLLBACK") }
    }
}
