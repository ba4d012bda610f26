import Foundation
import SehatBench
import SehatFHIR
import SehatJSON
import SehatSandbox
import XCTest

@testable import SehatSync

/// An amendment racing the engine: the item is in flight (its request held on the way) while
/// the visit is amended. The server ends with the amended version — never the old one after
/// the new — and nothing is created twice.
final class AmendmentRaceTests: XCTestCase {
    private func document(systolic: Int) throws -> EncounterDocument { try AmendableVisit.document(systolic: systolic) }
    private func systolicOnServer(_ sandbox: Sandbox) -> [JSON] { AmendableVisit.systolic(on: sandbox) }

    /// Starts a sync whose requests `holds` picks wait at a gate, and returns once one of them does.
    private func syncHeldAtTheGate(_ setup: SandboxClinic, _ holds: @escaping @Sendable (HTTPCall) -> Bool) async throws
        -> (GateTransport, Task<SyncReport, Error>)
    {
        let gate = GateTransport(holdingWhere: holds)
        var settings = SyncConfiguration()
        settings.requestsPerMinute = 0
        let engine = try SyncEngine(client: setup.client, transport: gate, configuration: settings, sleeper: ClockSleeper(clock: setup.clock))
        let sync = Task { try await engine.sync(untilIdle: true, timeout: 600) }
        let deadline = Date().addingTimeInterval(20)  // a bound, not a wait: the loop only yields
        while gate.parked == 0 && Date() < deadline { await Task.yield() }
        XCTAssertEqual(gate.parked, 1, "the request is on its way")
        return (gate, sync)
    }

    func testAnUpdateInFlightWhileAmendedAgainEndsWithTheLastAmendment() async throws {
        let setup = try SandboxClinic(keepBodies: true)
        defer { setup.stop() }
        try setup.client.recordEncounter(try document(systolic: 120))
        _ = try await setup.engine().sync()
        try setup.client.amendEncounter(try document(systolic: 130), reason: "misread")
        let (gate, sync) = try await syncHeldAtTheGate(setup) { $0.method == "PUT" }
        let inFlight = try XCTUnwrap(try setup.client.outboxItems(status: .processing).first)
        XCTAssertEqual(inFlight.operation, .update)

        let again = try setup.client.amendEncounter(try document(systolic: 140), reason: "misread twice")
        XCTAssertEqual(again.outboxItemIDs.count, 1, "a new update, queued after the one in flight")
        XCTAssertEqual(try setup.client.outboxItem(again.outboxItemIDs[0]).item.dependsOn.contains(inFlight.id), true)
        gate.release()
        let report = try await sync.value
        XCTAssertEqual(report.exitStatus, 0, "\(report.counts)")

        let observations = systolicOnServer(setup.sandbox)
        XCTAssertEqual(observations.count, 1)
        XCTAssertEqual(observations[0].value(at: "valueQuantity.value")?.numberText, "140", "the last amendment")
        XCTAssertEqual(observations[0].value(at: "meta.versionId")?.stringValue, "3", "each amendment applied once, in order")
        let puts = setup.sandbox.requestLog().filter { $0.method == "PUT" }.compactMap { $0.body.flatMap { try? JSON.parse($0) } }
        XCTAssertEqual(puts.compactMap { $0.value(at: "valueQuantity.value")?.numberText }, ["130", "140"], "never the old one after the new")
        XCTAssertEqual(try setup.client.outboxItems(status: .conflict), [], "our own earlier update is no conflict")
    }

    func testACreateInFlightWhileAmendedIsFollowedByAnUpdate() async throws {
        let setup = try SandboxClinic(keepBodies: true)
        defer { setup.stop() }
        try setup.client.recordEncounter(try document(systolic: 120))
        // The transaction bundle carrying the visit is held on its way (lookups and the rest pass).
        let base = setup.sandbox.fhirBaseURL
        let (gate, sync) = try await syncHeldAtTheGate(setup) { call in
            call.method == "POST" && call.url == base && String(decoding: call.body ?? [], as: UTF8.self).contains("\"resourceType\":\"Encounter\"")
        }
        let amended = try setup.client.amendEncounter(try document(systolic: 130), reason: "misread")
        XCTAssertEqual(amended.resentItems, [])
        XCTAssertEqual(amended.outboxItemIDs.count, 1, "the create may reach the server: an update follows it")
        gate.release()
        let report = try await sync.value
        XCTAssertEqual(report.exitStatus, 0, "\(report.counts)")

        let observations = systolicOnServer(setup.sandbox)
        XCTAssertEqual(observations.count, 1, "created once")
        XCTAssertEqual(observations[0].value(at: "valueQuantity.value")?.numberText, "130")
        XCTAssertEqual(observations[0].value(at: "meta.versionId")?.stringValue, "2")
        XCTAssertEqual(setup.duplicatedIdentifiers(), [])
        XCTAssertEqual(setup.danglingReferences(), [])
    }
}
