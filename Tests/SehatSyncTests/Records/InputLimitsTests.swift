import Foundation
import SehatBench
import SehatFHIR
import SehatJSON
import XCTest

@testable import SehatSync

/// Each hostile or careless input the issue lists, refused with the field and the reason,
/// writing nothing; and the limits themselves (docs/limits.md).
final class InputLimitsTests: XCTestCase {
    private static let example = try! String(contentsOf: TestClinic.repositoryRoot.appendingPathComponent("Schemas/examples/encounter.json"), encoding: .utf8)

    /// The example encounter with `change` applied to its JSON.
    private func encounter(_ change: (inout JSON) -> Void) -> String {
        var json = try! JSON.parse(InputLimitsTests.example)
        change(&json)
        return json.text
    }

    private func assertRefused(_ clinic: TestClinic, _ name: String, field: String, _ reason: String, file: StaticString = #filePath, line: UInt = #line,
                               _ body: () throws -> Void) throws {
        let before = try clinic.tableCounts()
        do {
            try body()
            XCTFail("\(name): accepted", file: file, line: line)
        } catch let error as FieldError {
            XCTAssertEqual(error.field, field, "\(name): \(error)", file: file, line: line)
            XCTAssertTrue(error.reason.contains(reason), "\(name): \(error)", file: file, line: line)
            XCTAssertLessThan(error.description.utf8.count, 600, "\(name): a refusal never echoes megabytes", file: file, line: line)
        }
        XCTAssertEqual(try clinic.tableCounts(), before, "\(name): nothing written", file: file, line: line)
    }

    func testEncounterDocumentsAreHeldToTheirLimits() throws {
        let clinic = try TestClinic()
        defer { clinic.remove() }
        let big = String(repeating: "x", count: 2 << 20)
        let cases: [(String, String, String, (inout JSON) -> Void)] = [
            ("NUL in the number", "number", "NUL character (U+0000) at character 5", { $0["number"] = "BAD-\u{0}x" }),
            ("empty number", "number", "is empty", { $0["number"] = "" }),
            ("long number", "number", "is 65 characters long; the limit is 64", { $0["number"] = .string(String(repeating: "9", count: 65)) }),
            ("long display", "vitals[0].display", "is 5000 characters long; the limit is 1000",
             { $0["vitals"] = [.obj(["code": "8480-6", "display": .string(String(repeating: "d", count: 5000)), "value": 120, "unit": "mm[Hg]"])] }),
            ("control character in a unit", "vitals[0].unit", "U+0001", { $0["vitals"] = [.obj(["code": "8480-6", "value": 120, "unit": "mm\u{1}Hg"])] }),
            ("impossible blood pressure", "vitals[0].value", "is not possible for LOINC 8480-6",
             { $0["vitals"] = [.obj(["code": "8480-6", "value": .number("1e308"), "unit": "mm[Hg]"])] }),
            ("a temperature in Fahrenheit typed as Celsius", "vitals[0].value", "expected 10 to 47 Cel",
             { $0["vitals"] = [.obj(["code": "8310-5", "value": 101, "unit": "Cel"])] }),
            ("39-digit lab value", "lab[0].result.value", "out of range", {
                $0["lab"] = [.obj(["loinc": "2345-7", "display": "Glucose", "result": .obj([
                    "value": .number("123456789012345678901234567890123456789"), "unit": "mg/dL", "resulted_at": "2025-12-26T10:15:00+07:00"])])]
            }),
            ("number too large for a Double", "prescriptions[0].quantity", "too large", {
                $0["prescriptions"] = [.obj(["kfa_code": "93001019", "display": "P", "dosage": "1", "quantity": .number("1e400"), "unit": "TAB"])]
            }),
            ("501 vitals", "vitals", "has 501 items; the limit is 500",
             { $0["vitals"] = .array(Array(repeating: .obj(["code": "8480-6", "value": 120, "unit": "mm[Hg]"]), count: 501)) }),
            ("offset beyond +14:00", "arrived_at", "-14:00 to +14:00", { $0["arrived_at"] = "2025-12-26T09:00:00+14:59" }),
            ("a 2 MiB document", "(document)", "bytes; the limit is 1048576", { $0["summary"] = .obj(["text": .string(big)]) }),
        ]
        for (name, field, reason, change) in cases {
            try assertRefused(clinic, name, field: field, reason) { _ = try clinic.client.recordEncounter(try EncounterDocument(json: encounter(change))) }
        }
        try assertRefused(clinic, "repeated key", field: "(document)", "\"patient_nik\" appears twice") {
            let text = InputLimitsTests.example.replacingOccurrences(of: "\"class\": \"AMB\",", with: "\"class\": \"AMB\", \"patient_nik\": \"3171022309900002\",")
            _ = try clinic.client.recordEncounter(try EncounterDocument(json: text))
        }
        // The unusual but possible is kept: 13.7 °C was survived.
        XCTAssertNoThrow(try clinic.client.recordEncounter(try EncounterDocument(json: encounter {
            $0["vitals"] = [.obj(["code": "8310-5", "value": .number("13.7"), "unit": "Cel"])]
        })))
    }

    func testTwoNumbersThatDifferAfterANulNeverCollide() throws {
        let clinic = try TestClinic()
        defer { clinic.remove() }
        _ = try clinic.client.recordEncounter(try EncounterDocument(json: encounter { $0["number"] = "BAD-" }))
        try assertRefused(clinic, "NUL", field: "number", "NUL") {
            _ = try clinic.client.recordEncounter(try EncounterDocument(json: encounter { $0["number"] = "BAD-\u{0}x" }))
        }
    }

    func testPanicReportsAndCallbacksRefuseNumbersThatDoNotFit() throws {
        let clinic = try TestClinic(register: false)
        defer { clinic.remove() }
        for age in ["1e30", "9223372036854775807", "1e19", "-1e19", "151", "30.5"] {
            try assertRefused(clinic, "victim_age \(age)", field: "victim_age", "whole number from 0 to 150") {
                _ = try clinic.client.recordPanic(try PanicReport(json: #"{"latitude": -6.2, "longitude": 106.8, "severity": "high", "type": "fall", "victim_age": \#(age)}"#))
            }
        }
        try assertRefused(clinic, "year 1", field: "reported_at", "before 2022-08-31") {
            _ = try clinic.client.recordPanic(try PanicReport(json: #"{"latitude": 0, "longitude": 0, "severity": "high", "type": "fall", "reported_at": "0001-01-01T00:00:00Z"}"#))
        }
        let recorded = try clinic.client.recordPanic(PanicReport(latitude: -6.2, longitude: 106.8, severity: .high, type: "fall"))
        for eta in ["1e30", "-1", "2.5", "1441"] {
            try assertRefused(clinic, "eta \(eta)", field: "data.eta_minutes", "whole number from 0 to 1440") {
                try clinic.client.applyEmergencyCallback(recorded.emergencyID, json: #"{"event_type": "ambulance-dispatch", "data": {"eta_minutes": \#(eta)}}"#)
            }
        }
        try clinic.client.applyEmergencyCallback(recorded.emergencyID, json: #"{"event_type": "ambulance-dispatch", "data": {"eta_minutes": 12}}"#)
        XCTAssertEqual(try clinic.client.emergencies().first?.etaMinutes, 12)
    }

    func testSettingsOutsideTheirRangesAreRefusedWithTheRange() throws {
        for (key, value) in [("request_timeout", "1e300"), ("initial_backoff", "1e300"), ("max_backoff", "-1"), ("concurrency", "0"),
                             ("concurrency", "2.5"), ("critical_timeout", "61"), ("burst", "1e19")] {
            XCTAssertThrowsError(try SyncConfiguration(json: try JSON.parse(#"{"\#(key)": \#(value)}"#)), key) { error in
                let range = try? XCTUnwrap(error as? SyncConfiguration.RangeError)
                XCTAssertEqual(range?.key, key)
                XCTAssertTrue(range?.description.contains("from ") == true, "\(String(describing: range))")
            }
        }
        let clinic = try TestClinic(register: false)
        defer { clinic.remove() }
        var settings = SyncConfiguration()
        settings.maxBackoff = 1e300
        XCTAssertThrowsError(try clinic.client.setSyncSettings(settings))
        XCTAssertThrowsError(try SyncEngine(client: clinic.client, configuration: settings))
        XCTAssertEqual(try clinic.client.syncSettings(), SyncConfiguration(), "nothing stored")
    }

    func testRetryAfterIsBelievedOnlyAsAReasonableNumberOfSeconds() {
        func seconds(_ header: String) -> TimeInterval? { HTTPAnswer(status: 429, headers: ["retry-after": header]).retryAfter }
        XCTAssertEqual(seconds("5"), 5)
        XCTAssertEqual(seconds("99999999"), HTTPAnswer.longestRetryAfter)
        for broken in ["inf", "nan", "1e300", "-5", "", "Wed, 21 Oct 2015 07:28:00 GMT", "5 s"] { XCTAssertNil(seconds(broken), broken) }
    }

    func testLoopbackMeansThisMachine() {
        for host in ["localhost", "LOCALHOST", "127.0.0.1", "127.1.2.3", "::1", "[::1]"] { XCTAssertTrue(Configuration.isLoopback(host), host) }
        for host in ["127.attacker.example", "127.0.0.1.nip.io", "127.0.0.256", "127.0.0", "0127.0.0.1", "128.0.0.1", "localhost.example", "", "127.0.0.1."] {
            XCTAssertFalse(Configuration.isLoopback(host), host)
        }
        XCTAssertThrowsError(try Configuration(orgID: "1", clientID: "c", clientSecretFile: "/x", baseURL: "http://127.attacker.example/fhir-r4/v1"))
        XCTAssertNoThrow(try Configuration(orgID: "1", clientID: "c", clientSecretFile: "/x", baseURL: "http://127.0.0.1:8080/fhir-r4/v1"))
    }

    func testWhatAPersonReadsOfAnItemHasTheNIKMasked() throws {
        let clinic = try TestClinic()
        defer { clinic.remove() }
        let lookup = try XCTUnwrap(try clinic.client.outboxItems().first { $0.operation == .lookup && $0.resourceType == "Patient" })
        let request = try XCTUnwrap(try clinic.client.outboxItem(lookup.id).request)
        XCTAssertNil(request.range(of: "[0-9]{16}", options: .regularExpression), request)
        XCTAssertNotNil(request.range(of: "nik%7C[0-9]{6}\\*{6}[0-9]{4}|nik\\|[0-9]{6}\\*{6}[0-9]{4}", options: .regularExpression), request)
    }

    func testTheStoredRequestURLsHaveTheNIKMasked() async throws {
        let setup = try SandboxClinic()
        defer { setup.stop() }
        // One request per lookup, so each NIK is in a URL (packed, they travel in a batch's body, which is not kept).
        _ = try await setup.engine { $0.packing = false }.sync()
        let urls = try setup.client.database.read { try $0.query("SELECT url FROM sync_log").compactMap { $0[0].string } }
        let lookups = urls.filter { $0.contains("identifier=") && $0.contains("/id/nik") }
        XCTAssertFalse(lookups.isEmpty, "the sync looked people up by NIK")
        for url in urls { XCTAssertNil(url.range(of: "[0-9]{16}", options: .regularExpression), url) }
        XCTAssertGreaterThan(setup.sandbox.requestLog().filter { $0.query.contains(SampleClinic.patients[0].nik) }.count, 0,
                             "the server itself got the whole NIK")
    }
}
