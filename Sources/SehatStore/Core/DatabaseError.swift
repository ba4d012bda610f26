import CSQLite
import Foundation

/// An error from SQLite, carrying the extended result code, SQLite's message and the SQL.
///
///     catch let error as DatabaseError where error.code == SQLITE_FULL { … }
public struct DatabaseError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The extended result code (`sqlite3_extended_errcode`).
    public let extendedCode: Int32
    /// SQLite's own message.
    public let message: String
    /// The statement that failed, when there was one.
    public let sql: String?
    /// The operating system's error behind it (`sqlite3_system_errno`), 0 when none: an I/O
    /// error with `ENOSPC` is a full disk, whatever SQLite's own code says.
    public let systemErrno: Int32

    /// An error with SQLite's extended result code.
    public init(extendedCode: Int32, message: String, sql: String? = nil, systemErrno: Int32 = 0) {
        self.extendedCode = extendedCode
        self.message = message
        self.sql = sql
        self.systemErrno = systemErrno
    }

    /// The primary result code (`SQLITE_FULL`, `SQLITE_CONSTRAINT`, …).
    public var code: Int32 { extendedCode & 0xFF }

    /// True when the disk (or its quota) is full.
    /// SQLite says `SQLITE_FULL` when a write finds no room, but an I/O error when the room
    /// runs out elsewhere (sizing the WAL index at open: `SQLITE_IOERR_SHMSIZE`); the
    /// system's `ENOSPC` or `EDQUOT` tells them apart.
    public var isDiskFull: Bool {
        code == SQLITE_FULL || systemErrno == ENOSPC || systemErrno == EDQUOT || extendedCode == SQLITE_IOERR | (19 << 8)  // SQLITE_IOERR_SHMSIZE
    }

    /// True for constraint violations (unique, foreign key, check, not null).
    public var isConstraintViolation: Bool { code == SQLITE_CONSTRAINT }

    /// True when a `COMMIT` reported an error: the transaction may still have reached the
    /// disk (seen with injected fsync errors), so callers must treat the outcome as unknown.
    public var isCommitOutcomeUnknown: Bool { sql == "COMMIT" }

    /// Code, message and SQL, for a person.
    public var description: String {
        var text = "SQLite error \(extendedCode): \(message)"
        if let sql { text += " — while executing `\(sql)`" }
        return text
    }

    /// An API-misuse error (SQLITE_MISUSE) with our own message.
    public static func misuse(_ message: String, sql: String? = nil) -> DatabaseError {
        DatabaseError(extendedCode: SQLITE_MISUSE, message: message, sql: sql)
    }
}
