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

    func testFailingMigrationLeavesNothingAndIsNotRecorded() throws {
        let path = directory + "/m.db"
        let broken = Migrator([
            Migration(version: 1, name: "good", sql: "CREATE TABLE a (x)"),
            Migration(version: 2, name: "bad", sql: "CREATE TABLE half (x); CREATE TABLE a (x)"),
        ])
        XCTAssertThrowsError(try Database(path: path, migrator: broken))
        let db = try Database(path: path)
        XCTAssertEqual(try Migrator.appliedVersions(in: db), [1])
        XCTAssertNil(try db.read { try $0.queryFirst("SELECT name FROM sqlite_master WHERE name = 'half'") })
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
