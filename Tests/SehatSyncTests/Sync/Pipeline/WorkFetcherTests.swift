import Foundation
import SehatBench
import SehatStore
import XCTest

@testable import SehatSync

/// Stage 1 alone, on a database and no server: what is claimed, for whom, and with what.
final class WorkFetcherTests: XCTestCase {
    var clinic: TestClinic!

    override func setUpWithError() throws { clinic = try TestClinic() }
    override func tearDown() { clinic.remove() }

    private func fetcher(_ owner: SyncOwner, bundles: Bool = true, packing: Bool = true) -> WorkFetcher {
        var settings = SyncConfiguration()
        settings.bundles = bundles
        settings.packing = packing
        return WorkFetcher(database: clinic.client.database, configuration: settings, targets: [.satusehat, .emergency], owner: owner)
    }

    /// Completes every prerequisite (locations, practitioners, patients) as the server would.
    private func completePrerequisites() throws {
        let now = clinic.clock.now()
        try clinic.client.database.write { conn in
            let outbox = OutboxLifecycle(connection: conn, now: now)
            for row in try conn.query("SELECT id, resource_id FROM outbox WHERE operation IN ('lookup', 'create') AND resource_type IN ('Location', 'Practitioner', 'PractitionerRole', 'Patient') ORDER BY id") {
                try outbox.complete(row["id"].int64!, by: nil, attempts: 1)
                try conn.execute("UPDATE resources SET server_id = ? WHERE local_id = ?", [.text("srv-" + row["resource_id"].string!), row["resource_id"]])
            }
        }
    }

    func testItClaimsForItsOwnerAndAnotherOwnerGetsNothingOfIt() throws {
        let first = SyncOwner.current(), second = SyncOwner.current()
        let units = try fetcher(first, packing: false).fetch(units: 3, lane: .clinic, now: clinic.clock.now())
        XCTAssertEqual(units.count, 3)
        let claimed = Set(units.flatMap(\.items).map(\.id))
        let again = try fetcher(second).fetch(units: 100, lane: .clinic, now: clinic.clock.now())
        XCTAssertTrue(Set(again.flatMap(\.items).map(\.id)).isDisjoint(with: claimed))
        let owners = try clinic.client.database.read { conn in
            try conn.query("SELECT DISTINCT claimed_by FROM outbox WHERE id IN (SELECT value FROM json_each(?))",
                           [.text("[" + claimed.map(String.init).joined(separator: ",") + "]")]).compactMap { $0[0].string }
        }
        XCTAssertEqual(owners, [first.id])
    }

    func testAVisitTravelsAsOneBundleWithEveryServerIDItNeeds() throws {
        try clinic.client.recordEncounter(clinic.fullVisit())
        try completePrerequisites()
        let units = try fetcher(SyncOwner.current()).fetch(units: 10, lane: .clinic, now: clinic.clock.now())
        let bundle = try XCTUnwrap(units.first { $0.kind == .bundle })
        XCTAssertGreaterThan(bundle.items.count, 5)
        let encounter = try XCTUnwrap(bundle.items.first { $0.resourceType == "Encounter" && $0.operation == .create })
        let patient = try XCTUnwrap(encounter.references.first { $0.value?.hasPrefix("srv-") == true })
        XCTAssertNotNil(patient.value, "the patient's server id was resolved when the item was claimed")
        XCTAssertTrue(encounter.references.values.contains(where: { $0 == nil }) == false || encounter.references.count > 0)
        // Without bundles, one item a unit.
        XCTAssertTrue(try fetcher(SyncOwner.current(), bundles: false).fetch(units: 10, lane: .clinic, now: clinic.clock.now()).allSatisfy { $0.kind == .single })
    }

    func testWhatConsentDoesNotAllowIsHeldAtTheGateNotClaimed() throws {
        try clinic.client.recordConsent(nik: clinic.patients[0].nik, scope: nil, revoke: true)
        let units = try fetcher(SyncOwner.current()).fetch(units: 20, lane: .clinic, now: clinic.clock.now())
        let patientID = try clinic.client.database.read { try $0.scalar("SELECT local_id FROM patients WHERE nik = ?", [.text(self.clinic.patients[0].nik)]).string }
        XCTAssertFalse(units.flatMap(\.items).contains { $0.resourceID == patientID })
        let held = try clinic.client.outboxItems(status: .held)
        XCTAssertEqual(held.map(\.resourceID), [patientID])
        XCTAssertEqual(held.first?.hold, .consent(.revoked))
    }

    func testOnlyReachableTargetsAreClaimed() throws {
        try clinic.client.recordPanic(PanicReport(latitude: 0, longitude: 0, severity: .low, type: "flood"))
        let owner = SyncOwner.current()
        let noEmergency = WorkFetcher(database: clinic.client.database, configuration: SyncConfiguration(), targets: [.satusehat], owner: owner)
        XCTAssertEqual(try noEmergency.fetch(units: 5, lane: .emergency, now: clinic.clock.now()).count, 0)
        XCTAssertEqual(try fetcher(owner).fetch(units: 5, lane: .emergency, now: clinic.clock.now()).map { $0.items[0].operation }, [.notify])
    }

    /// With the victim's and volunteer's NIKs, the notification goes in a round of its own:
    /// the first request after link-up; SATUSEHAT's side of the emergency follows.
    func testANotificationTravelsAloneAheadOfTheEmergencysSATUSEHATSide() throws {
        try clinic.client.recordPanic(PanicReport(latitude: -6.2, longitude: 106.8, severity: .high, type: "fall",
                                                  victimNIK: clinic.patients[0].nik, volunteerNIK: SampleClinic.practitioners[0].0))
        let first = try fetcher(SyncOwner.current()).fetch(units: 5, lane: .emergency, now: clinic.clock.now())
        XCTAssertEqual(first.flatMap(\.items).map(\.operation), [.notify])
        let next = try fetcher(SyncOwner.current()).fetch(units: 5, lane: .emergency, now: clinic.clock.now())
        XCTAssertFalse(next.isEmpty)
        XCTAssertTrue(next.flatMap(\.items).allSatisfy { $0.target == .satusehat })
    }
}
