import Foundation
import SehatStore
import XCTest

@testable import SehatSync

/// `Schemas/store.sql` must be exactly what the migrations build.
final class StoreSchemaTests: XCTestCase {
    private func schema(_ db: Database) throws -> [String] {
        try db.read { conn in
            try conn.query("SELECT type, name, tbl_name, sql FROM sqlite_master WHERE name NOT LIKE 'sqlite_%' ORDER BY type, name").map { row in
                let sql = (row["sql"].string ?? "").split(whereSeparator: \.isWhitespace).joined(separator: " ")
                return "\(row["type"].string ?? "") \(row["name"].string ?? "") on \(row["tbl_name"].string ?? ""): \(sql)"
            }
        }
    }

    func testSchemaFileEqualsWhatTheMigrationsProduce() throws {
        let migrated = try Database(path: ":memory:", migrator: StoreSchema.migrator)
        let fromFile = try Database(path: ":memory:")
        let sql = try String(contentsOf: TestClinic.repositoryRoot.appendingPathComponent("Schemas/store.sql"), encoding: .utf8)
        try fromFile.write { try $0.executeScript(sql) }
        let expected = try schema(migrated)
        XCTAssertGreaterThan(expected.count, 20)
        XCTAssertEqual(try schema(fromFile), expected)
    }

    func testReopeningAMigratedDatabaseChangesNothing() throws {
        let clinic = try TestClinic()
        defer { clinic.remove() }
        let before = try schema(clinic.client.database)
        let again = try SehatClient(path: clinic.directory + "/clinic.db")
        XCTAssertEqual(try schema(again.database), before)
        XCTAssertEqual(try Migrator.appliedVersions(in: again.database), [1])
        XCTAssertEqual(try again.outboxCounts().reduce(0) { $0 + $1.count }, 7)
    }
}
