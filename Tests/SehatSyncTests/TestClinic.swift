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
