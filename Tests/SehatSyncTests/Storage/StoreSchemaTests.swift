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
        XCTAssertEqual(try Migrator.appliedVersions(in: again.database), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12])
        XCTAssertEqual(try again.outboxCounts().reduce(0) { $0 + $1.count }, 7)
    }
}

extension StoreSchemaTests {
    /// A device that recorded under schema 1 keeps its queue when it upgrades.
    func testUpgradingFromVersion1KeepsTheQueueAndGroupsIt() throws {
        let directory = NSTemporaryDirectory() + "sehat-upgrade-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/old.db"
        do {
            let old = try Database(path: path, migrator: Migrator([StoreSchema.migrator.migrations[0]]))
            try old.write { conn in
                try conn.execute("INSERT INTO resources(local_id, resource_type, identifier_system, identifier_value, json, encounter_id, created_at, updated_at) VALUES ('r1', 'Encounter', 's', 'v', '{}', 'e1', 't', 't')")
                try conn.execute("INSERT INTO outbox(lane, queue, target, operation, resource_type, resource_id, encounter_id, priority, max_retries, created_at, updated_at) VALUES ('clinic', 'q', 'satusehat', 'create', 'Encounter', 'r1', 'e1', 100, 3, 't', 't')")
            }
        }
        let upgraded = try SehatClient(path: path)
        XCTAssertEqual(try Migrator.appliedVersions(in: upgraded.database), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12])
        let row = try upgraded.database.read { try $0.queryFirst("SELECT group_id, needs_check, send_singly, status FROM outbox") }
        XCTAssertEqual(row?["group_id"], "e1")
        XCTAssertEqual(row?["needs_check"], 0)
        XCTAssertEqual(row?["status"], "pending")
        XCTAssertEqual(try upgraded.outboxCounts(), [OutboxCount(lane: .clinic, status: .pending, count: 1)], "schema 10 counted the queue it found")
    }

    /// Schema 5 turns the old held-reason sentences into typed columns, once, and drops them.
    func testUpgradingFromVersion4TypesTheHoldReasons() throws {
        let directory = NSTemporaryDirectory() + "sehat-upgrade4-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/old.db"
        do {
            let old = try Database(path: path, migrator: Migrator(Array(StoreSchema.migrator.migrations.prefix(4))))
            try old.write { conn in
                for i in 1...5 {
                    try conn.execute("INSERT INTO resources(local_id, resource_type, identifier_system, identifier_value, json, created_at, updated_at) VALUES (?, 'Location', 's', ?, '{}', 't', 't')",
                                     [.text("r\(i)"), .text("v\(i)")])
                }
                let reasons = ["waits on item 1 (Encounter), failed: 400: bad", "consent: patient 317102******0001 revoked consent at 2026-01-01",
                               "registration required: no patient with NIK 317100******0077 is registered", "waits on item 2 (Patient), dead: gone", nil]
                for (i, reason) in reasons.enumerated() {
                    try conn.execute(
                        "INSERT INTO outbox(lane, queue, target, operation, resource_type, resource_id, priority, max_retries, status, held_reason, created_at, updated_at) VALUES ('clinic', 'q', 'satusehat', 'create', 'Location', ?, 10, 3, ?, ?, 't', 't')",
                        [.text("r\(i + 1)"), .text(reason == nil ? "pending" : "held"), SQLValue(reason)])
                }
            }
        }
        let upgraded = try SehatClient(path: path)
        XCTAssertEqual(try upgraded.outboxItems().map(\.hold),
                       [.waitsOn(item: 1, because: .failed), .consent(.revoked), .registrationRequired, .waitsOn(item: 2, because: .dead), nil])
    }
}
