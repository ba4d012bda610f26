import Foundation
import XCTest

@testable import SehatFHIR
import SehatJSON

final class FHIRDateTimeTests: XCTestCase {
    func testParsesOffsetsAndFormatsUTC() throws {
        XCTAssertEqual(FHIRDateTime.format(try FHIRDateTime.parse("2025-12-26T09:00:00+07:00")), "2025-12-26T02:00:00+00:00")
        XCTAssertEqual(FHIRDateTime.format(try FHIRDateTime.parse("2025-12-26T02:00:00Z")), "2025-12-26T02:00:00+00:00")
        XCTAssertEqual(FHIRDateTime.format(try FHIRDateTime.parse("2024-02-29T23:30:00-05:30")), "2024-03-01T05:00:00+00:00")
        XCTAssertEqual(try FHIRDateTime.parse("2025-01-01T00:00:00.250Z").timeIntervalSince1970, 1_735_689_600.25, accuracy: 0.0001)
        XCTAssertEqual(FHIRDateTime.format(Date(timeIntervalSince1970: 0)), "1970-01-01T00:00:00+00:00")
        XCTAssertEqual(FHIRDateTime.format(Date(timeIntervalSince1970: -1)), "1969-12-31T23:59:59+00:00")
    }

    func testAgreesWithFoundation() throws {
        let formatter = ISO8601DateFormatter()
        for text in ["2022-08-31T00:00:00Z", "2030-06-15T12:34:56+09:00", "1999-12-31T23:59:59-11:00"] {
            XCTAssertEqual(try FHIRDateTime.parse(text), formatter.date(from: text), text)
        }
    }

    func testRefusesAmbiguousOrImpossibleTimes() {
        for text in ["2025-12-26T09:00:00", "2025-12-26", "2025-02-30T00:00:00Z", "2025-12-26T24:00:00Z", "2025-12-26T09:00:00+7", "26/12/2025"] {
            XCTAssertThrowsError(try FHIRDateTime.parse(text), text)
        }
        XCTAssertThrowsError(try FHIRDateTime.parse("2025-12-26T09:00:00")) {
            XCTAssertTrue(($0 as? FHIRDateTime.FormatError)?.reason.contains("no time-zone offset") == true)
        }
    }

    func testParsesCalendarDates() throws {
        XCTAssertEqual(try FHIRDateTime.parseDate("2000-02-29").day, 29)
        XCTAssertThrowsError(try FHIRDateTime.parseDate("1900-02-29"))
        XCTAssertThrowsError(try FHIRDateTime.parseDate("1990-1-01"))
    }
}
