import SehatSupport
import Foundation
import SehatBench
import SehatFHIR
import SehatJSON
import SehatSandbox
import SehatStore
import XCTest

@testable import SehatSync

/// The field at its worst, bounded in time and on loopback only.
final class ChaosTests: XCTestCase {
    func testEverythingArrivesExactlyOnceThroughFaultsExpiryAndAFlappingLink() async throws {
        let setup = try SandboxClinic(register: false, seedPeople: false, unknownCodes: ["93009999"])
        defer { setup.stop() }
        let patients = try SampleClinic.register(setup.client, patientCount: 50)
        try setup.sandbox.seed(patients.map { Sandbox.person("Patient", nik: $0.nik, name: $0.name) }
            + SampleClinic.practitioners.map { Sandbox.person("Practitioner", nik: $0.0, name: $0.1) }
            + [Sandbox.person("Practitioner", nik: "3171099999990001", name: "Relawan Andi")])
        // Offline: 200 visits (every tenth with lab work and a dispense) and 20 panic reports.
        // One visit's drug carries a KFA code the server does not know: it is refused inside a
        // packed bundle, and fixed by an amendment once it has been ("log, fix data, retry").
        func visit(_ i: Int, kfa: String? = nil) -> EncounterDocument {
            let patient = patients[i % patients.count]
            var document = i % 10 == 0
                ? SampleClinic.labVisit(number: "CHAOS-\(i)", patient: patient, finishedBefore: TestClinic.now)
                : SampleClinic.visit(number: "CHAOS-\(i)", patient: patient, finishedBefore: TestClinic.now, offsetMinutes: i % 300)
            if let kfa { document.prescriptions[0].kfaCode = kfa }
            return document
        }
        let refused = 57
        for i in 0..<200 { try setup.client.recordEncounter(visit(i, kfa: i == refused ? "93009999" : nil)) }
        var fixed = false
        var panics: [String] = []
        for i in 0..<20 {
            // Half of them with the victim's and volunteer's NIKs: those also go to SATUSEHAT.
            let known = i % 2 == 0
            panics.append(try setup.client.recordPanic(PanicReport(
                latitude: -6.2 + Double(i) / 100, longitude: 106.8, severity: .critical, type: "fall",
                victimNIK: known ? patients[i].nik : nil, volunteerNIK: known ? "3171099999990001" : nil, referral: known && i % 4 == 0)).eventID)
        }
        let expected = setup.client.database
        let expectedCounts: [String: Int] = try expected.read { conn in
            Dictionary(uniqueKeysWithValues: try conn.query(
                "SELECT resource_type, count(*) AS n FROM resources WHERE resource_type NOT IN ('Patient', 'Practitioner') GROUP BY resource_type"
            ).map { ($0["resource_type"].string!, $0["n"].int!) })
        }

        // 20 % of requests fail, in every way the sandbox knows; the link flaps; tokens expire mid-run.
        setup.sandbox.setFaults(try FaultPlan(spec: "500=0.04,502=0.03,503=0.04,429=0.03,drop=0.03,commit-drop=0.03,retry-after=2"))
        let link = Locked(LinkState.online)
        var settings = SyncConfiguration()
        (settings.criticalTimeout, settings.requestTimeout, settings.longTimeout) = (1, 1, 1)
        settings.requestsPerMinute = 0
        // Packed, but in packs of a few visits, so there are enough requests for every fault to strike packs too.
        settings.maxBundleEntries = 60
        let engine = try SyncEngine(client: setup.client, transport: SimulatedLink(wrapping: URLSessionTransport()) { link.withLock { $0 } },
                                    configuration: settings, sleeper: ClockSleeper(clock: setup.clock))
        let expired = Locked(false)
        let sandbox = setup.sandbox
        var rounds = 0
        // After the first round (some visits sent, some not, some in doubt), 20 visits are amended:
        // the systolic pressure corrected to 140.
        let amendedNumbers = stride(from: 1, to: 200, by: 10).map { "CHAOS-\($0)" }
        while rounds < 200 {
            rounds += 1
            if rounds == 2 {
                for number in amendedNumbers {
                    let i = Int(number.dropFirst(6))!
                    var document = SampleClinic.visit(number: number, patient: patients[i % patients.count], finishedBefore: TestClinic.now, offsetMinutes: i % 300)
                    document.vitals[0].value = 140
                    _ = try setup.client.amendEncounter(document, reason: "systolic corrected")
                }
            }
            // Once the bad drug has been refused, the visit is amended with the right code.
            if !fixed, try setup.client.outboxItems(status: .failed).contains(where: { $0.resourceType == "Medication" }) {
                _ = try setup.client.amendEncounter(visit(refused), reason: "KFA code corrected")
                fixed = true
            }
            link.withLock { $0 = rounds % 4 == 3 ? LinkState(mode: .offline) : (rounds % 4 == 1 ? LinkState(mode: .flaky, loss: 0.2) : .online) }
            let report = try await engine.sync(untilIdle: true, timeout: 120) { progress in
                if progress.completed > 300, !expired.withLock({ $0 }) {
                    expired.withLock { $0 = true }
                    sandbox.expireTokens()
                }
            }
            if report.exitStatus == 0 && link.withLock({ $0.mode }) == .online { break }
            // A webhook that failed its whole schedule (1–32 s) in a bad stretch waits in the
            // dead-letter queue for a person (seeds/000); the operator revives it, as they would.
            for dead in try setup.client.outboxItems(lane: .emergency, status: .dead) { try setup.client.retryItem(dead.id) }
        }
        XCTAssertLessThan(rounds, 200, "the outbox drained")
        XCTAssertTrue(fixed, "the bad drug was refused, then amended")
        // The refusal came inside a bundle — split out of a pack when the timing put the visit in
        // one with others (PackingTests proves that path alone, deterministically).
        let refusedInABundle = try setup.client.database.read { conn in
            try conn.scalar(
                """
                SELECT count(*) FROM sync_log s JOIN outbox o ON o.id = s.item_id
                WHERE o.resource_type = 'Medication' AND s.outcome IN ('pack_refused_splitting', 'bundle_refused_sending_singly')
                """).int ?? 0
        }
        XCTAssertGreaterThan(refusedInABundle, 0, "the bad drug was refused inside a bundle")
        XCTAssertTrue(expired.withLock { $0 }, "tokens expired mid-run")
        XCTAssertGreaterThan(setup.sandbox.requestLog().filter { $0.status == 401 }.count, 0)

        let status = try setup.client.status()
        let stuck = try setup.client.outboxItems(limit: 100_000).filter { $0.status != .completed }
        XCTAssertEqual(status.count(.pending) + status.count(.held) + status.count(.failed) + status.count(.dead), 0,
                       "\(status.counts): \(stuck.map { "\($0.id) \($0.operation) \($0.status): \($0.lastError ?? "-")" })")
        // Every amendment reached the server: the corrected value, in place.
        let systolicServerIDs = try setup.client.database.read { conn in
            try conn.query(
                """
                SELECT r.server_id FROM vitals v JOIN encounters e ON e.local_id = v.encounter_id JOIN resources r ON r.local_id = v.local_id
                WHERE v.loinc = '8480-6' AND e.number IN (SELECT value FROM json_each(?))
                """, [.text(JSON.array(amendedNumbers.map(JSON.string)).text)]).compactMap { $0[0].string }
        }
        XCTAssertEqual(systolicServerIDs.count, amendedNumbers.count)
        let observations = Dictionary(uniqueKeysWithValues: setup.sandbox.resources(ofType: "Observation").compactMap { o in o["id"]?.stringValue.map { ($0, o) } })
        for id in systolicServerIDs {
            XCTAssertEqual(observations[id]?.value(at: "valueQuantity.value")?.numberText, "140", id)
        }
        // Every resource exactly once, every reference resolvable, none ever dangling.
        for (type, count) in expectedCounts { XCTAssertEqual(setup.sandbox.counts()[type], count, type) }
        XCTAssertEqual(setup.duplicatedIdentifiers(), [])
        XCTAssertEqual(setup.danglingReferences(), [])
        XCTAssertEqual(setup.sandbox.referenceViolations(), [], "the server never saw a reference to a resource it did not have")
        // Every panic report reached the emergency service once.
        XCTAssertEqual(Set(setup.sandbox.emergencyNotifications().compactMap { $0["event_id"]?.stringValue }), Set(panics))
        XCTAssertEqual(setup.sandbox.emergencyNotifications().count, 20)
        XCTAssertEqual(setup.sandbox.resources(ofType: "Encounter").filter { $0.value(at: "class.code") == "EMER" }.count, 10,
                       "each known emergency's SATUSEHAT resources exactly once")
        // Through every transition of the run, the maintained counts stayed the counted ones.
        let counts = try TestClinic.countedAndMaintained(setup.client)
        XCTAssertEqual(counts.maintained, counts.counted)
        // The faults really happened.
        let faults = Dictionary(grouping: setup.sandbox.requestLog(), by: \.fault).mapValues(\.count)
        for kind in ["status", "drop", "commit-drop"] { XCTAssertGreaterThan(faults[kind] ?? 0, 0, kind) }
    }
}
