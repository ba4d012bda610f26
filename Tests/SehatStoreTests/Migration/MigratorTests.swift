import SehatSupport
import Foundation
import XCTest

@testable import SehatStore

final class MigratorTests: XCTestCase {
    var directory = ""

    override func setUpWithError() throws { directory = try makeTemporaryDirectory() }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(atPath: directory) }

    func testMigratesFromEmptyAndRecordsEachVersion() throws {
        let migrator = Migrator([
            Migration(version: 1, name: "one", sql: "CREATE TABLE a (x)"),
            Migration(version: 2, name: "two", sql: "CREATE TABLE b (y); CREATE INDEX b_y ON b(y)"),
        ])
        let db = try Database(path: directory + "/m.db", migrator: migrator)
        XCTAssertEqual(try Migrator.appliedVersions(in: db), [1, 2])
        let names = try db.read { try $0.query("SELECT name FROM sqlite_master WHERE type IN ('table', 'index') ORDER BY name").compactMap { $0[0].string } }
        XCTAssertEqual(names, ["a", "b", "b_y", "schema_migrations"])
    }

    func testReopenAppliesOnlyNewMigrations() throws {
        let runs = Locked<[Int]>([])
        func migration(_ version: Int) -> Migration {
            Migration(version: version, name: "m\(version)") { conn in
                runs.withLock { $0.append(version) }
                try conn.executeScript("CREATE TABLE t\(version) (x)")
            }
        }
        let path = directory + "/m.db"
        _ = try Database(path: path, migrator: Migrator([migration(1)]))
        _ = try Database(path: path, migrator: Migrator([migration(1)]))
        _ = try Database(path: path, migrator: Migrator([migration(1), migration(2)]))
        XCTAssertEqual(runs.withLock { $0 }, [1, 2])
    }

    /// An upgrade is one transaction: a failing migration takes the ones before it in the same
    /// upgrade with it, so a database is never left between two versions.
    func testFailingMigrationLeavesTheDatabaseAsItWas() throws {
        let path = directory + "/m.db"
        _ = try Database(path: path, migrator: Migrator([Migration(version: 1, name: "first", sql: "CREATE TABLE first (x)")]))
        let broken = Migrator([
            Migration(version: 1, name: "first", sql: "CREATE TABLE first (x)"),
            Migration(version: 2, name: "good", sql: "CREATE TABLE a (x)"),
            Migration(version: 3, name: "bad", sql: "CREATE TABLE half (x); CREATE TABLE a (x)"),
        ])
        XCTAssertThrowsError(try Database(path: path, migrator: broken))
        let db = try Database(path: path)
        XCTAssertEqual(try Migrator.appliedVersions(in: db), [1])
        for table in ["a", "half"] {
            XCTAssertNil(try db.read { try $0.queryFirst("SELECT name FROM sqlite_master WHERE name = ?", [.text(table)]) }, table)
        }
    }

    /// After an upgrade the WAL is folded into the database: the new schema is not on disk twice.
    func testMigratingLeavesTheWALEmpty() throws {
        let path = directory + "/m.db"
        let migrations = (1...20).map { Migration(version: $0, name: "m\($0)", sql: "CREATE TABLE t\($0) (x); CREATE INDEX t\($0)_x ON t\($0)(x)") }
        let db = try Database(path: path, migrator: Migrator(migrations))
        XCTAssertEqual(try Migrator.appliedVersions(in: db), Array(1...20))
        let wal = try FileManager.default.attributesOfItem(atPath: path + "-wal")[.size] as? Int
        XCTAssertEqual(wal, 0)
    }

    func testNewerDatabaseIsRefused() throws {
        let path = directory + "/m.db"
        _ = try Database(path: path, migrator: Migrator([
            Migration(version: 1, name: "one", sql: "CREATE TABLE a (x)"), Migration(version: 2, name: "two", sql: "CREATE TABLE b (x)"),
        ]))
        XCTAssertThrowsError(try Database(path: path, migrator: Migrator([Migration(version: 1, name: "one", sql: "CREATE TABLE a (x)")]))) {
            XCTAssertEqual($0 as? MigrationError, .unknownVersions([2]))
        }
    }

    func testMisorderedMigrationsAreRefused() throws {
        let migrator = Migrator([Migration(version: 2, name: "b", sql: "SELECT 1"), Migration(version: 1, name: "a", sql: "SELECT 1")])
        XCTAssertThrowsError(try Database(path: ":memory:", migrator: migrator)) {
            guard case .badOrder = $0 as? MigrationError else { return XCTFail("\($0)") }
        }
    }
}
