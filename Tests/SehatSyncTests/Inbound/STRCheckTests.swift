import Foundation
import SehatBench
import SehatFHIR
import SehatSandbox
import XCTest

@testable import SehatSync

/// The registry at work offline: a practitioner's name filled from it, and a visit by a
/// practitioner whose STR is not valid that day warned about, refused, or let be.
final class STRCheckTests: XCTestCase {
    func testTheRegistryFillsANameAndJudgesTheSTROnTheVisitsDay() async throws {
        let setup = try RegistryClinic(people: 40)
        defer { setup.stop() }
        _ = try await setup.puller().pull(.kki)
        let patients = try SampleClinic.register(setup.client)
        let people = setup.sandbox.registryPeople()
        let expired = people[3]   // active, valid until 2024
        let inactive = people[5]
        let fine = people[0]
        XCTAssertEqual([expired.strStatus, inactive.strStatus, fine.strStatus], ["active", "inactive", "active"])
        for person in [expired, inactive, fine] { try setup.client.addPractitioner(nik: person.nik, locations: ["POLI-UMUM"]) }
        let stored = try setup.client.database.read { try $0.scalar("SELECT name FROM practitioners WHERE nik = ?", [.text(expired.nik)]).string }
        XCTAssertEqual(stored, expired.name, "the name came from the registry")
        XCTAssertThrowsError(try setup.client.addPractitioner(nik: "3171999999999991")) { error in
            XCTAssertEqual((error as? FieldError)?.field, "name")
        }

        func visit(_ number: String, by person: WorkforceRegistry.Person) -> EncounterDocument {
            var doc = SampleClinic.visit(number: number, patient: patients[0], finishedBefore: TestClinic.now)
            doc.practitionerNIK = person.nik
            return doc
        }
        // warn (the default): recorded, the warning kept with the encounter.
        let warned = try setup.client.recordEncounter(visit("V-1", by: expired))
        XCTAssertTrue(warned.strWarning?.contains("expired on \(expired.strValidUntil)") == true, warned.strWarning ?? "none")
        let kept = try setup.client.database.read { try $0.scalar("SELECT str_warning FROM encounters WHERE number = 'V-1'").string }
        XCTAssertEqual(kept, warned.strWarning)
        XCTAssertTrue(try setup.client.recordEncounter(visit("V-2", by: inactive)).strWarning?.contains("is inactive") == true)
        XCTAssertNil(try setup.client.recordEncounter(visit("V-3", by: fine)).strWarning)
        // refuse: nothing written, the field named.
        try setup.client.setSTRCheck(.refuse)
        let before = try setup.clinic.tableCounts()
        XCTAssertThrowsError(try setup.client.recordEncounter(visit("V-4", by: inactive))) { error in
            XCTAssertEqual((error as? FieldError)?.field, "practitioner_nik")
        }
        XCTAssertEqual(try setup.clinic.tableCounts(), before)
        // off: not looked at.
        try setup.client.setSTRCheck(.off)
        XCTAssertNil(try setup.client.recordEncounter(visit("V-5", by: inactive)).strWarning)
    }
}
