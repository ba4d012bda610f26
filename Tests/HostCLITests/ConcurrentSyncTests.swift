import Foundation
import SehatJSON
import SehatSandbox
import SehatStore
import XCTest

/// Two `sehat sync` processes drain one database while a third records visits and reads the
/// status: claims carry an owner and a lease, so no process resets what another has in
/// flight, no item is sent twice at once, and every request is in the sync log.
final class ConcurrentSyncTests: XCTestCase {
    func testTwoSyncsAndARecorderOnOneDatabase() throws {
        let sandbox = try SehatProcess.sandboxWithPeople(faults: "latency=20")  // requests stay in flight while others run
        defer { sandbox.stop() }
        let sehat = try SehatProcess()
        defer { sehat.remove() }
        try sehat.setUpClinic(against: sandbox, settings: ["--requests-per-minute", "0", "--concurrency", "2"])
        let example = try String(contentsOf: SehatProcess.repositoryRoot.appendingPathComponent("Schemas/examples/encounter.json"), encoding: .utf8)
        let visits = 50
        var syncs: [Process] = []
        var started = 0
        let deadline = Date().addingTimeInterval(240)
        // The recorder: 50 visits, a status read after each; two syncs kept running beside it.
        for i in 0..<visits {
            syncs.removeAll { !$0.isRunning }
            while syncs.count < 2 {
                syncs.append(try sehat.start(["sync", "--until-idle", "--timeout", "60"]))
                started += 1
            }
            let path = sehat.directory + "/visit-\(i).json"
            try example.replacingOccurrences(of: "ENC-20251226-0001", with: "ENC-TWO-\(i)").write(toFile: path, atomically: true, encoding: .utf8)
            XCTAssertEqual(try sehat.run(["encounter", "record", "--file", path]).status, 0)
            XCTAssertEqual(try sehat.run(["status", "--json"]).status, 0)
            XCTAssertLessThan(Date(), deadline)
        }
        for sync in syncs { sync.waitUntilExit() }
        XCTAssertGreaterThanOrEqual(started, 2)

        // One more sync finds nothing left behind.
        let final = try sehat.run(["sync", "--until-idle", "--timeout", "120", "--json"], timeout: 180)
        XCTAssertEqual(final.status, 0, final.stdout + final.stderr)
        let database = try Database(path: sehat.directory + "/sehat.db")
        let left = try database.read { try $0.scalar("SELECT count(*) FROM outbox WHERE status <> 'completed'").int }
        XCTAssertEqual(left, 0)
        // Every resource exists once on the sandbox.
        XCTAssertEqual(sandbox.resources(ofType: "Encounter").count, visits)
        var seen: [String: Int] = [:]
        for resource in sandbox.resources() {
            for identifier in resource["identifier"]?.arrayValue ?? [] {
                guard let value = identifier["value"]?.stringValue else { continue }
                seen["\(resource["resourceType"]?.stringValue ?? "")|\(identifier["system"]?.stringValue ?? "")|\(value)", default: 0] += 1
            }
        }
        XCTAssertEqual(seen.filter { $0.value > 1 }.keys.sorted(), [])
        XCTAssertEqual(sandbox.referenceViolations(), [])
        // Every FHIR request the sandbox received is a row of the sync log.
        let fhirPath = URL(string: sandbox.fhirBaseURL)!.path
        let received = Set(sandbox.requestLog().filter { $0.path.hasPrefix(fhirPath) }.compactMap(\.requestID))
        let logged = Set(try database.read { try $0.query("SELECT DISTINCT request_id FROM sync_log").compactMap { $0[0].string } })
        XCTAssertGreaterThan(received.count, 2, "the visits went out (packed together, in fewer requests than visits)")
        XCTAssertEqual(received.subtracting(logged), [], "requests the sandbox received that no sync_log row names")
        // No Encounter was updated again and again: each has its create and its closing update.
        let versions = sandbox.resources(ofType: "Encounter").compactMap { $0.value(at: "meta.versionId")?.stringValue }
        XCTAssertTrue(versions.allSatisfy { (Int($0) ?? 99) <= 2 }, "\(versions)")
    }
}
