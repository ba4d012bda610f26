import Foundation
import SehatFHIR
import SehatJSON
import XCTest

/// `sehat sandbox` and `sehat sync` as separate processes, as a tester runs them.
final class SyncCommandTests: XCTestCase {
    var sehat: SehatProcess!

    override func setUpWithError() throws { sehat = try SehatProcess() }
    override func tearDown() { sehat.remove() }

    private func setUpClinic(baseURL: String, authURL: String) throws {
        try "sandbox-secret\n".write(toFile: sehat.directory + "/secret.txt", atomically: true, encoding: .utf8)
        for step in [
            ["init", "--org-id", "10000004", "--client-id", "sandbox-client", "--client-secret-file", "secret.txt", "--base-url", baseURL, "--auth-url", authURL],
            ["location", "add", "--code", "POLI-UMUM", "--name", "Poli Umum"],
            ["practitioner", "add", "--nik", "3171021505800003", "--name", "dr. Siti Rahmawati"],
            ["patient", "add", "--nik", "3171022309900001", "--name", "Budi Santoso", "--gender", "male", "--birth-date", "1990-09-23"],
        ] {
            let result = try sehat.run(step)
            XCTAssertEqual(result.status, 0, "\(step): \(result.stderr)")
        }
        let example = try String(contentsOf: SehatProcess.repositoryRoot.appendingPathComponent("Schemas/examples/encounter.json"), encoding: .utf8)
        XCTAssertEqual(try sehat.run(["encounter", "record", "--file", "-"], stdin: example).status, 0)
    }

    func testSyncAgainstTheSandboxProcess() throws {
        let sandbox = try BackgroundSehat(["sandbox", "--patients", "3171022309900001", "--practitioners", "3171021505800003"], in: sehat.directory)
        defer {
            let status = sandbox.stop()
            XCTAssertEqual(status, 0, "the sandbox stops cleanly on SIGTERM")
        }
        func printed(_ label: String) throws -> String {
            let line = try XCTUnwrap(sandbox.line(containing: label), "the sandbox did not print \(label)")
            return line.components(separatedBy: label)[1].trimmingCharacters(in: .whitespaces)
        }
        let base = try printed("FHIR base:")
        let auth = try printed("token endpoint:")
        XCTAssertTrue(base.hasPrefix("http://127.0.0.1:"))
        try setUpClinic(baseURL: base, authURL: auth)
        let synced = try sehat.run(["sync", "--json"], timeout: 60)
        XCTAssertEqual(synced.status, 0, synced.stdout + synced.stderr)
        let report = try JSON.parse(synced.stdout)
        XCTAssertEqual(report["exit_status"]?.intValue, 0)
        XCTAssertEqual(report["completed"]?.intValue, 3 + 1 + 15, "registry, the practitioner's role, the visit")
        // On a pipe, progress is a plain line per step on stderr: done of total (never past it), rate, and the end.
        let progress = synced.stderr.split(separator: "\n").filter { $0.hasPrefix("clinic: ") }
        XCTAssertFalse(progress.isEmpty, synced.stderr)
        XCTAssertFalse(synced.stderr.contains("\u{1B}["), "no cursor movement on a pipe")
        for line in progress {
            let numbers = line.split(separator: " ").compactMap { Int($0) }
            XCTAssertGreaterThanOrEqual(numbers.count, 2, String(line))
            XCTAssertLessThanOrEqual(numbers[0], numbers[1], "done never passes the total: \(line)")
            XCTAssertTrue(line.contains(" done ("), String(line))
        }
        XCTAssertTrue(progress.last?.hasPrefix("clinic: 19 of 19 done") == true, "\(progress)")
        let again = try JSON.parse(try sehat.run(["sync", "--json"], timeout: 60).stdout)
        XCTAssertEqual(again["requests"]?.intValue, 0, "a second sync sends nothing")
        let human = try sehat.run(["sync"], timeout: 60)
        XCTAssertTrue(human.stdout.contains("nothing left to send"), human.stdout)
        // --quiet: the summary only.
        XCTAssertEqual(try sehat.run(["encounter", "record", "--file", "-"], stdin: try String(contentsOf: SehatProcess.repositoryRoot
            .appendingPathComponent("Schemas/examples/encounter.json"), encoding: .utf8).replacingOccurrences(of: "ENC-20251226-0001", with: "ENC-QUIET")).status, 0)
        let quiet = try sehat.run(["sync", "--quiet"], timeout: 60)
        XCTAssertEqual(quiet.status, 0, quiet.stderr)
        XCTAssertEqual(quiet.stderr, "")
        XCTAssertTrue(quiet.stdout.contains("items done"), quiet.stdout)
        // Metrics and JSON logs for operators.
        let metrics = try sehat.run(["metrics"])
        XCTAssertTrue(metrics.stdout.contains(#"sehat_outbox_items{lane="clinic",status="completed"} 34"#), metrics.stdout)  // 19, and the quiet visit's 15
        XCTAssertEqual(try sehat.run(["encounter", "record", "--file", "-"], stdin: try String(contentsOf: SehatProcess.repositoryRoot
            .appendingPathComponent("Schemas/examples/encounter.json"), encoding: .utf8).replacingOccurrences(of: "ENC-20251226-0001", with: "ENC-LOG")).status, 0)
        let logged = try sehat.run(["sync", "--log-json"], timeout: 60)
        let lines = logged.stderr.split(separator: "\n").compactMap { try? JSON.parse(String($0)) }
        XCTAssertEqual(lines.last?["event"]?.stringValue, "sync.run")
        XCTAssertTrue(lines.contains { $0["event"]?.stringValue == "sync.request" && $0["request_id"] != nil })
        // On a terminal (a pseudo-terminal from util-linux `script`): one line per lane, rewritten in place.
        XCTAssertEqual(try sehat.run(["encounter", "record", "--file", "-"], stdin: try String(contentsOf: SehatProcess.repositoryRoot
            .appendingPathComponent("Schemas/examples/encounter.json"), encoding: .utf8).replacingOccurrences(of: "ENC-20251226-0001", with: "ENC-TTY")).status, 0)
        let terminal = Process()
        terminal.executableURL = URL(fileURLWithPath: "/usr/bin/script")
        terminal.arguments = ["-qec", "'\(SehatProcess.executable.path)' --db '\(sehat.directory)/sehat.db' sync", "/dev/null"]
        terminal.currentDirectoryURL = URL(fileURLWithPath: sehat.directory)
        let screen = Pipe()
        terminal.standardOutput = screen
        terminal.standardInput = FileHandle.nullDevice
        try terminal.run()
        let shown = String(decoding: screen.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        terminal.waitUntilExit()
        XCTAssertEqual(terminal.terminationStatus, 0, shown)
        XCTAssertTrue(shown.contains("\u{1B}[2Kclinic: "), "a lane's line, cleared and written: \(shown.debugDescription)")
        XCTAssertTrue(shown.contains("clinic: 15 of 15 done"), "the visit's 15 items, never past the total: \(shown)")
    }

    func testSyncWithNoServerReportsOfflineAndKeepsEverything() throws {
        // A port nothing listens on: the connection is refused, the device is offline.
        try setUpClinic(baseURL: "http://127.0.0.1:9/fhir-r4/v1", authURL: "http://127.0.0.1:9/oauth2/v1/accesstoken")
        let result = try sehat.run(["sync", "--json"], timeout: 60)
        XCTAssertEqual(result.status, 3, result.stderr)
        let report = try JSON.parse(result.stdout)
        XCTAssertEqual(report["offline"]?.boolValue, true)
        XCTAssertEqual(report["completed"]?.intValue, 0)
        XCTAssertEqual(try sehat.tableCounts()["outbox"], 19)
        let outbox = try JSON.parse(try sehat.run(["outbox", "--json"]).stdout)
        let attempts: [Int] = (outbox["items"]?.arrayValue ?? []).compactMap { $0["attempts"]?.intValue }
        XCTAssertEqual(Set(attempts), [0], "offline attempts do not count against items")
    }
}
