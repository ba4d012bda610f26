import Foundation
import SehatBench
import SehatFHIR
import SehatJSON
import SehatSandbox
import SehatStore
import XCTest

@testable import SehatSync

/// The SATUSEHAT side of an emergency (seeds/000, "Data Mapping") and status both ways.
final class EmergencyMappingTests: XCTestCase {
    func testAPanicWithKnownPeopleReachesSATUSEHATInTheEmergencyLane() async throws {
        let setup = try SandboxClinic()
        defer { setup.stop() }
        try setup.sandbox.seed([Sandbox.person("Practitioner", nik: "3171099999990001", name: "Relawan Andi")])
        // A long clinic queue, and the victim's own lookup waiting in it.
        for i in 0..<30 {
            try setup.client.recordEncounter(SampleClinic.visit(number: "Q-\(i)", patient: SampleClinic.patients[i % 3], finishedBefore: TestClinic.now))
        }
        let reportedAt = try FHIRDateTime.parse("2026-01-10T16:45:00+07:00")
        let panic = try setup.client.recordPanic(PanicReport(
            latitude: -6.2088, longitude: 106.8456, address: "Jl. Medan Merdeka Barat No. 1", severity: .critical, type: "cardiac_arrest",
            victimAge: 34, victimGender: .male, reportedAt: reportedAt, victimNIK: SampleClinic.patients[0].nik,
            volunteerNIK: "3171099999990001", volunteerName: "Relawan Andi", referral: true))
        let emergencyItems = try setup.client.outboxItems(lane: .emergency)
        XCTAssertEqual(emergencyItems.map { "\($0.resourceType ?? "webhook").\($0.operation.rawValue)" }.sorted(),
                       ["Encounter.create", "Location.create", "Observation.create", "Patient.lookup", "Practitioner.lookup",
                        "ServiceRequest.create", "webhook.notify"])
        XCTAssertTrue(emergencyItems.contains { $0.resourceType == "Patient" && $0.operation == .lookup }, "the victim's lookup moved to the emergency lane")
        let report = try await setup.engine { $0.concurrency = 1 }.sync()
        XCTAssertEqual(report.exitStatus, 0, "\(report.counts)")
        // The emergency went before any clinic visit.
        let log = setup.sandbox.requestLog().filter { $0.path != "/oauth2/v1/accesstoken" }
        let firstClinicBundle = try XCTUnwrap(log.firstIndex { $0.method == "POST" && $0.path == "/fhir-r4/v1" && !($0.body ?? "").contains("EMER") })
        let emergencyBundle = try XCTUnwrap(log.firstIndex { $0.method == "POST" && $0.path == "/fhir-r4/v1" })
        XCTAssertLessThanOrEqual(emergencyBundle, firstClinicBundle)
        XCTAssertEqual(log.first?.path, "/api/emergency/notify")
        // The mapping.
        let encounter = try XCTUnwrap(setup.sandbox.resources(ofType: "Encounter").first { $0.value(at: "class.code") == "EMER" })
        XCTAssertEqual(encounter["status"], "arrived")
        let observation = try XCTUnwrap(setup.sandbox.resources(ofType: "Observation").first { $0.value(at: "code.coding")?[0]?["code"] == "246112005" })
        XCTAssertEqual(observation["effectiveDateTime"], "2026-01-10T09:45:00+00:00", "emergency_time in UTC")
        XCTAssertEqual(observation.value(at: "valueCodeableConcept.coding")?[0]?["system"], .string(Systems.snomed))
        XCTAssertEqual(observation.value(at: "valueCodeableConcept.coding")?[0]?["code"], "442452003")
        XCTAssertEqual(observation.value(at: "encounter.reference")?.stringValue, "Encounter/\(encounter["id"]!.stringValue!)")
        XCTAssertEqual(observation["performer"]?[0]?["reference"]?.stringValue?.hasPrefix("Practitioner/"), true)
        let referral = try XCTUnwrap(setup.sandbox.resources(ofType: "ServiceRequest").first { $0["priority"] == "stat" })
        XCTAssertEqual(referral.value(at: "code.coding")?[0]?["code"], "38907003")
        let site = try XCTUnwrap(setup.sandbox.resources(ofType: "Location").first { $0.value(at: "position.latitude") != nil })
        XCTAssertEqual(site.value(at: "position.latitude")?.doubleValue, -6.2088)
        XCTAssertEqual(setup.danglingReferences(), [])
        XCTAssertEqual(setup.sandbox.emergencyNotifications().first?["event_id"]?.stringValue, panic.eventID)
    }

    func testWithoutTheVictimsNIKTheReportStaysLocalWithTheReason() throws {
        let clinic = try TestClinic()
        defer { clinic.remove() }
        try clinic.client.recordPanic(PanicReport(latitude: 0, longitude: 0, severity: .low, type: "fall", volunteerNIK: "3171099999990001"))
        let report = try XCTUnwrap(try clinic.client.emergencies().first)
        XCTAssertEqual(report.satusehatNote, "kept on the device only: the victim's NIK is not known, so nothing goes to SATUSEHAT")
        XCTAssertEqual(try clinic.client.outboxItems(lane: .emergency).map(\.operation), [.notify])
        XCTAssertThrowsError(try clinic.client.recordPanic(PanicReport(latitude: 0, longitude: 0, severity: .low, type: "fall", referral: true))) {
            XCTAssertEqual(($0 as? FieldError)?.field, "referral")
        }
        XCTAssertThrowsError(try clinic.client.recordPanic(PanicReport(latitude: 0, longitude: 0, severity: .low, type: "fall", victimNIK: "12"))) {
            XCTAssertEqual(($0 as? FieldError)?.field, "victim_nik")
        }
    }

    func testStatusFlowsBothWays() async throws {
        let setup = try SandboxClinic(register: false)
        defer { setup.stop() }
        let panic = try setup.client.recordPanic(PanicReport(latitude: -6.2, longitude: 106.8, severity: .high, type: "traffic_accident"))
        // PSC 119 calls back: an ambulance is on its way.
        try setup.client.applyEmergencyCallback(panic.emergencyID, json: #"{"event_type":"ambulance-dispatch","data":{"status":"dispatched","eta_minutes":12,"ambulance_id":"AMB-001"}}"#)
        var report = try XCTUnwrap(try setup.client.emergencies().first)
        XCTAssertEqual(report.status, .dispatched)
        XCTAssertEqual(report.ambulanceID, "AMB-001")
        XCTAssertEqual(report.etaMinutes, 12)
        try setup.client.applyEmergencyCallback(panic.emergencyID, json: #"{"event_type":"emergency-update","data":{"status":"closed"}}"#)
        report = try XCTUnwrap(try setup.client.emergencies().first)
        XCTAssertEqual(report.status, .closed)
        XCTAssertEqual(report.etaMinutes, 12, "a callback that does not mention the ETA keeps it")
        for (field, body) in [("event_type", #"{"event_type":"pizza"}"#), ("data.status", #"{"event_type":"emergency-update","data":{"status":"lost"}}"#),
                              ("data.eta_minutes", #"{"event_type":"emergency-update","data":{"eta_minutes":-3}}"#)] {
            XCTAssertThrowsError(try setup.client.applyEmergencyCallback(panic.emergencyID, json: body), field) { XCTAssertEqual(($0 as? FieldError)?.field, field) }
        }
        XCTAssertThrowsError(try setup.client.applyEmergencyCallback("nope", json: #"{"event_type":"emergency-update"}"#))
        // The volunteer reports a change: it goes after the notification.
        try setup.client.reportEmergencyStatus(panic.emergencyID, status: .onScene, note: "CPR in progress")
        let synced = try await setup.engine().sync()
        XCTAssertEqual(synced.exitStatus, 0)
        let paths = setup.sandbox.requestLog().map(\.path).filter { $0.hasPrefix("/api/") }
        XCTAssertEqual(paths, ["/api/emergency/notify", "/api/emergency/\(panic.emergencyID)/status"])
        XCTAssertEqual(setup.sandbox.emergencyStatusUpdates().first?.1["status"], "on_scene")
    }
}
