import Foundation
import SehatBench
import SehatFHIR
import SehatJSON
import SehatSandbox
import XCTest

@testable import SehatSync

/// Requests are the scarce resource: independent groups ready together travel in one
/// transaction bundle; a refused pack is split until the group at fault is alone, and the
/// others are not held back; a lost answer is settled by search, and nothing is duplicated;
/// and a slot that frees takes the next unit at once (no rounds).
final class PackingTests: XCTestCase {
    /// The example visit under another number (and, for one, a KFA code the sandbox refuses).
    private func visit(_ number: String, kfa: String = "93001019") throws -> EncounterDocument {
        let text = AmendableVisit.example.replacingOccurrences(of: AmendableVisit.number, with: number)
            .replacingOccurrences(of: "\"kfa_code\": \"93001019\"", with: "\"kfa_code\": \"\(kfa)\"")
        return try EncounterDocument(json: text)
    }

    /// Transaction bundles sent (POSTs to the base) that carried an Encounter.
    private func visitBundles(_ setup: SandboxClinic) -> [RequestRecord] {
        let base = URL(string: setup.sandbox.fhirBaseURL)!.path
        return setup.sandbox.requestLog().filter { $0.method == "POST" && $0.path == base && ($0.body ?? "").contains(#""resourceType":"Encounter""#) }
    }

    func testVisitsReadyTogetherTravelInOneBundleUnlessPackingIsOff() async throws {
        for packing in [true, false] {
            let setup = try SandboxClinic(keepBodies: true, name: "packing-\(packing)")
            defer { setup.stop() }
            for i in 0..<6 { try setup.client.recordEncounter(try visit("ENC-PACK-\(i)")) }
            // The prerequisites first (lookups, the location, the role), then the visits.
            let engine = try setup.engine { $0.packing = packing }
            let report = try await engine.sync(untilIdle: true, timeout: 600)
            XCTAssertEqual(report.exitStatus, 0, "\(report.counts)")
            XCTAssertEqual(setup.sandbox.counts()["Encounter"], 6)
            XCTAssertEqual(visitBundles(setup).count, packing ? 1 : 6, "packing \(packing): every visit in one bundle (else one each)")
            XCTAssertEqual(setup.duplicatedIdentifiers(), [])
            XCTAssertEqual(setup.danglingReferences(), [])
        }
    }

    /// One visit's Medication carries a KFA code the server does not know: the pack is refused,
    /// split in halves until that visit is alone, which then goes on as any refused group does
    /// (its bad resource fails alone); the other six visits arrive, each once.
    func testARefusedPackIsSplitUntilTheGroupAtFaultIsAlone() async throws {
        let setup = try SandboxClinic(keepBodies: true, unknownCodes: ["93009999"])
        defer { setup.stop() }
        for i in 0..<7 { try setup.client.recordEncounter(try visit("ENC-SPLIT-\(i)", kfa: i == 4 ? "93009999" : "93001019")) }
        let report = try await setup.engine().sync(untilIdle: true, timeout: 600)
        XCTAssertEqual(report.exitStatus, 4, "the bad Medication waits for a person")
        let failed = try setup.client.outboxItems(status: .failed)
        XCTAssertEqual(failed.map(\.resourceType), ["Medication"], "the bad resource fails alone")
        XCTAssertEqual(setup.sandbox.counts()["Encounter"], 7, "every visit's Encounter arrives; the bad one's prescription waits")
        XCTAssertEqual(setup.sandbox.counts()["Medication"], 6)
        // The pack (7 visits), then halves (3 | 4), then quarters, until the one group is alone: a handful.
        XCTAssertLessThanOrEqual(visitBundles(setup).count, 8, "\(visitBundles(setup).count) bundles")
        let notes = try setup.client.database.read { try $0.query("SELECT DISTINCT outcome FROM sync_log").compactMap { $0["outcome"].string } }
        XCTAssertTrue(notes.contains(AttemptNote.packRefusedSplitting.rawValue), "\(notes)")
        XCTAssertEqual(setup.duplicatedIdentifiers(), [])
        XCTAssertEqual(setup.danglingReferences(), [])
    }

    /// The answer to a packed bundle is lost after the server committed it: each create is
    /// searched and adopted, nothing is sent twice.
    func testAnAnswerLostAfterAPackedBundleCommittedNeverDuplicates() async throws {
        let setup = try SandboxClinic(keepBodies: true)
        defer { setup.stop() }
        let engine = try setup.engine { ($0.criticalTimeout, $0.requestTimeout, $0.longTimeout) = (2, 2, 2) }
        // A first visit, so the prerequisites (lookups, the location, the role) are on the server.
        try setup.client.recordEncounter(try visit("ENC-FIRST"))
        _ = try await engine.sync(untilIdle: true, timeout: 600)
        for i in 0..<4 { try setup.client.recordEncounter(try visit("ENC-LOST-\(i)")) }
        setup.sandbox.setFaults(try FaultPlan(spec: "commit-drop=1"))
        _ = try await engine.sync()
        XCTAssertEqual(setup.sandbox.counts()["Encounter"], 5, "the four committed in one bundle, the answer lost")
        XCTAssertEqual(visitBundles(setup).count, 2)
        setup.sandbox.setFaults(FaultPlan())
        let settled = try await engine.sync(untilIdle: true, timeout: 600)
        XCTAssertEqual(settled.exitStatus, 0, "\(settled.counts)")
        XCTAssertEqual(setup.sandbox.counts()["Encounter"], 5, "adopted, not sent again")
        // What went after the loss: searches, then only what the lost answer left unconfirmed (the
        // visits' closing updates, found nowhere by a search) — no create a second time.
        let after = visitBundles(setup).dropFirst(2).flatMap { $0.body.flatMap { try? JSON.parse($0) }?["entry"]?.arrayValue ?? [] }
        XCTAssertEqual(Set(after.compactMap { $0.value(at: "request.method")?.stringValue }), ["PUT"])
        XCTAssertEqual(setup.duplicatedIdentifiers(), [])
    }

    /// A pack stops at its byte and entry limits; a group larger than the limit still goes, alone.
    func testAPackKeepsToItsLimits() async throws {
        for (entries, bytes, expected) in [(500, 1024, 5), (20, 4 << 20, 5), (40, 4 << 20, 3)] {
            let setup = try SandboxClinic(keepBodies: true, name: "limits-\(entries)-\(bytes)")
            defer { setup.stop() }
            for i in 0..<5 { try setup.client.recordEncounter(try visit("ENC-LIMIT-\(i)")) }
            let report = try await setup.engine { ($0.maxBundleEntries, $0.maxBundleBytes) = (entries, bytes) }.sync(untilIdle: true, timeout: 600)
            XCTAssertEqual(report.exitStatus, 0, "\(report.counts)")
            XCTAssertEqual(setup.sandbox.counts()["Encounter"], 5)
            let sizes = visitBundles(setup).compactMap { $0.body.flatMap { try? JSON.parse($0) }?["entry"]?.arrayValue?.count }
            XCTAssertEqual(sizes.count, expected, "\(entries) entries, \(bytes) bytes: \(sizes)")
            XCTAssertTrue(sizes.allSatisfy { $0 <= max(entries, 17) }, "\(sizes)")
        }
    }

    /// No rounds: while one visit's bundle hangs, the other slot keeps taking the next unit.
    func testOneSlowRequestNeverHoldsBackTheOthers() async throws {
        let setup = try SandboxClinic()
        defer { setup.stop() }
        for i in 0..<5 { try setup.client.recordEncounter(try visit(i == 0 ? "ENC-SLOW" : "ENC-FAST-\(i)")) }
        let gate = GateTransport(holdingWhere: { String(decoding: $0.body ?? [], as: UTF8.self).contains("ENC-SLOW") })
        var settings = SyncConfiguration()
        (settings.requestsPerMinute, settings.packing, settings.concurrency) = (0, false, 2)
        let engine = try SyncEngine(client: setup.client, transport: gate, configuration: settings, sleeper: ClockSleeper(clock: setup.clock))
        let sync = Task { try await engine.sync(untilIdle: true, timeout: 600) }
        let deadline = Date().addingTimeInterval(20)  // a bound, not a wait: the loop only yields
        while (setup.sandbox.counts()["Encounter"] ?? 0) < 4 && Date() < deadline { await Task.yield() }
        XCTAssertEqual(gate.parked, 1, "the slow visit is still on its way")
        XCTAssertEqual(setup.sandbox.counts()["Encounter"], 4, "the four others went through the other slot meanwhile")
        gate.release()
        let report = try await sync.value
        XCTAssertEqual(report.exitStatus, 0, "\(report.counts)")
        XCTAssertEqual(setup.sandbox.counts()["Encounter"], 5)
    }

    /// The registry's lookups ready together go in one batch of searches; each answer is read as
    /// a lookup's own (found: the IHS id; not found: held for registration).
    func testLookupsReadyTogetherTravelInOneBatchOfSearches() async throws {
        let setup = try SandboxClinic(keepBodies: true)
        defer { setup.stop() }
        try setup.client.addPatient(PatientInput(nik: "3171022309909999", name: "Belum Terdaftar", gender: .female, birthDate: "1991-01-01"))
        let report = try await setup.engine().sync()
        XCTAssertEqual(report.exitStatus, 3, "the unregistered patient is held: \(report.counts)")
        let base = URL(string: setup.sandbox.fhirBaseURL)!.path
        let batches = setup.sandbox.requestLog().filter { $0.method == "POST" && $0.path == base && ($0.body ?? "").contains(#""type":"batch""#) }
        XCTAssertEqual(batches.count, 1)
        XCTAssertEqual(setup.sandbox.requestLog().filter { $0.method == "GET" }.count, 0, "no lookup went alone")
        let lookups = try setup.client.outboxItems(limit: 1_000).filter { $0.operation == .lookup }
        XCTAssertEqual(lookups.count, SampleClinic.patients.count + SampleClinic.practitioners.count + 1)
        XCTAssertEqual(lookups.filter { $0.status == .held }.count, 1)
        XCTAssertEqual(lookups.first { $0.status == .held }?.hold, .registrationRequired)
        XCTAssertTrue(lookups.filter { $0.status != .held }.allSatisfy { $0.status == .completed })
        let ihs = try setup.client.database.read { try $0.scalar("SELECT count(*) FROM patients WHERE ihs_id IS NOT NULL").int }
        XCTAssertEqual(ihs, SampleClinic.patients.count, "each found patient learned their IHS id")
    }
}
