import Foundation
import SehatBench
import SehatSandbox
import SehatStore
import XCTest

@testable import SehatSync

/// End to end against a sandbox that refuses the way SATUSEHAT sometimes does: a bare array
/// of rule violations, with HTTP 200 or 400.
final class RuleViolationTests: XCTestCase {
    /// Forgets that the server has these resources, as when an answer was lost and nothing
    /// marked the items to search first: the next sync POSTs them again.
    private func forget(_ items: [Int64], _ setup: SandboxClinic) throws {
        try setup.client.database.write { conn in
            for id in items {
                try conn.execute("UPDATE resources SET server_id = NULL WHERE local_id = (SELECT resource_id FROM outbox WHERE id = ?)", [.integer(id)])
                try conn.execute("UPDATE outbox SET status = 'pending', needs_check = 0, completed_at = NULL WHERE id = ?", [.integer(id)])
            }
            try conn.execute(
                """
                UPDATE outbox SET unresolved_deps = (SELECT count(*) FROM outbox_deps d JOIN outbox dep ON dep.id = d.depends_on
                                                     WHERE d.item_id = outbox.id AND dep.status <> 'completed')
                WHERE status <> 'completed'
                """)
        }
    }

    func testA20002OnASingleCreateIsAdoptedNotResent() async throws {
        for status in [200, 400] {
            let setup = try SandboxClinic(name: "single\(status)")
            defer { setup.stop() }
            let engine = try setup.engine { $0.bundles = false }
            let first = try await engine.sync()
            XCTAssertEqual(first.exitStatus, 0)
            let location = try XCTUnwrap(try setup.client.outboxItems().first { $0.resourceType == "Location" })
            let serverID = try XCTUnwrap(try setup.client.serverID(forLocalID: location.resourceID!))
            try forget([location.id], setup)
            setup.sandbox.setFaults(try FaultPlan(spec: "rule-array=\(status)"))
            let report = try await engine.sync()
            XCTAssertEqual(report.exitStatus, 0, "\(report.counts)")
            XCTAssertEqual(try setup.client.serverID(forLocalID: location.resourceID!), serverID, "adopted the one the server has")
            XCTAssertEqual(setup.sandbox.counts()["Location"], 2, "nothing created twice")
            let notes = try setup.client.database.read { try $0.query("SELECT outcome FROM sync_log WHERE item_id = ? ORDER BY id", [.integer(location.id)]).compactMap { $0[0].string } }
            XCTAssertEqual(notes.suffix(2), ["duplicate", "duplicate_found"])
        }
    }

    func testA20002OnABundleAdoptsEachCreate() async throws {
        let setup = try SandboxClinic()
        defer { setup.stop() }
        let visit = try setup.client.recordEncounter(setup.clinic.fullVisit())
        let engine = try setup.engine()
        let first = try await engine.sync()
        XCTAssertEqual(first.exitStatus, 0)
        let before = setup.sandbox.counts()
        let creates = try setup.client.outboxItems(limit: 1000).filter { $0.encounterID == visit.encounterID && $0.operation == .create }.map(\.id)
        try forget(creates, setup)
        setup.sandbox.setFaults(try FaultPlan(spec: "rule-array=200"))
        let report = try await engine.sync()
        XCTAssertEqual(report.exitStatus, 0, "\(report.counts)")
        XCTAssertEqual(setup.sandbox.counts(), before, "every resource adopted, none created twice")
        XCTAssertEqual(setup.duplicatedIdentifiers(), [])
    }

    func testAnyOtherViolationFailsTheItemWithTheRulesMessage() async throws {
        let setup = try SandboxClinic()
        defer { setup.stop() }
        let visit = try setup.client.recordEncounter(SampleClinic.visit(number: "ENC-RULE", patient: SampleClinic.patients[0], finishedBefore: TestClinic.now))
        // An Observation the sandbox's rules refuse (no category), stored as if it had passed the device's checks.
        let observation = try XCTUnwrap(try setup.client.outboxItems(limit: 1000).first { $0.encounterID == visit.encounterID && $0.resourceType == "Observation" })
        try setup.client.database.write { conn in
            let json = try XCTUnwrap(try conn.scalar("SELECT json FROM resources WHERE local_id = ?", [.text(observation.resourceID!)]).string)
            var resource = try JSON.parse(json)
            resource["category"] = nil
            try conn.execute("UPDATE resources SET json = ? WHERE local_id = ?", [.text(resource.text), .text(observation.resourceID!)])
        }
        setup.sandbox.setFaults(try FaultPlan(spec: "rule-array=200"))
        let report = try await setup.engine().sync()
        XCTAssertEqual(report.exitStatus, 4, "\(report.counts)")
        let failed = try XCTUnwrap(try setup.client.outboxItems(status: .failed).first)
        XCTAssertEqual(failed.id, observation.id, "the bad resource fails alone")
        XCTAssertTrue(failed.lastError?.hasPrefix("200: Observation.category is required (RuleNumber: 10001)") == true, failed.lastError ?? "")
        let errors = try setup.client.outboxItem(failed.id).errors
        XCTAssertEqual(errors.last?.category, .client)
        XCTAssertEqual(errors.last?.httpStatus, 200)
    }
}
