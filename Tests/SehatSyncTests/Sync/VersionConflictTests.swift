import Foundation
import SehatBench
import SehatFHIR
import SehatJSON
import SehatSandbox
import XCTest

@testable import SehatSync

/// Conflicts are never silent: an update carries the server version it was based on
/// (`If-Match`); someone else's change in between is a 412, kept with both versions for a
/// person to choose; an update whose answer was lost is not a conflict.
final class VersionConflictTests: XCTestCase {
    private func document(systolic: Int) throws -> EncounterDocument { try AmendableVisit.document(systolic: systolic) }

    private func systolic(_ sandbox: Sandbox) throws -> JSON { try XCTUnwrap(AmendableVisit.systolic(on: sandbox).first) }

    /// The visit sent, then amended, then the amendment's update sent with its answer lost
    /// after the server applied it.
    private func amendedWithTheAnswerLost(_ setup: SandboxClinic) async throws -> SyncEngine {
        try setup.client.recordEncounter(try document(systolic: 120))
        let engine = try setup.engine { ($0.criticalTimeout, $0.requestTimeout, $0.longTimeout) = (2, 2, 2) }
        _ = try await engine.sync()
        try setup.client.amendEncounter(try document(systolic: 130), reason: "misread")
        setup.sandbox.setFaults(try FaultPlan(spec: "commit-drop=1"))
        let lost = try await engine.sync()
        XCTAssertNotEqual(lost.exitStatus, 0)
        let applied = try systolic(setup.sandbox)
        XCTAssertEqual(applied.value(at: "meta.versionId")?.stringValue, "2", "the server applied it; the answer was lost")
        XCTAssertEqual(applied.value(at: "valueQuantity.value")?.numberText, "130")
        return engine
    }

    /// The visit sent, then its systolic Observation changed on the server by someone else.
    private func sentAndChangedElsewhere(_ setup: SandboxClinic) async throws -> String {
        try setup.client.recordEncounter(try document(systolic: 120))
        let first = try await setup.engine().sync()
        XCTAssertEqual(first.exitStatus, 0, "\(first.counts)")
        let serverID = try XCTUnwrap(try systolic(setup.sandbox)["id"]?.stringValue)
        let version = setup.sandbox.changeResource("Observation", serverID) { $0["valueQuantity"]?["value"] = 999 }
        XCTAssertEqual(version, 2)
        return serverID
    }

    func testAnUpdateCarriesTheVersionItWasBasedOnAndRecordsTheNewOne() async throws {
        let setup = try SandboxClinic()
        defer { setup.stop() }
        try setup.client.recordEncounter(try document(systolic: 120))
        _ = try await setup.engine().sync()
        let stored = { try setup.client.database.read { try $0.scalar("SELECT server_version FROM resources WHERE resource_type = 'Observation' AND json LIKE '%8480-6%'").string } }
        XCTAssertEqual(try stored(), "1", "the version the create's answer named")
        try setup.client.amendEncounter(try document(systolic: 130), reason: "misread", by: "Ns. Ani")
        let report = try await setup.engine().sync()
        XCTAssertEqual(report.exitStatus, 0, "\(report.counts)")
        let put = try XCTUnwrap(setup.sandbox.requestLog().last { $0.method == "PUT" })
        XCTAssertEqual(put.ifMatch, "W/\"1\"")
        XCTAssertEqual(try stored(), "2")
        let history = try setup.client.encounterHistory(number: AmendableVisit.number)
        XCTAssertEqual(history.map(\.change), [.amended])
        XCTAssertEqual(history.first?.onServer, true)
        XCTAssertEqual(history.first?.baseVersion, "1", "the history says what the change was based on")
        XCTAssertEqual(history.first?.changedBy, "Ns. Ani", "and who made it")
        XCTAssertThrowsError(try setup.client.amendEncounter(try document(systolic: 131), reason: "x", by: "bad\u{0}name")) {
            XCTAssertEqual(($0 as? FieldError)?.field, "by")
        }
    }

    func testSomeoneElsesChangeIsAConflictKeptForAPersonAndKeepingLocalSendsItOverTheirs() async throws {
        let setup = try SandboxClinic()
        defer { setup.stop() }
        let serverID = try await sentAndChangedElsewhere(setup)
        try setup.client.amendEncounter(try document(systolic: 130), reason: "misread")
        let report = try await setup.engine().sync()
        XCTAssertNotEqual(report.exitStatus, 0, "a conflict waits for a person")
        XCTAssertEqual(try systolic(setup.sandbox).value(at: "valueQuantity.value")?.numberText, "999", "their version is not overwritten")
        let item = try XCTUnwrap(try setup.client.outboxItems(status: .conflict).first)
        XCTAssertEqual(item.operation, .update)
        XCTAssertEqual(try setup.client.outboxCounts().first { $0.status == .conflict }?.count, 1)
        let counts = try TestClinic.countedAndMaintained(setup.client)
        XCTAssertEqual(counts.maintained, counts.counted, "a conflict is counted as one")
        let conflict = try XCTUnwrap(try setup.client.versionConflict(item: item.id))
        XCTAssertEqual(conflict.basedOn, "1")
        XCTAssertEqual(conflict.serverVersion, "2")
        XCTAssertEqual(conflict.local.value(at: "valueQuantity.value")?.numberText, "130")
        XCTAssertEqual(conflict.server.value(at: "valueQuantity.value")?.numberText, "999")
        XCTAssertEqual(conflict.differingMembers, ["valueQuantity"])
        XCTAssertNil(conflict.kept)
        // Retrying blindly would be refused again; a further change waits for the choice.
        XCTAssertThrowsError(try setup.client.retryItem(item.id)) { XCTAssertEqual(($0 as? FieldError)?.field, "id") }
        XCTAssertThrowsError(try setup.client.amendEncounter(try document(systolic: 131), reason: "again")) {
            XCTAssertTrue("\($0)".contains("outbox resolve \(item.id)"), "\($0)")
        }

        let resolved = try setup.client.resolveConflict(item: item.id, keep: .local, by: "dr. Siti")
        XCTAssertEqual(resolved.kept, .local)
        XCTAssertEqual(resolved.resolvedBy, "dr. Siti")
        XCTAssertNotNil(resolved.resolvedAt)
        let after = try await setup.engine().sync()
        XCTAssertEqual(after.exitStatus, 0, "\(after.counts)")
        let final = try systolic(setup.sandbox)
        XCTAssertEqual(final["id"]?.stringValue, serverID, "updated in place")
        XCTAssertEqual(final.value(at: "valueQuantity.value")?.numberText, "130")
        XCTAssertEqual(final.value(at: "meta.versionId")?.stringValue, "3")
        XCTAssertEqual(setup.sandbox.requestLog().last { $0.method == "PUT" }?.ifMatch, "W/\"2\"", "based on the version it overwrites, knowingly")
        XCTAssertEqual(setup.duplicatedIdentifiers(), [])
        XCTAssertEqual(try setup.client.outboxItem(item.id).item.status, .completed)
        XCTAssertEqual(try setup.client.versionConflict(item: item.id)?.kept, .local, "both versions stay on record")
    }

    func testKeepingTheServersVersionTakesItLocallyAndSendsNothing() async throws {
        let setup = try SandboxClinic()
        defer { setup.stop() }
        _ = try await sentAndChangedElsewhere(setup)
        try setup.client.amendEncounter(try document(systolic: 130), reason: "misread")
        _ = try await setup.engine().sync()
        let item = try XCTUnwrap(try setup.client.outboxItems(status: .conflict).first)
        let resourceID = try XCTUnwrap(item.resourceID)
        try setup.client.resolveConflict(item: item.id, keep: .server)
        let local = try setup.client.database.read { try JSON.parse(try XCTUnwrap($0.scalar("SELECT json FROM resources WHERE local_id = ?", [.text(resourceID)]).string)) }
        XCTAssertEqual(local.value(at: "valueQuantity.value")?.numberText, "999")
        XCTAssertEqual(local["id"]?.stringValue, resourceID, "stored under its local id")
        XCTAssertNil(local["meta"])
        // Its references point at local resources again (the send maps them to server ids).
        let subject = try XCTUnwrap(local.value(at: "subject.reference")?.stringValue)
        let patientID = String(subject.dropFirst("Patient/".count))
        XCTAssertEqual(try setup.client.database.read { try $0.scalar("SELECT count(*) FROM resources WHERE local_id = ?", [.text(patientID)]).int }, 1)
        let history = try setup.client.encounterHistory(number: AmendableVisit.number)
        XCTAssertEqual(history.map(\.change), [.amended, .serverKept])
        XCTAssertEqual(history.last?.previous.value(at: "valueQuantity.value")?.numberText, "130", "the local version is kept")
        let requests = setup.sandbox.requestLog().count
        let after = try await setup.engine().sync()
        XCTAssertEqual(after.exitStatus, 0, "\(after.counts)")
        XCTAssertEqual(setup.sandbox.requestLog().filter { $0.method != "GET" && !$0.path.contains("token") }.count,
                       setup.sandbox.requestLog().prefix(requests).filter { $0.method != "GET" && !$0.path.contains("token") }.count, "nothing sent")
        XCTAssertEqual(try systolic(setup.sandbox).value(at: "valueQuantity.value")?.numberText, "999")
        XCTAssertEqual(try setup.client.outboxItem(item.id).item.status, .completed)
        XCTAssertThrowsError(try setup.client.resolveConflict(item: item.id, keep: .local), "resolved once")
    }

    func testAnUpdateWhoseAnswerWasLostIsSentAgainWithoutAConflict() async throws {
        let setup = try SandboxClinic()
        defer { setup.stop() }
        let engine = try await amendedWithTheAnswerLost(setup)
        setup.sandbox.setFaults(FaultPlan())
        let settled = try await engine.sync(untilIdle: true, timeout: 600)
        XCTAssertEqual(settled.exitStatus, 0, "\(settled.counts)")
        XCTAssertEqual(try setup.client.outboxItems(status: .conflict), [])
        XCTAssertEqual(try systolic(setup.sandbox).value(at: "meta.versionId")?.stringValue, "2", "sent again, found to be ours: not applied twice")
        XCTAssertEqual(try systolic(setup.sandbox).value(at: "valueQuantity.value")?.numberText, "130")
        let outcomes = try setup.client.database.read { try $0.query("SELECT outcome FROM sync_log ORDER BY id").compactMap { $0["outcome"].string } }
        XCTAssertTrue(outcomes.contains(AttemptNote.versionMismatch.rawValue), "\(outcomes)")
        XCTAssertTrue(outcomes.contains(AttemptNote.ownVersionFound.rawValue), "\(outcomes)")
        XCTAssertEqual(try setup.client.database.read { try $0.scalar("SELECT server_version FROM resources WHERE json LIKE '%8480-6%' AND resource_type = 'Observation'").string }, "2")
    }

    /// An update that reached the server unrecorded, then amended again before it was re-sent:
    /// the server holds the device's own earlier version — not a conflict; the newest is sent
    /// on top of it.
    func testTheServerHoldingAnEarlierVersionOfOursIsNotAConflict() async throws {
        let setup = try SandboxClinic()
        defer { setup.stop() }
        let engine = try await amendedWithTheAnswerLost(setup)
        let again = try setup.client.amendEncounter(try document(systolic: 140), reason: "misread twice")
        XCTAssertEqual(again.outboxItemIDs, [], "the update not yet settled sends the newest version")
        setup.sandbox.setFaults(FaultPlan())
        let settled = try await engine.sync(untilIdle: true, timeout: 600)
        XCTAssertEqual(settled.exitStatus, 0, "\(settled.counts)")
        XCTAssertEqual(try setup.client.outboxItems(status: .conflict), [])
        let final = try systolic(setup.sandbox)
        XCTAssertEqual(final.value(at: "valueQuantity.value")?.numberText, "140")
        XCTAssertEqual(final.value(at: "meta.versionId")?.stringValue, "3")
        XCTAssertEqual(setup.sandbox.requestLog().last { $0.method == "PUT" }?.ifMatch, "W/\"2\"", "based on our own earlier version")
        let outcomes = try setup.client.database.read { try $0.query("SELECT outcome FROM sync_log ORDER BY id").compactMap { $0["outcome"].string } }
        XCTAssertTrue(outcomes.contains(AttemptNote.ownEarlierVersionFound.rawValue), "\(outcomes)")
    }
}
