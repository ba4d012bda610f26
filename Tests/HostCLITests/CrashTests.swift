import Foundation
import SehatFHIR
import SehatJSON
import SehatSandbox
import SehatStore
import XCTest

/// Kill the process at any point — mid-record, mid-request, after the server committed but
/// before the answer was stored — restart, and the end state is as if nothing had happened.
final class CrashTests: XCTestCase {
    func testThirtySixKillsLoseNothingAndDuplicateNothing() throws {
        let sandbox = try SehatProcess.sandboxWithPeople(faults: "latency=15")  // requests stay in flight long enough to be killed in
        defer { sandbox.stop() }
        let sehat = try SehatProcess()
        defer { sehat.remove() }
        try sehat.setUpClinic(against: sandbox, settings: ["--requests-per-minute", "0", "--timeout-normal", "2", "--timeout-long", "2",
                                                           "--timeout-critical", "2", "--concurrency", "2"])
        let example = try String(contentsOf: SehatProcess.repositoryRoot.appendingPathComponent("Schemas/examples/encounter.json"), encoding: .utf8)
        var generator = SystemRandomNumberGenerator()
        var kills = 0
        // Until 36 kills have landed (a child that finished before its moment is not a kill), bounded.
        var round = -1
        while kills < 36 && round < 120 {
            round += 1
            let document = example.replacingOccurrences(of: "ENC-20251226-0001", with: "ENC-CRASH-\(round)")
            let path = sehat.directory + "/visit-\(round).json"
            try document.write(toFile: path, atomically: true, encoding: .utf8)
            // Every third round kills a record, the others a sync, each at a random moment.
            let arguments = round % 3 == 0 ? ["encounter", "record", "--file", path] : ["sync"]
            if round % 3 != 0 { _ = try sehat.run(["encounter", "record", "--file", path]) }
            if round % 6 == 1 {
                // A panic report, with the victim and volunteer known, between the killed syncs.
                XCTAssertEqual(try sehat.run(["panic", "--lat", "-6.2", "--lon", "106.8", "--severity", "critical", "--type", "cardiac_arrest",
                                              "--victim-nik", "3171022309900001", "--volunteer-nik", "3171021505800003", "--referral"]).status, 0)
            }
            let child = try sehat.start(arguments)
            let delay = Int.random(in: 0...(round % 3 == 0 ? 40 : 120), using: &generator)
            _ = DispatchSemaphore(value: 0).wait(timeout: .now() + .milliseconds(delay))
            if child.isRunning {
                kill(child.processIdentifier, SIGKILL)
                kills += 1
            }
            child.waitUntilExit()
        }
        XCTAssertGreaterThanOrEqual(kills, 30, "killed \(kills) times in \(round + 1) rounds")

        // Restart and finish.
        let final = try sehat.run(["sync", "--until-idle", "--timeout", "120", "--json"], timeout: 180)
        XCTAssertEqual(final.status, 0, final.stdout + final.stderr)
        let database = try Database(path: sehat.directory + "/sehat.db")
        XCTAssertEqual(try database.withoutTransaction { try $0.scalar("PRAGMA integrity_check").string }, "ok")
        let recorded = try database.read { conn in
            try conn.query("SELECT number FROM encounters ORDER BY number").compactMap { $0[0].string }
        }
        XCTAssertGreaterThanOrEqual(recorded.count, 24, "every record that was not killed is there")
        // Exactly once: one server Encounter per recorded one, no identifier twice, no reference ever dangling.
        let onServer = sandbox.resources(ofType: "Encounter").filter { $0.value(at: "class.code") != "EMER" }
            .compactMap { $0["identifier"]?[0]?["value"]?.stringValue }.sorted()
        XCTAssertEqual(onServer, recorded)
        var seen: [String: Int] = [:]
        for resource in sandbox.resources() {
            for identifier in resource["identifier"]?.arrayValue ?? [resource["identifier"] ?? .null] {
                guard let value = identifier["value"]?.stringValue else { continue }
                seen["\(resource["resourceType"]!.stringValue!)|\(identifier["system"]?.stringValue ?? "")|\(value)", default: 0] += 1
            }
        }
        XCTAssertEqual(seen.filter { $0.value > 1 }.keys.sorted(), [])
        XCTAssertEqual(sandbox.referenceViolations(), [])
        let panics = try database.read { try $0.query("SELECT event_id FROM panic_reports").compactMap { $0[0].string } }
        XCTAssertEqual(panics.count, (round + 5) / 6, "one panic report every sixth round")
        XCTAssertEqual(Set(sandbox.emergencyNotifications().compactMap { $0["event_id"]?.stringValue }), Set(panics))
        XCTAssertEqual(sandbox.emergencyNotifications().count, panics.count, "each panic report reached the emergency service once")
        let emergencyEncounters = sandbox.resources(ofType: "Encounter").filter { $0.value(at: "class.code") == "EMER" }
        XCTAssertEqual(emergencyEncounters.count, panics.count, "and its SATUSEHAT resources once")
        XCTAssertEqual(sandbox.counts()["Observation"], recorded.count * 5 + panics.count, "4 vitals and 1 lab result per visit, 1 per emergency")
    }
}
