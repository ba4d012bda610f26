import Foundation
import SehatJSON
import SehatSandbox
import XCTest

/// `sehat encounter amend` and `cancel` at the command line: after a sync, an amended vital is
/// updated in place and a cancelled visit becomes entered-in-error on the sandbox; before one,
/// a cancelled visit's items show as withdrawn and never leave.
final class CorrectionCLITests: XCTestCase {
    func testAmendingAndCancellingAVisitBeforeAndAfterItWasSent() throws {
        let sandbox = try SehatProcess.sandboxWithPeople(faults: "")
        defer { sandbox.stop() }
        let sehat = try SehatProcess()
        defer { sehat.remove() }
        try sehat.setUpClinic(against: sandbox, settings: ["--requests-per-minute", "0"])
        let example = try String(contentsOf: SehatProcess.repositoryRoot.appendingPathComponent("Schemas/examples/encounter.json"), encoding: .utf8)
        XCTAssertEqual(try sehat.run(["encounter", "record", "--file", "-"], stdin: example).status, 0)
        XCTAssertEqual(try sehat.run(["sync", "--until-idle"]).status, 0)
        let sent = sandbox.counts()

        // Amended after the sync: the Observation is updated in place.
        let corrected = example.replacingOccurrences(of: "\"value\": 120", with: "\"value\": 125")
        XCTAssertNotEqual(corrected, example)
        let amended = try sehat.run(["encounter", "amend", "--file", "-", "--reason", "systolic misread"], stdin: corrected)
        XCTAssertEqual(amended.status, 0, amended.stderr)
        XCTAssertTrue(amended.stdout.contains("1 resources changed"), amended.stdout)
        XCTAssertEqual(try sehat.run(["sync", "--until-idle"]).status, 0)
        XCTAssertEqual(sandbox.counts(), sent, "updated in place")
        XCTAssertTrue(sandbox.resources(ofType: "Observation").contains { $0.value(at: "valueQuantity.value")?.numberText == "125" })

        let cancelled = try sehat.run(["encounter", "cancel", "--number", "ENC-20251226-0001", "--reason", "wrong patient", "--json"])
        XCTAssertEqual(cancelled.status, 0, cancelled.stderr)
        XCTAssertTrue(cancelled.stdout.contains("withdrawn_on_server"))
        XCTAssertEqual(try sehat.run(["sync", "--until-idle"]).status, 0)
        XCTAssertEqual(sandbox.counts(), sent, "nothing created again")
        XCTAssertEqual(sandbox.resources(ofType: "Encounter").first?["status"]?.stringValue, "entered-in-error")

        // Recorded and cancelled before any sync: withdrawn, and `sync` has nothing to send for it.
        XCTAssertEqual(try sehat.run(["encounter", "record", "--file", "-"], stdin: example.replacingOccurrences(of: "ENC-20251226-0001", with: "ENC-LATER")).status, 0)
        XCTAssertEqual(try sehat.run(["encounter", "cancel", "--number", "ENC-LATER", "--reason", "recorded twice"]).status, 0)
        let withdrawn = try sehat.run(["outbox", "--status", "withdrawn", "--json"])
        XCTAssertEqual(withdrawn.status, 0, withdrawn.stderr)
        XCTAssertTrue(withdrawn.stdout.contains("\"status\" : \"withdrawn\"") || withdrawn.stdout.contains("\"status\": \"withdrawn\""), withdrawn.stdout)
        XCTAssertEqual(try sehat.run(["sync", "--until-idle"]).status, 0, "withdrawn items are not failures")
        XCTAssertEqual(sandbox.resources(ofType: "Encounter").count, 1)
        // People: a name corrected; the NIK no longer, once SATUSEHAT has matched the patient by it.
        let renamed = try sehat.run(["patient", "update", "--nik", "3171022309900001", "--name", "Budi Santosa", "--reason", "misspelt"])
        XCTAssertEqual(renamed.status, 0, renamed.stderr)
        XCTAssertTrue(renamed.stdout.hasPrefix("corrected "), renamed.stdout)
        let renik = try sehat.run(["patient", "update", "--nik", "3171022309900001", "--new-nik", "3171022309900099", "--reason", "typo"])
        XCTAssertEqual(renik.status, 1)
        XCTAssertTrue(renik.stderr.contains("new-nik: cannot change"), renik.stderr)
        let again = try sehat.run(["encounter", "cancel", "--number", "ENC-LATER", "--reason", "x"])
        XCTAssertEqual(again.status, 1)
        XCTAssertTrue(again.stderr.contains("number: encounter ENC-LATER was already cancelled"), again.stderr)
    }
}

extension CorrectionCLITests {
    /// Someone else changes a sent Observation on the server; the amendment's update is a
    /// conflict that `outbox show` lays out and `outbox resolve` settles.
    func testAVersionConflictIsShownAndResolvedAtTheCommandLine() throws {
        let sandbox = try SehatProcess.sandboxWithPeople(faults: "")
        defer { sandbox.stop() }
        let sehat = try SehatProcess()
        defer { sehat.remove() }
        try sehat.setUpClinic(against: sandbox, settings: ["--requests-per-minute", "0"])
        let example = try String(contentsOf: SehatProcess.repositoryRoot.appendingPathComponent("Schemas/examples/encounter.json"), encoding: .utf8)
        XCTAssertEqual(try sehat.run(["encounter", "record", "--file", "-"], stdin: example).status, 0)
        XCTAssertEqual(try sehat.run(["sync", "--until-idle"]).status, 0)
        let systolic = { sandbox.resources(ofType: "Observation").first { $0.value(at: "code.coding")?[0]?["code"]?.stringValue == "8480-6" } }
        let serverID = try XCTUnwrap(systolic()?["id"]?.stringValue)
        XCTAssertEqual(sandbox.changeResource("Observation", serverID) { $0["valueQuantity"]?["value"] = 999 }, 2)

        let corrected = example.replacingOccurrences(of: "\"value\": 120", with: "\"value\": 125")
        XCTAssertEqual(try sehat.run(["encounter", "amend", "--file", "-", "--reason", "systolic misread"], stdin: corrected).status, 0)
        let conflicted = try sehat.run(["sync", "--until-idle"])
        XCTAssertEqual(conflicted.status, 4, "a person's turn: \(conflicted.stdout)")
        let listed = try sehat.run(["outbox", "--status", "conflict", "--json"])
        let items = try XCTUnwrap(try JSON.parse(listed.stdout)["items"]?.arrayValue)
        XCTAssertEqual(items.count, 1, listed.stdout)
        let id = try XCTUnwrap(items[0]["id"]?.intValue)
        let shown = try sehat.run(["outbox", "show", String(id)])
        XCTAssertEqual(shown.status, 0, shown.stderr)
        for expected in ["— conflict", "version conflict (open): this update was based on version 1; the server had version 2", "differs in: valueQuantity",
                         "server: {\"value\":999", "local:  {\"value\":125", "outbox resolve \(id) --keep local"] {
            XCTAssertTrue(shown.stdout.contains(expected), "\(expected) in:\n\(shown.stdout)")
        }
        let retried = try sehat.run(["outbox", "retry", String(id)])
        XCTAssertEqual(retried.status, 1)
        XCTAssertTrue(retried.stderr.contains("version conflict"), retried.stderr)
        XCTAssertEqual(try sehat.run(["outbox", "resolve", String(id)]).status, 2, "--keep is required")
        XCTAssertEqual(try sehat.run(["outbox", "resolve", String(id), "--keep", "mine"]).status, 2)
        let resolved = try sehat.run(["outbox", "resolve", String(id), "--keep", "local", "--by", "dr. Siti"])
        XCTAssertEqual(resolved.status, 0, resolved.stderr)
        XCTAssertTrue(resolved.stdout.contains("based on the server's version 2"), resolved.stdout)
        XCTAssertEqual(try sehat.run(["sync", "--until-idle"]).status, 0)
        XCTAssertEqual(systolic()?.value(at: "valueQuantity.value")?.numberText, "125")
        XCTAssertEqual(systolic()?.value(at: "meta.versionId")?.stringValue, "3")
        let history = try sehat.run(["encounter", "history", "--number", "ENC-20251226-0001"])
        XCTAssertEqual(history.status, 0, history.stderr)
        XCTAssertTrue(history.stdout.contains("update based on version 1"), history.stdout)
        XCTAssertTrue(history.stdout.contains("systolic misread"), history.stdout)
        XCTAssertTrue(try sehat.run(["outbox", "show", String(id)]).stdout.contains("by dr. Siti: kept local"))
    }

    /// Amendments and the syncs that carry them, killed at random moments: every visit ends on
    /// the server with its last amendment, once, with nothing created twice.
    func testAmendmentsAndTheirSyncsKilledAtRandomEndAmendedExactlyOnce() throws {
        let sandbox = try SehatProcess.sandboxWithPeople(faults: "latency=10")
        defer { sandbox.stop() }
        let sehat = try SehatProcess()
        defer { sehat.remove() }
        try sehat.setUpClinic(against: sandbox, settings: ["--requests-per-minute", "0", "--timeout-normal", "2", "--timeout-long", "2"])
        let example = try String(contentsOf: SehatProcess.repositoryRoot.appendingPathComponent("Schemas/examples/encounter.json"), encoding: .utf8)
        var generator = SystemRandomNumberGenerator()
        var kills = 0
        let visits = 6
        for visit in 0..<visits {
            let number = "ENC-AMEND-\(visit)"
            let original = example.replacingOccurrences(of: "ENC-20251226-0001", with: number)
            XCTAssertEqual(try sehat.run(["encounter", "record", "--file", "-"], stdin: original).status, 0)
            if visit % 2 == 0 { _ = try sehat.run(["sync", "--until-idle"]) }  // half of them amended after they were sent
            // Three amendments in a row, each killed or not at a random moment, each with its sync.
            for step in 1...3 {
                let path = sehat.directory + "/amend-\(visit)-\(step).json"
                try original.replacingOccurrences(of: "\"value\": 120", with: "\"value\": \(120 + step)").write(toFile: path, atomically: true, encoding: .utf8)
                for arguments in [["encounter", "amend", "--file", path, "--reason", "step \(step)"], ["sync"]] {
                    let child = try sehat.start(arguments)
                    _ = DispatchSemaphore(value: 0).wait(timeout: .now() + .milliseconds(Int.random(in: 0...60, using: &generator)))
                    if child.isRunning {
                        kill(child.processIdentifier, SIGKILL)
                        kills += 1
                    }
                    child.waitUntilExit()
                }
                // A killed amendment is simply made again (the same document changes nothing if it had committed).
                XCTAssertEqual(try sehat.run(["encounter", "amend", "--file", path, "--reason", "step \(step)"]).status, 0)
            }
        }
        XCTAssertGreaterThan(kills, 5, "some runs were killed mid-way")
        let final = try sehat.run(["sync", "--until-idle", "--timeout", "120"], timeout: 180)
        XCTAssertEqual(final.status, 0, final.stderr)
        XCTAssertEqual(sandbox.resources(ofType: "Encounter").count, visits, "one Encounter per visit")
        let systolic = sandbox.resources(ofType: "Observation").filter { $0.value(at: "code.coding")?[0]?["code"]?.stringValue == "8480-6" }
        XCTAssertEqual(systolic.count, visits, "one systolic Observation per visit")
        XCTAssertTrue(systolic.allSatisfy { $0.value(at: "valueQuantity.value")?.numberText == "123" }, "\(systolic.map { $0.value(at: "valueQuantity.value") })")
        XCTAssertEqual(sandbox.referenceViolations(), [])
    }
}
