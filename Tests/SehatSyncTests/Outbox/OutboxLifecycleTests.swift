import Foundation
import SehatBench
import SehatStore
import XCTest

@testable import SehatSync

/// The outbox's one owner, alone on a database: claims and leases, fenced outcomes, typed
/// holds and their release. No HTTP anywhere.
final class OutboxLifecycleTests: XCTestCase {
    var clinic: TestClinic!

    override func setUpWithError() throws { clinic = try TestClinic() }
    override func tearDown() { clinic.remove() }

    private func write<T: Sendable>(_ body: (OutboxLifecycle, Connection) throws -> T) throws -> T {
        let now = clinic.clock.now()
        return try clinic.client.database.write { conn in try body(OutboxLifecycle(connection: conn, now: now), conn) }
    }

    private func item(_ id: Int64) throws -> OutboxItem {
        try XCTUnwrap(try clinic.client.outboxItems(limit: 10_000).first { $0.id == id })
    }

    private func lease(_ seconds: TimeInterval = 300) -> Date { clinic.clock.now().addingTimeInterval(seconds) }

    private func owner(host: String = ProcessInfo.processInfo.hostName, pid: Int32 = getpid(), start: Int64? = nil) -> SyncOwner {
        SyncOwner(id: UUID().uuidString, host: host, pid: pid, processStart: start ?? ProcessLiveness.startTime(of: pid))
    }

    func testAClaimIsTheOwnersAndOnlyPendingItemsCanBeClaimed() throws {
        let ready = try clinic.client.readyItems(limit: 2).map(\.id)
        let first = owner(), second = owner()
        first.setRunning(true)
        defer { first.setRunning(false) }
        let until = lease()
        let byFirst: [Int64] = try write { outbox, _ in try outbox.register(first); return try outbox.claim(ready, by: first, leaseUntil: until) }
        XCTAssertEqual(byFirst, ready)
        let bySecond: [Int64] = try write { outbox, _ in try outbox.register(second); return try outbox.claim(ready, by: second, leaseUntil: until) }
        XCTAssertEqual(bySecond, [], "an item in flight is nobody else's")
        XCTAssertEqual(try item(ready[0]).status, .processing)
    }

    func testOutcomesApplyOnlyWhileTheOwnerHoldsTheClaim() throws {
        let id = try XCTUnwrap(try clinic.client.readyItems(limit: 1).first?.id)
        let holder = owner(), stranger = owner()
        holder.setRunning(true)
        defer { holder.setRunning(false) }
        _ = try write { outbox, _ in try outbox.register(holder); return try outbox.claim([id], by: holder, leaseUntil: lease()) }
        XCTAssertFalse(try write { outbox, _ in try outbox.complete(id, by: stranger, attempts: 1) })
        XCTAssertEqual(try write { outbox, _ in try outbox.scheduleRetry(id, by: stranger, due: Date(), counted: true, unknownOutcome: false, error: "x") },
                       .notClaimed)
        try write { outbox, _ in try outbox.fail(id, by: stranger, attempts: 1, error: "x") }
        XCTAssertEqual(try item(id).status, .processing, "nothing a non-owner says changes the item")
        XCTAssertTrue(try write { outbox, _ in try outbox.complete(id, by: holder, attempts: 1) })
        XCTAssertEqual(try item(id).status, .completed)
    }

    func testRecoveryTakesBackOnlyWhatAGoneOwnerLeft() throws {
        let ids = try clinic.client.readyItems(limit: 4).map(\.id)
        XCTAssertEqual(ids.count, 4)
        let running = owner()                                   // an engine of this process that runs
        let stopped = owner()                                   // an engine of this process that stopped
        let deadProcess = owner(pid: 2_147_483_646, start: 1)   // a process that is gone
        let expired = owner(host: "another-host")               // another host: judged by its lease
        running.setRunning(true)
        defer { running.setRunning(false) }
        try write { outbox, _ in
            for (owner, id, until) in [(running, ids[0], lease()), (stopped, ids[1], lease()), (deadProcess, ids[2], lease()),
                                       (expired, ids[3], lease(-1))] {
                try outbox.register(owner)
                XCTAssertEqual(try outbox.claim([id], by: owner, leaseUntil: until), [id])
            }
        }
        XCTAssertEqual(try write { outbox, _ in try outbox.recover() }, 3)
        XCTAssertEqual(try ids.map { try item($0).status }, [.processing, .pending, .pending, .pending])
        // What came back searches before it is sent again (creates), lookups simply run again.
        let checks = try clinic.client.database.read { conn in
            try ids.dropFirst().map { try conn.scalar("SELECT needs_check = (operation IN ('create', 'notify')) FROM outbox WHERE id = ?", [.integer($0)]).int }
        }
        XCTAssertEqual(checks, [1, 1, 1])
        // A running owner renews its lease; once it lapses, its items come back too.
        try write { outbox, _ in try outbox.renewLease(of: running, until: self.lease(-1)) }
        XCTAssertEqual(try write { outbox, _ in try outbox.recover() }, 1)
        XCTAssertEqual(try item(ids[0]).status, .pending)
    }

    func testReadingAndReopeningNeverRecover() throws {
        let id = try XCTUnwrap(try clinic.client.readyItems(limit: 1).first?.id)
        let gone = owner(pid: 2_147_483_646, start: 1)
        _ = try write { outbox, _ in try outbox.register(gone); return try outbox.claim([id], by: gone, leaseUntil: lease()) }
        let reopened = try SehatClient(path: clinic.directory + "/clinic.db", clock: clinic.clock)
        _ = try reopened.status()
        _ = try reopened.metrics()
        _ = try reopened.outboxItems()
        XCTAssertEqual(try item(id).status, .processing)
    }

    func testParkingHoldsEverythingBehindWithATypedReasonAndReviveReleasesIt() throws {
        let recorded = try clinic.client.recordEncounter(clinic.fullVisit())
        let encounter = recorded.outboxItemIDs[0]
        try write { outbox, _ in try outbox.deadLetter(encounter, by: nil, error: "ignored by a person: test") }
        let held = try clinic.client.outboxItems(status: .held, limit: 1000)
        XCTAssertFalse(held.isEmpty)
        XCTAssertTrue(held.allSatisfy { $0.hold == .waitsOn(item: encounter, because: .dead) }, "\(held.map(\.hold))")
        try write { outbox, _ in try outbox.revive(encounter) }
        XCTAssertEqual(try clinic.client.outboxItems(status: .held), [])
        XCTAssertEqual(try item(encounter).status, .pending)
        XCTAssertThrowsError(try write { outbox, _ in try outbox.revive(encounter) }) { XCTAssertEqual(($0 as? FieldError)?.field, "id") }
    }

    func testAConsentHoldIsReleasedByItsKindAndHoldsNothingElse() throws {
        let lookup = try XCTUnwrap(try clinic.client.outboxItems(limit: 100).first { $0.operation == .lookup && $0.resourceType == "Patient" })
        try write { outbox, _ in try outbox.hold(lookup.id, by: nil, reason: .consent(.revoked)) }
        XCTAssertEqual(try item(lookup.id).hold, .consent(.revoked))
        XCTAssertEqual(try clinic.client.outboxItems(status: .held).count, 1)
        let patientID = try XCTUnwrap(lookup.resourceID)
        XCTAssertEqual(try write { outbox, _ in try outbox.releaseConsentHolds(patientID: patientID) }, 1)
        XCTAssertNil(try item(lookup.id).hold)
    }

    func testEscalationIsRaisedOnceAfterMaxRetries() throws {
        let id = try XCTUnwrap(try clinic.client.readyItems(limit: 1).first?.id)
        let engine = owner()
        engine.setRunning(true)
        defer { engine.setRunning(false) }
        var outcomes: [OutboxLifecycle.Retried] = []
        for _ in 0..<5 {
            outcomes.append(try write { outbox, _ in
                try outbox.register(engine)
                _ = try outbox.claim([id], by: engine, leaseUntil: self.lease())
                return try outbox.scheduleRetry(id, by: engine, due: Date(), counted: true, unknownOutcome: false, error: "503")
            })
        }
        XCTAssertEqual(outcomes, [.scheduled, .scheduled, .escalated, .scheduled, .scheduled], "max_retries is 3")
        XCTAssertTrue(try item(id).escalated)
    }

    /// A dependency the server lost is reopened while something that waited on it has already
    /// completed; when it completes again, that dependant's count does not go below zero (it
    /// did before: the consolidation failed on the CHECK and the unit was re-sent for ever).
    func testCompletingAReopenedDependencyLeavesCompletedDependantsAlone() throws {
        let lookup = try XCTUnwrap(try clinic.client.outboxItems(limit: 100).first { $0.operation == .lookup && $0.resourceType == "Patient" })
        let visit = try clinic.client.recordEncounter(clinic.fullVisit())
        let encounter = visit.outboxItemIDs[0]
        try write { outbox, conn in
            // Everything the encounter waits on completes, then the encounter itself.
            for row in try conn.query("SELECT depends_on FROM outbox_deps WHERE item_id = ?", [.integer(encounter)]) {
                try outbox.complete(row[0].int64!, by: nil, attempts: 1)
            }
            XCTAssertTrue(try outbox.complete(encounter, by: nil, attempts: 1))
        }
        let patientLookup = try XCTUnwrap(try clinic.client.outboxItems(limit: 1000).first { $0.id == lookup.id || ($0.operation == .lookup && $0.resourceType == "Patient" && $0.status == .completed) })
        XCTAssertTrue(try write { outbox, _ in try outbox.reopen(patientLookup.id) })
        XCTAssertTrue(try write { outbox, _ in try outbox.complete(patientLookup.id, by: nil, attempts: 2) })
        XCTAssertEqual(try item(encounter).status, .completed)
        XCTAssertEqual(try item(encounter).unresolvedDependencies, 0)
    }

    /// A re-check that reopens a chain (B waits on A) in either order leaves B waiting on A.
    func testReopeningAChainInAnyOrderKeepsTheCountsRight() throws {
        let visit = try clinic.client.recordEncounter(clinic.fullVisit())
        let encounter = visit.outboxItemIDs[0]
        let observation = try XCTUnwrap(try clinic.client.outboxItems(limit: 1000).first { $0.encounterID == visit.encounterID && $0.resourceType == "Observation" }).id
        try write { outbox, conn in
            for id in try conn.query("SELECT id FROM outbox ORDER BY id").compactMap({ $0[0].int64 }) { _ = try outbox.complete(id, by: nil, attempts: 1) }
        }
        for order in [[observation, encounter], [encounter, observation]] {
            try write { outbox, _ in for id in order { XCTAssertTrue(try outbox.reopen(id)) } }
            XCTAssertEqual(try item(observation).unresolvedDependencies, 1, "\(order)")
            XCTAssertFalse(try clinic.client.readyItems(limit: 1000).contains { $0.id == observation }, "it waits for the encounter again")
            try write { outbox, _ in
                XCTAssertTrue(try outbox.complete(encounter, by: nil, attempts: 2))
                XCTAssertTrue(try outbox.complete(observation, by: nil, attempts: 2))
            }
            XCTAssertEqual(try item(observation).unresolvedDependencies, 0)
        }
    }

    /// An item is never due before its time: a retry due a fraction of a millisecond from now is
    /// stored rounded up, so the ready query cannot take it while what refused it still does.
    func testADueTimeIsStoredRoundedUpToTheMillisecond() throws {
        let id = try XCTUnwrap(try clinic.client.readyItems(limit: 1).first?.id)
        let engine = owner()
        engine.setRunning(true)
        defer { engine.setRunning(false) }
        let now = clinic.clock.now()
        let due = now.addingTimeInterval(0.0004)
        let stored: Int64? = try write { outbox, conn in
            try outbox.register(engine)
            _ = try outbox.claim([id], by: engine, leaseUntil: lease())
            try outbox.scheduleRetry(id, by: engine, due: due, counted: false, unknownOutcome: false, error: "x")
            return try conn.scalar("SELECT next_attempt_at FROM outbox WHERE id = ?", [.integer(id)]).int64
        }
        XCTAssertEqual(stored, Int64((due.timeIntervalSince1970 * 1000).rounded(.up)))
        XCTAssertGreaterThanOrEqual(Double(stored ?? 0) / 1000, due.timeIntervalSince1970)
        XCTAssertFalse(try clinic.client.readyItems(limit: 100).contains { $0.id == id }, "not due yet at the same instant")
    }

    /// A create the server refused is not on the server, whatever an earlier lost answer left
    /// behind: it needs no search, and a correction sends it anew.
    func testARefusedCreateNeedsNoSearch() throws {
        let id = try XCTUnwrap(try clinic.client.readyItems(limit: 10).first { $0.operation == .create }?.id)
        let engine = owner()
        engine.setRunning(true)
        defer { engine.setRunning(false) }
        let flags: (Int?, Int?) = try write { outbox, conn in
            try outbox.register(engine)
            _ = try outbox.claim([id], by: engine, leaseUntil: lease())
            try outbox.scheduleRetry(id, by: engine, due: clinic.clock.now(), counted: true, unknownOutcome: true, error: "answer lost")
            let before = try conn.scalar("SELECT needs_check FROM outbox WHERE id = ?", [.integer(id)]).int
            _ = try outbox.claim([id], by: engine, leaseUntil: lease())
            try outbox.fail(id, by: engine, attempts: 2, error: "400: refused")
            return (before, try conn.scalar("SELECT needs_check FROM outbox WHERE id = ?", [.integer(id)]).int)
        }
        XCTAssertEqual(flags.0, 1, "the lost answer called for a search")
        XCTAssertEqual(flags.1, 0, "the refusal settled it")
    }
}
