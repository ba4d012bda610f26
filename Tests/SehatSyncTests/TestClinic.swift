import Foundation
import SehatBench
import SehatStore
import XCTest

@testable import SehatSync

/// A configured client on a fresh database with an injected clock, plus the sample registry.
struct TestClinic {
    static let now = try! FHIRDateTime.parse("2026-01-10T10:00:00Z")
    let directory: String
    let client: SehatClient
    let clock: ManualClock
    let patients: [PatientInput]

    init(profile: Profile = .satusehat, register: Bool = true, name: String = #function) throws {
        directory = NSTemporaryDirectory() + "sehat-sync-tests-\(name.filter(\.isLetter))-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        clock = ManualClock(TestClinic.now)
        client = try SehatClient(path: directory + "/clinic.db", clock: clock)
        try "s3cr3t-\(UUID().uuidString)\n".write(toFile: directory + "/secret", atomically: true, encoding: .utf8)
        try client.configure(Configuration(orgID: SampleClinic.orgID, clientID: "client", clientSecretFile: directory + "/secret", profile: profile))
        patients = register ? try SampleClinic.register(client) : []
    }

    func remove() { try? FileManager.default.removeItem(atPath: directory) }

    /// The maintained counts (`outbox_counts` and `outbox_hours`, kept by triggers) and progress
    /// per type as the report reads it through its indexes, beside the outbox counted row by
    /// row: they must always agree.
    static func countedAndMaintained(_ client: SehatClient) throws -> (counted: [String: Int], maintained: [String: Int]) {
        try client.database.read { conn in
            let counted = try conn.query(
                """
                SELECT lane || '/' || CASE WHEN withdrawn = 1 THEN 'withdrawn' WHEN conflict = 1 THEN 'conflict' ELSE status END AS k, count(*) AS n
                FROM outbox GROUP BY 1
                """)
            let maintained = try conn.query("SELECT lane || '/' || status AS k, n FROM outbox_counts WHERE n > 0")
            // The report's tables (migration 12): the queue per hour, and resources per type.
            let countedHours = try conn.query(
                """
                SELECT k, sum(n) AS n FROM (
                    SELECT 'recorded ' || substr(created_at, 1, 13) AS k, 1 AS n FROM outbox WHERE withdrawn = 0
                    UNION ALL SELECT 'delivered ' || substr(coalesce(completed_at, updated_at), 1, 13), 1 FROM outbox WHERE withdrawn = 0 AND status = 'completed'
                    UNION ALL SELECT 'stopped ' || substr(updated_at, 1, 13), 1 FROM outbox WHERE withdrawn = 0 AND status IN ('failed', 'held', 'dead'))
                GROUP BY k
                """)
            let maintainedHours = try conn.query(
                """
                SELECT 'recorded ' || hour AS k, recorded AS n FROM outbox_hours WHERE recorded <> 0
                UNION ALL SELECT 'delivered ' || hour, delivered FROM outbox_hours WHERE delivered <> 0
                UNION ALL SELECT 'stopped ' || hour, stopped FROM outbox_hours WHERE stopped <> 0
                """)
            let countedProgress = try conn.query(
                """
                SELECT k, sum(n) AS n FROM (
                    SELECT 'recorded ' || type AS k, 1 AS n FROM (SELECT coalesce(resource_type, queue) AS type, coalesce(resource_id, id) AS r,
                        min(status = 'completed') AS done FROM outbox WHERE withdrawn = 0 GROUP BY 1, 2)
                    UNION ALL SELECT 'sent ' || type, done FROM (SELECT coalesce(resource_type, queue) AS type, coalesce(resource_id, id) AS r,
                        min(status = 'completed') AS done FROM outbox WHERE withdrawn = 0 GROUP BY 1, 2))
                GROUP BY k HAVING sum(n) <> 0
                """)
            // Progress as the report reads it, through its indexes.
            var read: [String: Int] = [:]
            for progress in try SyncReportReader.progress(conn) {
                read["recorded " + progress.resourceType] = progress.recorded
                if progress.sent != 0 { read["sent " + progress.resourceType] = progress.sent }
            }
            func map(_ rows: [Row]) -> [String: Int] { Dictionary(rows.map { ($0["k"].string ?? "", $0["n"].int ?? 0) }, uniquingKeysWith: +) }
            return (map(counted).merging(map(countedHours)) { $1 }.merging(map(countedProgress)) { $1 },
                    map(maintained).merging(map(maintainedHours)) { $1 }.merging(read) { $1 })
        }
    }

    /// Row counts of every table, to prove a refused record wrote nothing.
    func tableCounts() throws -> [String: Int] {
        try client.database.read { conn in
            var counts: [String: Int] = [:]
            for name in try conn.query("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'").compactMap({ $0[0].string }) {
                counts[name] = try conn.scalar("SELECT count(*) FROM \(name)").int
            }
            return counts
        }
    }

    /// A visit with every kind of resource the SATUSEHAT module spec lists.
    func fullVisit(number: String = "ENC-FULL") -> EncounterDocument {
        var doc = SampleClinic.labVisit(number: number, patient: SampleClinic.patients[0], finishedBefore: TestClinic.now)
        doc.vitals = Array(doc.vitals.prefix(2))
        doc.procedures = [.init(icd9cm: "89.52", display: "Electrocardiogram")]
        return doc
    }

    static var repositoryRoot: URL {
        var url = URL(fileURLWithPath: #filePath)
        while !FileManager.default.fileExists(atPath: url.appendingPathComponent("Package.swift").path) { url.deleteLastPathComponent() }
        return url
    }
}
