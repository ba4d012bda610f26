import Foundation
import SehatFHIR
import SehatJSON
import XCTest

@testable import SehatSync

final class PanicRecorderTests: XCTestCase {
    func testPanicIsStoredAndQueuedInTheEmergencyLaneInOneGo() throws {
        let clinic = try TestClinic(register: false)
        defer { clinic.remove() }
        let report = PanicReport(latitude: -6.2088, longitude: 106.8456, address: "Jl. Medan Merdeka Barat No. 1", severity: .critical,
                                 type: "cardiac_arrest", victimAge: 45, victimGender: .male, reporter: "relawan-017")
        let recorded = try clinic.client.recordPanic(report)
        XCTAssertTrue(recorded.eventID.hasPrefix("evt_"))
        let item = try XCTUnwrap(try clinic.client.outboxItems().first)
        XCTAssertEqual([item.lane.rawValue, item.queue, item.target.rawValue, item.operation.rawValue],
                       ["emergency", "notification.emergency.critical", "emergency", "notify"])
        XCTAssertEqual(item.reportID, recorded.emergencyID)
        XCTAssertEqual(item.maxRetries, 6)
        XCTAssertEqual(item.priority, 0)
        let payload = try JSON.parse(try XCTUnwrap(try clinic.client.database.read { try $0.scalar("SELECT payload FROM outbox WHERE id = ?", [.integer(item.id)]).string }))
        XCTAssertEqual(payload.members?.map(\.key), ["event_id", "event_type", "timestamp", "data"])
        XCTAssertEqual(payload["event_id"]?.stringValue, recorded.eventID)
        XCTAssertEqual(payload["event_type"], "emergency.created")
        XCTAssertEqual(payload.value(at: "data.emergency_id")?.stringValue, recorded.emergencyID)
        XCTAssertEqual(payload.value(at: "data.reported_at"), "2026-01-10T10:00:00+00:00")
        XCTAssertEqual(payload.value(at: "data.location")?.text, #"{"latitude":-6.2088,"longitude":106.8456,"address":"Jl. Medan Merdeka Barat No. 1"}"#)
        XCTAssertEqual(payload.value(at: "data.victim_age"), 45)
        XCTAssertEqual(try clinic.tableCounts()["panic_reports"], 1)
    }

    func testBadReportsWriteNothing() throws {
        let clinic = try TestClinic(register: false)
        defer { clinic.remove() }
        let cases: [(String, PanicReport)] = [
            ("latitude", PanicReport(latitude: 91, longitude: 0, severity: .low, type: "fall")),
            ("longitude", PanicReport(latitude: 0, longitude: .nan, severity: .low, type: "fall")),
            ("type", PanicReport(latitude: 0, longitude: 0, severity: .low, type: "Heart Attack!")),
            ("victim_age", PanicReport(latitude: 0, longitude: 0, severity: .low, type: "fall", victimAge: 200)),
            ("reported_at", PanicReport(latitude: 0, longitude: 0, severity: .low, type: "fall", reportedAt: TestClinic.now.addingTimeInterval(3600))),
        ]
        for (field, report) in cases {
            XCTAssertThrowsError(try clinic.client.recordPanic(report)) { XCTAssertEqual(($0 as? FieldError)?.field, field) }
        }
        XCTAssertEqual(try clinic.tableCounts()["outbox"], 0)
        XCTAssertEqual(try clinic.tableCounts()["panic_reports"], 0)
    }

    func testDocumentForm() throws {
        let example = try String(contentsOf: TestClinic.repositoryRoot.appendingPathComponent("Schemas/examples/panic.json"), encoding: .utf8)
        let report = try PanicReport(json: example)
        XCTAssertEqual(report.severity, .critical)
        XCTAssertEqual(report.victimAge, 45)
        XCTAssertEqual(report.reportedAt, try FHIRDateTime.parse("2026-01-10T10:30:00Z"))
        XCTAssertThrowsError(try PanicReport(json: example.replacingOccurrences(of: "\"critical\"", with: "\"urgent\""))) {
            XCTAssertEqual(($0 as? FieldError)?.field, "severity")
        }
        XCTAssertThrowsError(try PanicReport(json: example.replacingOccurrences(of: "\"victim_age\": 45", with: "\"victim_age\": 45.5"))) {
            XCTAssertEqual(($0 as? FieldError)?.field, "victim_age")
        }
    }
}
