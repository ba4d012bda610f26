import Foundation
import SehatFHIR
import SehatJSON
import XCTest

@testable import SehatSync

/// Stage 2 alone: a pure function of claimed items.
final class RequestBuilderTests: XCTestCase {
    let builder = RequestBuilder(baseURL: Fake.base, emergencyURL: "http://emergency.test", timeouts: (5, 30, 60))

    private func observation(subject: String = "Patient/p-local") -> JSON {
        .obj(["resourceType": "Observation", "id": "o-local", "subject": .obj(["reference": .string(subject)]),
              "performer": [.obj(["reference": "Organization/10000004"])]])
    }

    func testACreateRewritesLocalReferencesToServerIDsAndDropsTheLocalID() throws {
        let item = Fake.item(1, resource: observation(), references: ["p-local": "P02478375538"])
        let call = try builder.single(item)
        XCTAssertEqual(call.method, "POST")
        XCTAssertEqual(call.url, Fake.base + "/Observation")
        let body = try JSON.parse(bytes: call.body ?? [])
        XCTAssertEqual(body.value(at: "subject.reference")?.stringValue, "Patient/P02478375538")
        XCTAssertEqual(body["performer"]?[0]?["reference"]?.stringValue, "Organization/10000004", "not local: left as it is")
        XCTAssertNil(body["id"])
        XCTAssertEqual(call.timeout, 30)
    }

    func testAReferenceToALocalResourceWithoutAServerIDCannotBeBuilt() {
        let item = Fake.item(1, resource: observation(), references: ["p-local": String?.none])
        XCTAssertThrowsError(try builder.single(item)) { XCTAssertTrue("\($0)".contains("Patient/p-local has no server id yet")) }
    }

    func testAnUpdatePutsToTheServerIDAndNeedsOne() throws {
        let update = Fake.item(2, .update, type: "Encounter", resource: .obj(["resourceType": "Encounter", "status": "finished"]), serverID: "enc-9")
        let call = try builder.single(update)
        XCTAssertEqual(call.method, "PUT")
        XCTAssertEqual(call.url, Fake.base + "/Encounter/enc-9")
        XCTAssertEqual(try JSON.parse(bytes: call.body ?? [])["id"]?.stringValue, "enc-9")
        XCTAssertThrowsError(try builder.single(Fake.item(3, .update, type: "Encounter", serverID: nil)))
    }

    func testAnUpdateCarriesTheVersionItWasBasedOnOnlyWhenTheServerNamedOne() throws {
        var update = Fake.item(2, .update, type: "Encounter", resource: .obj(["resourceType": "Encounter", "status": "finished"]), serverID: "enc-9")
        XCTAssertNil(try builder.single(update).headers["If-Match"], "no version known: the last update wins")
        update.serverVersion = "7"
        XCTAssertEqual(try builder.single(update).headers["If-Match"], "W/\"7\"")
        // In a bundle, the entry's request carries it; a create has none to carry.
        let create = Fake.item(3, resource: observation(), references: ["p-local": "P1"])
        let (call, _) = try builder.bundle([update, create])
        let entries = try XCTUnwrap(try JSON.parse(bytes: call.body ?? [])["entry"]?.arrayValue)
        XCTAssertEqual(entries[0].value(at: "request.ifMatch")?.stringValue, "W/\"7\"")
        XCTAssertEqual(entries[0].value(at: "request.url")?.stringValue, "Encounter/enc-9")
        XCTAssertNil(entries[1].value(at: "request.ifMatch"))
        XCTAssertEqual(builder.read(update)?.url, Fake.base + "/Encounter/enc-9")
    }

    func testALookupSearchesTheIdentifier() throws {
        let call = try builder.single(Fake.item(4, .lookup, type: "Patient"))
        XCTAssertEqual(call.method, "GET")
        XCTAssertTrue(call.url.hasPrefix(Fake.base + "/Patient?identifier=http://sys-ids.kemkes.go.id/observation/10000004%7COBS-4"), call.url)
    }

    func testANotificationGoesToTheEmergencyServiceWithItsPayload() throws {
        let call = try builder.single(Fake.item(5, .notify, type: "", payload: .obj(["event_id": "evt_1"]), target: .emergency))
        XCTAssertEqual(call.url, "http://emergency.test/api/emergency/notify")
        XCTAssertEqual(call.timeout, 5)
        XCTAssertEqual(try JSON.parse(bytes: call.body ?? [])["event_id"]?.stringValue, "evt_1")
    }

    func testABundleLinksItsEntriesByURNAndMergesAnEncountersCreateAndUpdate() throws {
        let arrived = JSON.obj(["resourceType": "Encounter", "status": "arrived", "subject": .obj(["reference": "Patient/p-local"])])
        let finished = JSON.obj(["resourceType": "Encounter", "status": "finished", "subject": .obj(["reference": "Patient/p-local"])])
        let create = Fake.item(1, type: "Encounter", resourceID: "e-local", resource: finished, payload: arrived, references: ["p-local": "P1"])
        let close = Fake.item(2, .update, type: "Encounter", resourceID: "e-local", resource: finished, references: ["p-local": "P1"])
        let observation = Fake.item(3, resource: observation(subject: "Encounter/e-local"), references: ["e-local": String?.none])
        let (call, plans) = try builder.bundle([create, close, observation])
        XCTAssertEqual(call.url, Fake.base)
        XCTAssertEqual(call.timeout, 60)
        XCTAssertEqual(plans.map { $0.itemIDs }, [[1, 2], [3]])
        let entries = try XCTUnwrap(try JSON.parse(bytes: call.body ?? [])["entry"]?.arrayValue)
        XCTAssertEqual(entries[0].value(at: "resource.status")?.stringValue, "finished", "the entry POSTs the final version")
        XCTAssertEqual(entries[0].value(at: "resource.subject.reference")?.stringValue, "Patient/P1")
        XCTAssertEqual(entries[1].value(at: "resource.subject.reference")?.stringValue, "urn:uuid:e-local")
        XCTAssertEqual(entries[1]["fullUrl"]?.stringValue, "urn:uuid:local-3")
    }
}
