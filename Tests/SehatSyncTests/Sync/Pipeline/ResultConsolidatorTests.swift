import Foundation
import SehatBench
import SehatStore
import XCTest

@testable import SehatSync

/// Stage 5 alone, on a database and no server: results become transitions, the id map, the
/// error log and the sync log, in one transaction; a claim that was lost changes nothing.
final class ResultConsolidatorTests: XCTestCase {
    var clinic: TestClinic!

    override func setUpWithError() throws { clinic = try TestClinic() }
    override func tearDown() { clinic.remove() }

    private func claim(_ owner: SyncOwner, units: Int = 10) throws -> [ClaimedItem] {
        owner.setRunning(true)
        return try WorkFetcher(database: clinic.client.database, configuration: SyncConfiguration(), targets: [.satusehat], owner: owner)
            .fetch(units: units, lane: .clinic, now: clinic.clock.now()).flatMap(\.items)
    }

    private func line(_ item: ClaimedItem, _ note: AttemptNote, status: Int = 200) -> LogLine {
        LogLine(itemID: item.id, attempt: Fake.attempt(status, "", url: "\(Fake.base)/\(item.resourceType ?? "")"), note: note, error: nil)
    }

    func testAFoundPatientGetsItsIDsAndEveryAttemptIsLogged() throws {
        let owner = SyncOwner.current()
        defer { owner.setRunning(false) }
        let lookup = try XCTUnwrap(try claim(owner).first { $0.operation == .lookup && $0.resourceType == "Patient" })
        let consolidator = ResultConsolidator(database: clinic.client.database, owner: owner)
        try consolidator.apply([(lookup, .completed(serverID: "P02478375538", version: nil))], log: [line(lookup, .found)], now: clinic.clock.now())
        XCTAssertEqual(try clinic.client.serverID(forLocalID: lookup.resourceID!), "P02478375538")
        let ihs = try clinic.client.database.read { try $0.scalar("SELECT ihs_id FROM patients WHERE local_id = ?", [.text(lookup.resourceID!)]).string }
        XCTAssertEqual(ihs, "P02478375538", "the registry recorder notes the IHS id")
        let logged = try clinic.client.database.read { try $0.query("SELECT outcome, status, attempt FROM sync_log WHERE item_id = ?", [.integer(lookup.id)]) }
        XCTAssertEqual(logged.map { $0["outcome"].string }, ["found"])
        XCTAssertEqual(logged.first?["attempt"].int, 1)
    }

    func testAFailureIsLoggedWithItsClassAndHoldsWhatWaits() throws {
        let owner = SyncOwner.current()
        defer { owner.setRunning(false) }
        try clinic.client.recordEncounter(clinic.fullVisit())
        let items = try claim(owner, units: 20)
        let patient = try XCTUnwrap(items.first { $0.operation == .lookup && $0.resourceType == "Patient" && $0.resourceID != nil })
        let record = FailureRecord(category: .client, status: 400, message: "400: bad", url: Fake.base + "/Patient", requestID: "req-1")
        try ResultConsolidator(database: clinic.client.database, owner: owner)
            .apply([(patient, .failed("400: bad", record))], log: [line(patient, .refused, status: 400)], now: clinic.clock.now())
        let detail = try clinic.client.outboxItem(patient.id)
        XCTAssertEqual(detail.item.status, .failed)
        XCTAssertEqual(detail.errors.map(\.category), [.client])
        XCTAssertEqual(detail.errors.map(\.resolution), [.pending])
        let held = try clinic.client.outboxItems(status: .held, limit: 1000)
        XCTAssertTrue(held.allSatisfy { $0.hold == .waitsOn(item: patient.id, because: .failed) })
    }

    func testResultsOfALostClaimChangeNothingButAreStillLogged() throws {
        let owner = SyncOwner.current()
        let claimed = try claim(owner)
        let item = try XCTUnwrap(claimed.first)
        owner.setRunning(false)  // the engine is gone: its claims are taken back
        XCTAssertEqual(try clinic.client.database.write { try OutboxLifecycle(connection: $0, now: self.clinic.clock.now()).recover() }, claimed.count)
        try ResultConsolidator(database: clinic.client.database, owner: owner)
            .apply([(item, .completed(serverID: "late", version: nil))], log: [line(item, .created, status: 201)], now: clinic.clock.now())
        XCTAssertEqual(try clinic.client.outboxItems().first { $0.id == item.id }?.status, .pending)
        XCTAssertNil(try clinic.client.serverID(forLocalID: item.resourceID!))
        XCTAssertEqual(try clinic.client.database.read { try $0.scalar("SELECT count(*) FROM sync_log WHERE item_id = ?", [.integer(item.id)]).int }, 1)
    }
}
