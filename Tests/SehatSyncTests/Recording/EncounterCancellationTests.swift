import Foundation
import SehatBench
import SehatFHIR
import SehatJSON
import XCTest

@testable import SehatSync

/// Cancelling a visit: before it left (nothing ever leaves), and after (everything becomes
/// entered-in-error on the server, nothing is created again, the old versions are kept).
final class EncounterCancellationTests: XCTestCase {
    func testAVisitCancelledBeforeItLeftNeverLeaves() async throws {
        let setup = try SandboxClinic()
        defer { setup.stop() }
        let recorded = try setup.client.recordEncounter(setup.clinic.fullVisit(number: "CANCEL-1"))
        let cancelled = try setup.client.cancelEncounter(number: "CANCEL-1", reason: "recorded for the wrong patient")
        XCTAssertEqual(cancelled.withdrawnOnServer, [])
        XCTAssertEqual(Set(cancelled.droppedItems), Set(recorded.outboxItemIDs.filter { id in
            (try? setup.client.outboxItems(limit: 10_000).first { $0.id == id }?.resourceID).flatMap { $0 } != nil
        }))
        let report = try await setup.engine().sync()
        XCTAssertEqual(report.exitStatus, 0, "withdrawn items are not failures: \(report.counts)")
        XCTAssertEqual(report.count(.dead), 0)
        XCTAssertEqual(report.count(.withdrawn), cancelled.droppedItems.count)
        let counts = try TestClinic.countedAndMaintained(setup.client)
        XCTAssertEqual(counts.maintained, counts.counted, "withdrawn items are counted as withdrawn, not dead")
        XCTAssertEqual(setup.sandbox.counts()["Encounter"] ?? 0, 0)
        XCTAssertEqual(setup.sandbox.counts()["Observation"] ?? 0, 0)
        let items = try setup.client.outboxItems(limit: 10_000).filter { recorded.outboxItemIDs.contains($0.id) }
        XCTAssertTrue(items.allSatisfy { $0.status == .withdrawn && ($0.lastError ?? "").hasPrefix("withdrawn: encounter CANCEL-1 cancelled") },
                      "\(items.map { ($0.status, $0.lastError) })")
        XCTAssertThrowsError(try setup.client.retryItem(items[0].id)) { error in
            XCTAssertTrue((error as? FieldError)?.reason.contains("was cancelled") == true, "\(error)")
        }
    }

    func testAVisitCancelledAfterItWasSentIsEnteredInErrorThere() async throws {
        let setup = try SandboxClinic()
        defer { setup.stop() }
        try setup.client.recordEncounter(setup.clinic.fullVisit(number: "CANCEL-2"))
        _ = try await setup.engine().sync()
        let before = setup.sandbox.counts()
        XCTAssertEqual(before["Encounter"], 1)

        let cancelled = try setup.client.cancelEncounter(number: "CANCEL-2", reason: "the patient was never seen")
        XCTAssertEqual(cancelled.droppedItems, [])
        XCTAssertEqual(cancelled.withdrawnOnServer.count, cancelled.outboxItemIDs.count)
        let report = try await setup.engine().sync()
        XCTAssertEqual(report.exitStatus, 0, "\(report.counts)")
        XCTAssertEqual(setup.sandbox.counts(), before, "nothing created again")

        let encounter = try XCTUnwrap(setup.sandbox.resources(ofType: "Encounter").first)
        XCTAssertEqual(encounter["status"]?.stringValue, "entered-in-error")
        XCTAssertEqual(encounter.value(at: "meta.versionId")?.stringValue, "2", "created (finished, in its bundle), then withdrawn")
        for condition in setup.sandbox.resources(ofType: "Condition") {
            XCTAssertEqual(condition.value(at: "verificationStatus.coding")?[0]?["code"]?.stringValue, "entered-in-error")
            XCTAssertNil(condition["clinicalStatus"])
        }
        for type in ["Observation", "Procedure", "MedicationRequest", "ServiceRequest", "DiagnosticReport", "Composition"] {
            for resource in setup.sandbox.resources(ofType: type) {
                XCTAssertEqual(resource["status"]?.stringValue, "entered-in-error", type)
            }
        }
        let history = try setup.client.database.read { try $0.scalar("SELECT count(*) FROM resource_history WHERE change = 'cancelled'").int }
        XCTAssertEqual(history, cancelled.withdrawnOnServer.count, "every previous version kept")
        let reason = try setup.client.database.read { try $0.scalar("SELECT cancel_reason FROM encounters WHERE number = 'CANCEL-2'").string }
        XCTAssertEqual(reason, "the patient was never seen")

        XCTAssertThrowsError(try setup.client.cancelEncounter(number: "CANCEL-2", reason: "again")) { error in
            XCTAssertEqual((error as? FieldError)?.field, "number")
        }
        XCTAssertThrowsError(try setup.client.cancelEncounter(number: "NOPE", reason: "x")) { error in
            XCTAssertEqual((error as? FieldError)?.field, "number")
        }
    }

    func testACancellationNeedsAReason() throws {
        let clinic = try TestClinic()
        defer { clinic.remove() }
        try clinic.client.recordEncounter(clinic.fullVisit(number: "CANCEL-3"))
        let before = try clinic.tableCounts()
        XCTAssertThrowsError(try clinic.client.cancelEncounter(number: "CANCEL-3", reason: "  ")) { error in
            XCTAssertEqual((error as? FieldError)?.field, "reason")
        }
        XCTAssertEqual(try clinic.tableCounts(), before)
    }
}
