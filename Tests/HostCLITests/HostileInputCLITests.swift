import Foundation
import XCTest

/// The issue's cases as a user meets them at the command line: a refusal with the field and
/// the range, exit 1 or 2, never a trap; nothing written by a refused init; a crash that
/// prints one line and no memory.
final class HostileInputCLITests: XCTestCase {
    var sehat: SehatProcess!
    override func setUpWithError() throws { sehat = try SehatProcess() }
    override func tearDown() { sehat.remove() }

    private var initialize: [String] { ["init", "--org-id", "10000004", "--client-id", "c", "--client-secret-file", "secret.txt"] }

    func testARefusedInitLeavesNoDatabaseBehind() throws {
        try "s\n".write(toFile: sehat.directory + "/secret.txt", atomically: true, encoding: .utf8)
        try "".write(toFile: sehat.directory + "/empty.txt", atomically: true, encoding: .utf8)
        let cases: [([String], Int32, [String])] = [
            (["init", "--org-id", "1", "--client-id", "c", "--client-secret-file", "missing.txt"], 1, ["client-secret-file: ", "missing.txt does not exist"]),
            (["init", "--org-id", "1", "--client-id", "c", "--client-secret-file", "empty.txt"], 1, ["client-secret-file: ", "empty.txt is empty"]),
            (["init", "--org-id", "1", "--client-id", "c", "--client-secret-file", "."], 1, ["client-secret-file: ", "is a directory, not a file"]),
            (initialize + ["--concurrency", "0"], 2, ["--concurrency must be a whole number from 1 to 64, got \"0\""]),
            (initialize + ["--timeout-normal", "1e300"], 2, ["--timeout-normal must be a number from 1 to 600, got \"1e300\""]),
            (initialize + ["--initial-backoff", "1e300", "--max-backoff", "1e300"], 2, ["--initial-backoff must be a number from 0 to 3600"]),
            (initialize + ["--timeout-long", "inf"], 2, ["--timeout-long must be a decimal number"]),
            (initialize + ["--base-url", "http://127.attacker.example/fhir-r4/v1"], 1, ["base-url: must use https"]),
            (initialize + ["--base-url", "http://127.0.0.1.nip.io/fhir-r4/v1"], 1, ["base-url: must use https"]),
        ]
        for (arguments, status, fragments) in cases {
            let result = try sehat.run(arguments)
            XCTAssertEqual(result.status, status, "\(arguments): \(result.stderr)")
            XCTAssertTrue(result.stderr.hasPrefix("sehat: error: " + fragments[0]), "\(arguments): \(result.stderr)")
            for fragment in fragments { XCTAssertTrue(result.stderr.contains(fragment), "\(arguments): \(result.stderr)") }
            let left = try FileManager.default.contentsOfDirectory(atPath: sehat.directory).filter { $0.hasPrefix("sehat.db") }
            XCTAssertEqual(left, [], "\(arguments) left \(left)")
        }
        XCTAssertEqual(try sehat.run(initialize).status, 0)
        // A setting refused later changes nothing either.
        let config = try sehat.run(["config", "--max-backoff", "1e300", "--concurrency", "8"])
        XCTAssertEqual(config.status, 2, config.stderr)
        XCTAssertTrue(config.stderr.contains("--max-backoff must be a number from 0 to 86400"), config.stderr)
        let settings = try JSONSerialization.jsonObject(with: Data(try sehat.run(["config", "--json"]).stdout.utf8)) as? [String: Any]
        XCTAssertEqual(settings?["concurrency"] as? Int, 4, "the refused config changed nothing")
    }

    func testHostileDocumentsAreRefusedNotCrashedOn() throws {
        try "s\n".write(toFile: sehat.directory + "/secret.txt", atomically: true, encoding: .utf8)
        XCTAssertEqual(try sehat.run(initialize).status, 0)
        let before = try sehat.tableCounts()
        let panic = #"{"latitude": -6.2, "longitude": 106.8, "severity": "high", "type": "fall""#
        let documents: [(String, [UInt8], String)] = [
            ("age 1e30", Array((panic + #", "victim_age": 1e30}"#).utf8), "victim_age: must be a whole number from 0 to 150"),
            ("age Int.max", Array((panic + #", "victim_age": 9223372036854775807}"#).utf8), "victim_age: must be a whole number"),
            ("second type", Array((panic + #", "type": "x"}"#).utf8), "(document): invalid JSON at line 1, column 76: the member name \"type\" appears twice"),
            ("invalid UTF-8", Array(#"{"latitude": 1, "longitude": 1, "severity": "low", "type": "f"#.utf8) + [0xFF] + Array("\"}".utf8),
             "(document): invalid JSON at line 1, column 62: invalid UTF-8"),
        ]
        for (name, bytes, message) in documents {
            let path = sehat.directory + "/doc.json"
            FileManager.default.createFile(atPath: path, contents: Data(bytes))
            let result = try sehat.run(["panic", "--file", "doc.json"])
            XCTAssertEqual(result.status, 1, "\(name): \(result.stderr)")
            XCTAssertTrue(result.stderr.contains("sehat: error: " + message), "\(name): \(result.stderr)")
        }
        // A 200 MB document is refused before it is read: the limit, not the file, sets the memory.
        let huge = sehat.directory + "/huge.json"
        FileManager.default.createFile(atPath: huge, contents: nil)
        let handle = try XCTUnwrap(FileHandle(forWritingAtPath: huge))
        try handle.truncate(atOffset: 200 << 20)
        try handle.close()
        let refused = try sehat.run(["encounter", "record", "--file", "huge.json"])
        XCTAssertEqual(refused.status, 1)
        XCTAssertTrue(refused.stderr.contains("is larger than 1048576 bytes, the limit for this document"), refused.stderr)
        // A bundle file that is not there, or is a folder, is named as such (it is read entry by entry, not by readDocument).
        for (file, reason) in [("nope.json", "file: nope.json does not exist"), (".", "file: . is a directory, not a document")] {
            let missing = try sehat.run(["import", "--file", file])
            XCTAssertEqual(missing.status, 1, missing.stderr)
            XCTAssertTrue(missing.stderr.contains("sehat: error: " + reason), missing.stderr)
        }
        let lat = try sehat.run(["panic", "--lat", "0x10", "--lon", "106", "--severity", "low", "--type", "fall"])
        XCTAssertEqual(lat.status, 2)
        XCTAssertEqual(try sehat.tableCounts(), before)
    }

    func testACrashPrintsOneLineAndNoMemory() throws {
        let errors = sehat.directory + "/stderr.txt"
        let sandbox = try BackgroundSehat(["sandbox"], in: sehat.directory, errors: errors)
        let tokenLine = try XCTUnwrap(sandbox.line(containing: "admin token:"), "the sandbox prints its admin token")
        XCTAssertNotNil(tokenLine.range(of: "admin token: +[0-9a-f]{32}", options: .regularExpression), tokenLine)
        // A fatal signal, as a trap or a bad pointer would raise it.
        kill(sandbox.process.processIdentifier, SIGSEGV)
        sandbox.process.waitUntilExit()
        XCTAssertEqual(sandbox.process.terminationReason, .uncaughtSignal)
        XCTAssertEqual(sandbox.process.terminationStatus, SIGSEGV)
        let printed = try String(contentsOfFile: errors, encoding: .utf8)
        XCTAssertEqual(printed, "sehat: internal error: the program stopped (no data is lost: every write is a transaction); please report it\n")
    }
}
