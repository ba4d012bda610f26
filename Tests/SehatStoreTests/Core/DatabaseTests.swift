import CSQLite
import Foundation
import XCTest

@testable import SehatStore

final class DatabaseTests: XCTestCase {
    var directory = ""

    override func setUpWithError() throws { directory = try makeTemporaryDirectory() }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(atPath: directory) }

    private func open(_ name: String = "t.db") throws -> Database {
        let db = try Database(path: directory + "/" + name)
        try db.write { try $0.executeScript("CREATE TABLE IF NOT EXISTS t (id INTEGER PRIMARY KEY, x TEXT UNIQUE, n INTEGER)") }
        return db
    }

    func testPragmasAreDurableAndStrict() throws {
        let db = try open()
        let (mode, sync, fk, busy) = try db.withoutTransaction { conn in
            (try conn.scalar("PRAGMA journal_mode").string, try conn.scalar("PRAGMA synchronous").int,
             try conn.scalar("PRAGMA foreign_keys").int, try conn.scalar("PRAGMA busy_timeout").int)
        }
        XCTAssertEqual(mode, "wal")
        XCTAssertEqual(sync, 2, "synchronous must be FULL (2)")
        XCTAssertEqual(fk, 1)
        XCTAssertEqual(busy, 5000)
    }

    func testFilesAreCreatedPrivate() throws {
        let db = try open()
        try db.write { try $0.execute("INSERT INTO t(x) VALUES ('a')") }
        for suffix in ["", "-wal", "-shm"] {
            let attributes = try FileManager.default.attributesOfItem(atPath: directory + "/t.db" + suffix)
            XCTAssertEqual((attributes[.posixPermissions] as? NSNumber)?.intValue, 0o600, "t.db\(suffix)")
        }
    }

    func testExistingFileIsTightenedTo0600() throws {
        let path = directory + "/loose.db"
        _ = FileManager.default.createFile(atPath: path, contents: nil, attributes: [.posixPermissions: 0o644])
        _ = try Database(path: path)
        let attributes = try FileManager.default.attributesOfItem(atPath: path)
        XCTAssertEqual((attributes[.posixPermissions] as? NSNumber)?.intValue, 0o600)
    }

    func testThrownErrorRollsBackEverything() throws {
        struct Boom: Error {}
        let db = try open()
        XCTAssertThrowsError(try db.write { conn in
            try conn.execute("INSERT INTO t(x) VALUES ('a')")
            try conn.execute("INSERT INTO t(x) VALUES ('b')")
            throw Boom()
        }) { XCTAssertTrue($0 is Boom) }
        XCTAssertEqual(try db.read { try $0.scalar("SELECT count(*) FROM t").int }, 0)
        // The connection is usable afterwards, outside any transaction.
        try db.write { try $0.execute("INSERT INTO t(x) VALUES ('c')") }
        XCTAssertEqual(try db.read { try $0.scalar("SELECT count(*) FROM t").int }, 1)
    }

    func testFailingStatementRollsBackEarlierWrites() throws {
        let db = try open()
        XCTAssertThrowsError(try db.write { conn in
            try conn.execute("INSERT INTO t(x) VALUES ('dup')")
            try conn.execute("INSERT INTO t(x) VALUES ('dup')")
        })
        XCTAssertEqual(try db.read { try $0.scalar("SELECT count(*) FROM t").int }, 0)
    }

    func testErrorsCarryExtendedCodeMessageAndSQL() throws {
        let db = try open()
        try db.write { try $0.execute("INSERT INTO t(x) VALUES (?)", ["same"]) }
        do {
            try db.write { try $0.execute("INSERT INTO t(x) VALUES (?)", ["same"]) }
            XCTFail("expected a constraint error")
        } catch let error as DatabaseError {
            XCTAssertEqual(error.extendedCode, SQLITE_CONSTRAINT | (8 << 8), "SQLITE_CONSTRAINT_UNIQUE")
            XCTAssertEqual(error.code, SQLITE_CONSTRAINT)
            XCTAssertTrue(error.isConstraintViolation)
            XCTAssertTrue(error.message.contains("UNIQUE constraint failed: t.x"), error.message)
            XCTAssertEqual(error.sql, "INSERT INTO t(x) VALUES (?)")
            XCTAssertTrue(error.description.contains("2067"))
        }
        XCTAssertThrowsError(try db.read { try $0.query("SELECT nope FROM t") }) { error in
            XCTAssertEqual((error as? DatabaseError)?.code, SQLITE_ERROR)
            XCTAssertEqual((error as? DatabaseError)?.sql, "SELECT nope FROM t")
        }
    }

    func testWrongArgumentCountIsMisuse() throws {
        let db = try open()
        XCTAssertThrowsError(try db.write { try $0.execute("INSERT INTO t(x, n) VALUES (?, ?)", ["only one"]) }) {
            XCTAssertEqual(($0 as? DatabaseError)?.code, SQLITE_MISUSE)
        }
    }

    func testValuesRoundTrip() throws {
        let db = try Database(path: ":memory:")
        let row = try db.write { conn -> Row? in
            try conn.executeScript("CREATE TABLE v (i INTEGER, r REAL, s TEXT, b BLOB, z)")
            try conn.execute("INSERT INTO v VALUES (?, ?, ?, ?, ?)", [.integer(Int64.max), 36.6, "Jl. Merdeka — ✓", .blob([0, 1, 255]), nil])
            return try conn.queryFirst("SELECT * FROM v")
        }
        XCTAssertEqual(row?["i"], .integer(Int64.max))
        XCTAssertEqual(row?["r"], .real(36.6))
        XCTAssertEqual(row?["s"], .text("Jl. Merdeka — ✓"))
        XCTAssertEqual(row?["b"], .blob([0, 1, 255]))
        XCTAssertEqual(row?["z"], .null)
        XCTAssertEqual(row?["missing"], .null)
    }

    func testSavepointRollsBackOnlyItsOwnWork() throws {
        struct Boom: Error {}
        let db = try open()
        try db.write { conn in
            try conn.execute("INSERT INTO t(x) VALUES ('kept')")
            XCTAssertThrowsError(try conn.savepoint {
                try conn.execute("INSERT INTO t(x) VALUES ('dropped')")
                throw Boom()
            })
            try conn.savepoint {
                try conn.execute("INSERT INTO t(x) VALUES ('nested-kept')")
                XCTAssertThrowsError(try conn.savepoint { try conn.execute("INSERT INTO t(x) VALUES ('kept')") })
            }
        }
        let values = try db.read { try $0.query("SELECT x FROM t ORDER BY id").compactMap { $0[0].string } }
        XCTAssertEqual(values, ["kept", "nested-kept"])
    }

    func testReentrancyIsAnErrorNotADeadlock() throws {
        let db = try open()
        XCTAssertThrowsError(try db.write { _ in try db.read { _ in 1 } }) { error in
            XCTAssertEqual((error as? DatabaseError)?.code, SQLITE_MISUSE)
            XCTAssertTrue("\(error)".contains("not reentrant"))
        }
        // Another database may be used from inside.
        let other = try open("other.db")
        XCTAssertEqual(try db.write { _ in try other.read { try $0.scalar("SELECT 7").int } }, 7)
    }

    func testConcurrentWritersLoseNothing() async throws {
        let db = try open()
        let writers = 8
        let perWriter = 150
        try await withThrowingTaskGroup(of: Void.self) { group in
            for writer in 0..<writers {
                group.addTask {
                    for i in 0..<perWriter {
                        try db.write { conn in
                            let n = try conn.scalar("SELECT coalesce(max(n), 0) FROM t").int ?? 0
                            try conn.execute("INSERT INTO t(x, n) VALUES (?, ?)", [.text("\(writer)-\(i)"), .integer(Int64(n + 1))])
                        }
                    }
                }
            }
            try await group.waitForAll()
        }
        let (count, maxN, distinct) = try db.read { conn in
            (try conn.scalar("SELECT count(*) FROM t").int, try conn.scalar("SELECT max(n) FROM t").int,
             try conn.scalar("SELECT count(DISTINCT n) FROM t").int)
        }
        XCTAssertEqual(count, writers * perWriter)
        // Each read-then-write saw every earlier commit: the counter never repeats.
        XCTAssertEqual(maxN, writers * perWriter)
        XCTAssertEqual(distinct, writers * perWriter)
    }

    func testCommittedWritesSurviveReopen() throws {
        do {
            let db = try open()
            try db.write { try $0.execute("INSERT INTO t(x) VALUES ('durable')") }
        }
        let again = try open()
        XCTAssertEqual(try again.read { try $0.scalar("SELECT x FROM t").string }, "durable")
        XCTAssertEqual(try again.withoutTransaction { try $0.scalar("PRAGMA integrity_check").string }, "ok")
    }
}
