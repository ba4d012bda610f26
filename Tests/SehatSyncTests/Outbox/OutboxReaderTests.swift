import Foundation
import SehatBench
import SehatStore
import XCTest

@testable import SehatSync

final class OutboxReaderTests: XCTestCase {
    var clinic: TestClinic!

    override func setUpWithError() throws { clinic = try TestClinic() }
    override func tearDown() { clinic.remove() }

    func testReadyQueryIsAnsweredByThePartialIndex() throws {
        let plan = try clinic.client.database.read { conn in
            try conn.query("EXPLAIN QUERY PLAN " + OutboxReader.readySQL, [.integer(0), .integer(50)]).compactMap { $0["detail"].string }
        }
        XCTAssertEqual(plan.count, 1, "\(plan)")
        XCTAssertTrue(plan[0].hasPrefix("SCAN outbox USING INDEX outbox_ready"), "\(plan)")
        XCTAssertFalse(plan.contains { $0.contains("TEMP B-TREE") }, "ordering must come from the index: \(plan)")
    }

    /// The query the engine really runs: one lane's range of the same index.
    func testThePerLaneReadyQueryIsARangeOfThePartialIndex() throws {
        for lane in [0, 1] {
            let plan = try clinic.client.database.read { conn in
                try conn.query("EXPLAIN QUERY PLAN " + OutboxReader.laneReadySQL, [.integer(Int64(lane)), .integer(0), .integer(50)])
                    .compactMap { $0["detail"].string }
            }
            XCTAssertEqual(plan.count, 1, "\(plan)")
            XCTAssertTrue(plan[0].hasPrefix("SEARCH outbox USING INDEX outbox_ready (lane_rank=?)"), "\(plan)")
            XCTAssertFalse(plan.contains { $0.contains("TEMP B-TREE") }, "ordering must come from the index: \(plan)")
        }
    }

    /// Claiming reads a group's pending items, and consent given releases a patient's held
    /// ones: each through an index that holds only those items, so the status changes of an
    /// item on its way out (pending → processing → completed) do not have to keep them.
    func testGroupAndConsentLookupsUseIndexesOfOneStatus() throws {
        let plans = try clinic.client.database.read { conn in
            try [(WorkFetcher.groupMembersSQL, [SQLValue.text("g")]), (OutboxLifecycle.releaseConsentSQL, [.text("now"), .text("p")])].map { sql, arguments in
                try conn.query("EXPLAIN QUERY PLAN " + sql, arguments).compactMap { $0["detail"].string }
            }
        }
        XCTAssertTrue(plans[0].contains { $0.hasPrefix("SEARCH o USING INDEX outbox_pending_by_group (group_id=?)") }, "\(plans[0])")
        XCTAssertTrue(plans[1].contains { $0.hasPrefix("SEARCH outbox USING INDEX outbox_held_by_patient (patient_id=?)") }, "\(plans[1])")
        let indexes = try clinic.client.database.read { conn in
            try conn.query("SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'outbox'").map { ($0["name"].string ?? "", $0["sql"].string ?? "") }
        }
        for (name, sql) in indexes where sql.contains("group_id") || sql.contains("patient_id") {
            XCTAssertTrue(sql.contains("WHERE status = "), "\(name) must hold one status only: \(sql)")
        }
    }

    /// The newest open error is read on every progress line: through its partial index, not
    /// by walking back over every resolved error.
    func testTheNewestOpenErrorIsReadThroughItsPartialIndex() throws {
        let plan = try clinic.client.database.read { conn in
            try conn.query("EXPLAIN QUERY PLAN " + ErrorLog.newestOpenSQL).compactMap { $0["detail"].string }
        }
        XCTAssertTrue(plan.contains { $0.contains("USING INDEX error_log_open") || $0.contains("USING COVERING INDEX error_log_open") }, "\(plan)")
    }

    func testEmergencyGoesFirstThenPriorityThenSequence() throws {
        try clinic.client.recordEncounter(SampleClinic.visit(number: "E1", patient: clinic.patients[0], finishedBefore: TestClinic.now))
        let panic = try clinic.client.recordPanic(PanicReport(latitude: -6.2, longitude: 106.8, severity: .high, type: "fall"))
        let critical = try clinic.client.recordPanic(PanicReport(latitude: -6.2, longitude: 106.8, severity: .critical, type: "cardiac_arrest"))
        let ready = try clinic.client.readyItems(limit: 100)
        XCTAssertEqual(ready.prefix(2).map(\.reportID), [critical.emergencyID, panic.emergencyID])
        let clinicReady = ready.dropFirst(2)
        XCTAssertEqual(clinicReady.map(\.resourceType), ["Location", "Location", "Practitioner", "Practitioner", "Patient", "Patient", "Patient", "Medication"])
        XCTAssertEqual(clinicReady.map(\.id), clinicReady.map(\.id).sorted { a, b in
            let pa = clinicReady.first { $0.id == a }!.priority, pb = clinicReady.first { $0.id == b }!.priority
            return pa == pb ? a < b : pa < pb
        })
        XCTAssertEqual(try clinic.client.readyItems(limit: 3).count, 3)
    }

    func testItemsAreReadyOnlyWhenDueAndUnblocked() throws {
        let recorded = try clinic.client.recordEncounter(SampleClinic.visit(number: "E1", patient: clinic.patients[0], finishedBefore: TestClinic.now))
        let encounterItem = recorded.outboxItemIDs[0]
        // Complete its three prerequisites the way the engine will: status, then release dependants.
        try clinic.client.database.write { conn in
            for dependency in try conn.query("SELECT depends_on FROM outbox_deps WHERE item_id = ?", [.integer(encounterItem)]).compactMap({ $0[0].int64 }) {
                try conn.execute("UPDATE outbox SET status = 'completed' WHERE id = ?", [.integer(dependency)])
                try conn.execute("UPDATE outbox SET unresolved_deps = unresolved_deps - 1 WHERE id IN (SELECT item_id FROM outbox_deps WHERE depends_on = ?)", [.integer(dependency)])
            }
            // Back off the Encounter for a minute.
            try conn.execute("UPDATE outbox SET next_attempt_at = ? WHERE id = ?", [.integer(Int64(TestClinic.now.timeIntervalSince1970 * 1000) + 60_000), .integer(encounterItem)])
        }
        XCTAssertFalse(try clinic.client.readyItems(limit: 100).contains { $0.id == encounterItem })
        clinic.clock.advance(by: 61)
        XCTAssertTrue(try clinic.client.readyItems(limit: 100).contains { $0.id == encounterItem })
    }

    func testCountsAndListingFilterByLaneAndStatus() throws {
        try clinic.client.recordPanic(PanicReport(latitude: 0, longitude: 0, severity: .low, type: "flood"))
        let counts = try clinic.client.outboxCounts()
        XCTAssertEqual(counts, [
            OutboxCount(lane: .clinic, status: .pending, count: 7), OutboxCount(lane: .emergency, status: .pending, count: 1),
        ])
        XCTAssertEqual(try clinic.client.outboxItems(lane: .emergency).map(\.queue), ["notification.emergency.critical"])
        XCTAssertEqual(try clinic.client.outboxItems(status: .failed), [])
        let lookups = try clinic.client.outboxItems(lane: .clinic).filter { $0.operation == .lookup }
        XCTAssertEqual(lookups.count, 5)
        XCTAssertTrue(lookups.allSatisfy { $0.maxRetries == 3 && $0.dependsOn.isEmpty && $0.lastError == nil })
    }
}
