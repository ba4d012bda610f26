import Foundation
import SehatBench
import SehatStore
import XCTest

@testable import SehatSync

/// A full disk: the record fails clearly, nothing is half-written, the database stays
/// intact, and recording works again once there is room. The limit here is SQLite's own
/// `max_page_count` (an injected SQLITE_FULL); HostCLITests fills a real tmpfs where the
/// machine allows mounting one.
final class DiskFullTests: XCTestCase {
    func testARecordOnAFullDiskFailsCleanlyAndRecordingResumesWithRoom() throws {
        let clinic = try TestClinic()
        defer { clinic.remove() }
        let pages = try clinic.client.database.withoutTransaction { try $0.scalar("PRAGMA page_count").int ?? 0 }
        _ = try clinic.client.database.withoutTransaction { try $0.scalar("PRAGMA max_page_count = \(pages + 2)") }
        var recorded = 0
        var failure: Error?
        for i in 0..<200 {
            do {
                try clinic.client.recordEncounter(SampleClinic.visit(number: "FULL-\(i)", patient: SampleClinic.patients[i % 3], finishedBefore: TestClinic.now))
                recorded += 1
            } catch {
                failure = error
                break
            }
        }
        let error = try XCTUnwrap(failure as? DatabaseError, "the disk filled up")
        XCTAssertTrue(error.isDiskFull, "\(error)")
        XCTAssertTrue(error.description.contains("SQLite error 13"), error.description)
        // Nothing of the refused record is there; everything before it is.
        let counts = try clinic.tableCounts()
        XCTAssertEqual(counts["encounters"], recorded)
        XCTAssertEqual(counts["outbox"], 7 + recorded * 11)
        XCTAssertEqual(try clinic.client.database.withoutTransaction { try $0.scalar("PRAGMA integrity_check").string }, "ok")
        // Room again: recording resumes.
        _ = try clinic.client.database.withoutTransaction { try $0.scalar("PRAGMA max_page_count = 1000000") }
        try clinic.client.recordEncounter(SampleClinic.visit(number: "FULL-AFTER", patient: SampleClinic.patients[0], finishedBefore: TestClinic.now))
        XCTAssertEqual(try clinic.tableCounts()["encounters"], recorded + 1)
    }
}
