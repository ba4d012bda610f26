import Foundation
import SehatStore
import XCTest

/// `sehat` on a real full filesystem: a 1 MiB tmpfs, which root (as CI runs) can mount.
/// Without root nothing can be mounted; SehatSyncTests.DiskFullTests covers SQLITE_FULL
/// through SQLite's own page limit on every machine.
final class DiskFullCLITests: XCTestCase {
    func testRecordingOnAFullFilesystemFailsClearlyAndResumes() throws {
        let sehat = try SehatProcess()
        defer { sehat.remove() }
        let mountPoint = sehat.directory + "/small"
        try FileManager.default.createDirectory(atPath: mountPoint, withIntermediateDirectories: true)
        let mounted = run("/bin/mount", ["-t", "tmpfs", "-o", "size=1m", "tmpfs", mountPoint]) == 0
        defer { if mounted { _ = run("/bin/umount", [mountPoint]) } }
        let db = mountPoint + "/sehat.db"
        try "s\n".write(toFile: sehat.directory + "/secret.txt", atomically: true, encoding: .utf8)
        for step in [
            ["init", "--org-id", "10000004", "--client-id", "c", "--client-secret-file", "secret.txt"],
            ["location", "add", "--code", "POLI-UMUM", "--name", "Poli Umum"],
            ["practitioner", "add", "--nik", "3171021505800003", "--name", "dr. Siti Rahmawati"],
            ["patient", "add", "--nik", "3171022309900001", "--name", "Budi Santoso", "--gender", "male", "--birth-date", "1990-09-23"],
        ] {
            XCTAssertEqual(try sehat.run(["--db", db] + step).status, 0, "\(step)")
        }
        guard mounted else {
            // Only root may mount; as root (CI) a failure to mount is a failure of this test.
            XCTAssertNotEqual(getuid(), 0, "running as root, the tmpfs should have mounted")
            return
        }
        let example = try String(contentsOf: SehatProcess.repositoryRoot.appendingPathComponent("Schemas/examples/encounter.json"), encoding: .utf8)
        var refused: SehatProcess.Result?
        var recorded = 0
        for i in 0..<400 where refused == nil {
            let result = try sehat.run(["--db", db, "encounter", "record", "--file", "-"],
                                       stdin: example.replacingOccurrences(of: "ENC-20251226-0001", with: "FULL-\(i)"))
            if result.status == 0 { recorded += 1 } else { refused = result }
        }
        let full = try XCTUnwrap(refused, "the 1 MiB filesystem filled up")
        XCTAssertEqual(full.status, 1)
        XCTAssertTrue(full.stderr.contains("sehat: error: the disk is full: nothing was written"), full.stderr)
        let database = try Database(path: db)
        XCTAssertEqual(try database.withoutTransaction { try $0.scalar("PRAGMA integrity_check").string }, "ok")
        XCTAssertEqual(try database.read { try $0.scalar("SELECT count(*) FROM encounters").int }, recorded)
        // A new database on the full filesystem: the same clear message at open, and no file left.
        let other = mountPoint + "/other.db"
        let opened = try sehat.run(["--db", other, "init", "--org-id", "10000004", "--client-id", "c", "--client-secret-file", "secret.txt"])
        XCTAssertEqual(opened.status, 1)
        XCTAssertTrue(opened.stderr.contains("sehat: error: the disk is full"), opened.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: other), "a refused init leaves no database")
        // Room again (a bigger filesystem): recording resumes.
        XCTAssertEqual(run("/bin/mount", ["-o", "remount,size=8m", mountPoint]), 0)
        let after = try sehat.run(["--db", db, "encounter", "record", "--file", "-"], stdin: example.replacingOccurrences(of: "ENC-20251226-0001", with: "FULL-AFTER"))
        XCTAssertEqual(after.status, 0, after.stderr)
    }

    private func run(_ tool: String, _ arguments: [String]) -> Int32 {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: tool)
        process.arguments = arguments
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        guard (try? process.run()) != nil else { return -1 }
        process.waitUntilExit()
        return process.terminationStatus
    }
}
