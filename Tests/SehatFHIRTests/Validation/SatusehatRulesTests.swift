import Foundation
import XCTest

@testable import SehatFHIR
import SehatJSON

final class SatusehatRulesTests: XCTestCase {
    func testNIK() {
        XCTAssertNoThrow(try SatusehatRules.checkNIK("3171022309900001", field: "nik"))
        for bad in ["317102230990000", "31710223099000011", "317102230990000A", "0171022309900001", ""] {
            XCTAssertThrowsError(try SatusehatRules.checkNIK(bad, field: "patient_nik"), bad) { XCTAssertEqual(($0 as? FieldError)?.field, "patient_nik") }
        }
    }

    func testCodeShapes() {
        for good in ["J06.9", "A09", "E11.65", "Z00.00"] { XCTAssertNoThrow(try SatusehatRules.checkICD10(good, field: "x"), good) }
        for bad in ["J6.9", "j06.9", "U07", "J06.", "J069X", "12.3"] { XCTAssertThrowsError(try SatusehatRules.checkICD10(bad, field: "x"), bad) }
        XCTAssertNoThrow(try SatusehatRules.checkLOINC("8480-6", field: "x"))
        XCTAssertThrowsError(try SatusehatRules.checkLOINC("8480", field: "x"))
        XCTAssertNoThrow(try SatusehatRules.checkICD9CM("89.52", field: "x"))
        XCTAssertThrowsError(try SatusehatRules.checkICD9CM("8952", field: "x"))
        XCTAssertNoThrow(try SatusehatRules.checkKFA("93001019", field: "x"))
        XCTAssertThrowsError(try SatusehatRules.checkKFA("KFA-1", field: "x"))
    }

    func testDateWindow() throws {
        let now = try FHIRDateTime.parse("2026-01-10T10:00:00Z")
        XCTAssertNoThrow(try SatusehatRules.checkDateTime(now, field: "t", now: now))
        XCTAssertThrowsError(try SatusehatRules.checkDateTime(now.addingTimeInterval(3600), field: "t", now: now)) {
            XCTAssertTrue("\($0)".contains("in the future"))
        }
        let early = try FHIRDateTime.parse("2022-08-30T23:59:59Z")
        XCTAssertThrowsError(try SatusehatRules.checkDateTime(early, field: "t", now: now))
        XCTAssertNoThrow(try SatusehatRules.checkDateTime(early, field: "t", now: now, enforceEarliest: false))
    }
}
