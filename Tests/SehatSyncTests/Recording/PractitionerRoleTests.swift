import Foundation
import SehatBench
import SehatSandbox
import SehatStore
import XCTest

@testable import SehatSync

/// A practitioner registered as serving at polyclinics gets a PractitionerRole for each,
/// created after its Practitioner and its Location (seeds/004, prerequisite 4).
final class PractitionerRoleTests: XCTestCase {
    func testRolesAreCreatedAfterThePractitionerAndTheLocation() async throws {
        let setup = try SandboxClinic(register: false)
        defer { setup.stop() }
        try setup.client.addLocation(code: "POLI-UMUM", name: "Poli Umum")
        try setup.client.addLocation(code: "POLI-GIGI", name: "Poli Gigi")
        let (nik, name) = SampleClinic.practitioners[0]
        let practitioner = try setup.client.addPractitioner(nik: nik, name: name, locations: ["POLI-UMUM", "POLI-GIGI"])
        let roles = try setup.client.outboxItems().filter { $0.resourceType == "PractitionerRole" }
        XCTAssertEqual(roles.count, 2)
        let lookup = try XCTUnwrap(try setup.client.outboxItems().first { $0.resourceID == practitioner })
        XCTAssertTrue(roles.allSatisfy { $0.dependsOn.contains(lookup.id) && $0.dependsOn.count == 2 }, "after the Practitioner and its Location")
        XCTAssertThrowsError(try setup.client.addPractitioner(nik: SampleClinic.practitioners[1].0, name: "x", locations: ["POLI-MATA"])) {
            XCTAssertEqual(($0 as? FieldError)?.field, "locations[0]")
        }
        let report = try await setup.engine().sync()
        XCTAssertEqual(report.exitStatus, 0, "\(report.counts)")
        let stored = setup.sandbox.resources(ofType: "PractitionerRole")
        XCTAssertEqual(stored.count, 2)
        let ihs = try XCTUnwrap(try setup.client.serverID(forLocalID: practitioner))
        XCTAssertTrue(stored.allSatisfy { $0.value(at: "practitioner.reference")?.stringValue == "Practitioner/\(ihs)" })
        XCTAssertTrue(stored.allSatisfy { $0.value(at: "organization.reference")?.stringValue == "Organization/\(SampleClinic.orgID)" })
        XCTAssertEqual(setup.danglingReferences(), [])
    }
}
