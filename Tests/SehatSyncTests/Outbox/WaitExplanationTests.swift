import Foundation
import SehatBench
import SehatSandbox
import SehatStore
import XCTest

@testable import SehatSync

/// `whyWaiting`: from an item to what holds it, read from typed columns and the sync log.
final class WaitExplanationTests: XCTestCase {
    private func items(_ client: SehatClient) throws -> [OutboxItem] { try client.outboxItems(limit: 10_000) }

    /// A visit's part waits on its Encounter, which the server refused: the chain ends at the
    /// Encounter, with the class of its refusal.
    func testTheChainEndsAtTheRefusedItem() throws {
        let clinic = try TestClinic()
        defer { clinic.remove() }
        try clinic.client.recordEncounter(SampleClinic.visit(number: "W1", patient: clinic.patients[0], finishedBefore: TestClinic.now))
        let all = try items(clinic.client)
        let encounter = try XCTUnwrap(all.first { $0.resourceType == "Encounter" && $0.operation == .create })
        let part = try XCTUnwrap(all.first { $0.dependsOn.contains(encounter.id) && $0.resourceType == "Observation" })

        // Before anything is sent: the part waits on something not yet delivered, the root is
        // pending and due (a lookup or the Encounter itself): a sync is all it needs.
        let before = try clinic.client.whyWaiting(part.id)
        XCTAssertFalse(before.chain.isEmpty)
        XCTAssertEqual(before.cause, .readyNow)
        XCTAssertNil(before.lastAttempt)

        let owner = SyncOwner(id: "test", host: ProcessInfo.processInfo.hostName, pid: getpid(), processStart: ProcessLiveness.startTime(of: getpid()))
        owner.setRunning(true)
        defer { owner.setRunning(false) }
        let now = clinic.clock.now()
        try clinic.client.database.write { conn in
            let outbox = OutboxLifecycle(connection: conn, now: now)
            try outbox.register(owner)
            _ = try outbox.claim([encounter.id], by: owner, leaseUntil: now.addingTimeInterval(300))
            try ErrorLog(connection: conn, now: now).record(
                FailureRecord(category: .client, status: 422, message: "Encounter.period.start is required", url: "https://x/Encounter", requestID: "r1"),
                item: encounter.id, resourceType: "Encounter", resourceID: encounter.resourceID, operation: .create)
            try outbox.fail(encounter.id, by: owner, attempts: 1, error: "Encounter.period.start is required")
        }
        let why = try clinic.client.whyWaiting(part.id)
        XCTAssertEqual(why.item.id, part.id)
        XCTAssertEqual(why.root.id, encounter.id)
        XCTAssertEqual(why.chain.last?.status, .failed)
        XCTAssertEqual(why.cause, .refused(.client, attempts: 1))
        XCTAssertEqual(try clinic.client.whyWaiting(encounter.id).chain, [], "the refused item waits on nothing else")
        XCTAssertThrowsError(try clinic.client.whyWaiting(999_999)) { XCTAssertEqual(($0 as? FieldError)?.field, "id") }
    }

    /// A patient without consent: the first of the visit's items the engine picks is held for
    /// consent, and the visit's parts, waiting behind it, name that as what holds them.
    func testAHoldForConsentIsTheCause() async throws {
        let setup = try SandboxClinic()
        defer { setup.stop() }
        let patient = SampleClinic.patients[0]
        try setup.client.recordEncounter(SampleClinic.visit(number: "W2", patient: patient, finishedBefore: TestClinic.now))
        _ = try setup.client.recordConsent(nik: patient.nik, scope: ConsentScope.none)
        _ = try await setup.engine().sync()
        let part = try XCTUnwrap(try items(setup.client).first { $0.resourceType == "Observation" })
        let why = try setup.client.whyWaiting(part.id)
        guard case .held(.consent(.notGiven)) = why.cause else { return XCTFail("\(why.cause)") }
        XCTAssertEqual(why.root.status, .held)
        XCTAssertEqual(why.root.hold, .consent(.notGiven))
    }

    /// The server failed twice, the circuit opened, and what was left was not sent: each of
    /// those items says it waits for the circuit, until the time its breaker gives.
    func testAnOpenCircuitIsNamedAsWhatTheBackoffFollows() async throws {
        let setup = try SandboxClinic()
        defer { setup.stop() }
        for i in 0..<3 {
            try setup.client.recordEncounter(SampleClinic.visit(number: "W3-\(i)", patient: SampleClinic.patients[i % SampleClinic.patients.count],
                                                                finishedBefore: TestClinic.now))
        }
        let engine = try setup.engine { $0.breakerFailures = 2; $0.breakerOpenSeconds = 30; $0.packing = false; $0.concurrency = 1 }
        setup.sandbox.setFaults(try FaultPlan(spec: "503=1"))
        _ = try await engine.sync()
        let explained = try items(setup.client).filter { $0.status == .pending }.map { try setup.client.whyWaiting($0.id) }
        let circuit = explained.filter { if case .backoff(_, .circuitOpen) = $0.cause { return true } else { return false } }
        XCTAssertFalse(circuit.isEmpty, "\(explained.map(\.cause))")
        for why in circuit {
            guard case .backoff(let until, _) = why.cause else { continue }
            XCTAssertGreaterThan(until, setup.clock.now())
            XCTAssertEqual(why.lastAttempt?.end, .circuitOpen)
            XCTAssertNil(why.lastAttempt?.httpStatus)
        }
        let answered = explained.filter { $0.lastAttempt?.httpStatus == 503 }
        XCTAssertFalse(answered.isEmpty, "the attempts before the circuit opened were answered 503")
        XCTAssertTrue(answered.allSatisfy { $0.lastAttempt?.end == .answered })
    }
}
