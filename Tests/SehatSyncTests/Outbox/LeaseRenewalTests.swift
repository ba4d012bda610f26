import Foundation
import XCTest

@testable import SehatSync

/// An engine renews its claims' lease every `interval`, not at every unit — and never lets it
/// lapse while it runs: the lease is ten intervals long.
final class LeaseRenewalTests: XCTestCase {
    func testRenewedOncePerIntervalAndAgainWhenTheClockGoesBack() {
        let start = Date(timeIntervalSince1970: 1_767_225_600)
        let renewal = LeaseRenewal(interval: 30)
        XCTAssertTrue(renewal.due(start), "the first fetch renews")
        XCTAssertFalse(renewal.due(start.addingTimeInterval(1)))
        XCTAssertFalse(renewal.due(start.addingTimeInterval(29.9)))
        XCTAssertTrue(renewal.due(start.addingTimeInterval(30)))
        XCTAssertFalse(renewal.due(start.addingTimeInterval(45)))
        XCTAssertTrue(renewal.due(start.addingTimeInterval(10)), "a clock set back renews rather than trusting the future")
    }
}
