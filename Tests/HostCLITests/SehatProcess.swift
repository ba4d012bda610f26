import SehatSupport
import Foundation
import SehatSandbox
import SehatStore
import XCTest

/// Runs the built `sehat` executable in a scratch folder, bounded in time.
struct SehatProcess {
    struct Result {
        let status: Int32
        let stdout: String
        let stderr: String
    }

    let directory: String

    static var executable: URL {
        let candidates = [
            Bundle.main.bundleURL, URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent(),
            Bundle(for: Marker.self).bundleURL.deletingLastPathComponent(),
        ]
        for folder in candidates where FileManager.default.isExecutableFile(atPath: folder.appendingPathComponent("sehat").path) {
            return folder.appendingPathComponent("sehat")
        }
        return candidates[0].appendingPathComponent("sehat")
    }

    private final class Marker {}

    static var repositoryRoot: URL {
        var url = URL(fileURLWithPath: #filePath)
        while !FileManager.default.fileExists(atPath: url.appendingPathComponent("Package.swift").path) { url.deleteLastPathComponent() }
        return url
    }

    init(name: String = #function) throws {
        directory = NSTemporaryDirectory() + "sehat-cli-\(name.filter(\.isLetter))-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    }

    func remove() { try? FileManager.default.removeItem(atPath: directory) }

    /// Runs `sehat ARGS` with `stdin`, killing it after `timeout` seconds.
    /// A `sehat` process in the scratch folder, without `$SEHAT_DB` unless given.
    func process(_ arguments: [String], environment: [String: String] = [:]) -> Process {
        let process = Process()
        process.executableURL = SehatProcess.executable
        process.arguments = arguments
        process.currentDirectoryURL = URL(fileURLWithPath: directory)
        var env = ProcessInfo.processInfo.environment
        env.removeValue(forKey: "SEHAT_DB")
        env.merge(environment) { $1 }
        process.environment = env
        return process
    }

    @discardableResult
    func run(_ arguments: [String], stdin: String? = nil, environment: [String: String] = [:], timeout: TimeInterval = 60) throws -> Result {
        let process = process(arguments, environment: environment)
        let out = Pipe(), err = Pipe(), input = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = input
        let finished = DispatchSemaphore(value: 0)
        process.terminationHandler = { _ in finished.signal() }
        try process.run()
        if let stdin { input.fileHandleForWriting.write(Data(stdin.utf8)) }
        try input.fileHandleForWriting.close()
        // Drain both pipes while the child runs, so a large output cannot block it.
        let group = DispatchGroup()
        let collected = Locked<[Int: Data]>([:])
        for (index, pipe) in [out, err].enumerated() {
            DispatchQueue.global().async(group: group) {
                let data = pipe.fileHandleForReading.readDataToEndOfFile()
                collected.withLock { $0[index] = data }
            }
        }
        if finished.wait(timeout: .now() + timeout) == .timedOut {
            process.terminate()
            XCTFail("sehat \(arguments.joined(separator: " ")) did not finish in \(timeout) s")
            finished.wait()
        }
        group.wait()
        let (outData, errData) = collected.withLock { ($0[0] ?? Data(), $0[1] ?? Data()) }
        return Result(status: process.terminationStatus, stdout: String(decoding: outData, as: UTF8.self),
                      stderr: String(decoding: errData, as: UTF8.self))
    }

    /// Row counts of every table of the database in the scratch folder.
    func tableCounts(_ file: String = "sehat.db") throws -> [String: Int] {
        let db = try Database(path: directory + "/" + file)
        return try db.read { conn in
            var counts: [String: Int] = [:]
            for name in try conn.query("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'").compactMap({ $0[0].string }) {
                counts[name] = try conn.scalar("SELECT count(*) FROM \(name)").int
            }
            return counts
        }
    }
}

/// A `sehat` process left running in the background (the sandbox), stopped with SIGTERM.
final class BackgroundSehat {
    let process = Process()
    private let output = Pipe()
    private let lines = Locked<[String]>([])

    /// `errors`: a file that receives its standard error (discarded when nil).
    init(_ arguments: [String], in directory: String, errors: String? = nil) throws {
        process.executableURL = SehatProcess.executable
        process.arguments = arguments
        process.currentDirectoryURL = URL(fileURLWithPath: directory)
        process.standardOutput = output
        if let errors {
            _ = FileManager.default.createFile(atPath: errors, contents: nil)
            process.standardError = FileHandle(forWritingAtPath: errors)
        } else {
            process.standardError = FileHandle.nullDevice
        }
        let lines = self.lines
        output.fileHandleForReading.readabilityHandler = { handle in
            let text = String(decoding: handle.availableData, as: UTF8.self)
            lines.withLock { $0.append(contentsOf: text.split(separator: "\n").map(String.init)) }
        }
        try process.run()
    }

    /// The first printed line containing `marker`, waiting up to `timeout` seconds for it.
    func line(containing marker: String, timeout: TimeInterval = 20) -> String? {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if let line = lines.withLock({ $0.first { $0.contains(marker) } }) { return line }
            _ = DispatchSemaphore(value: 0).wait(timeout: .now() + .milliseconds(20))
        }
        return nil
    }

    /// SIGTERM, then up to 15 s for it to exit; a process that does not is killed and
    /// reported as -9, so a test fails instead of hanging.
    func stop() -> Int32 {
        if process.isRunning { process.terminate() }
        let deadline = Date().addingTimeInterval(15)
        while process.isRunning && Date() < deadline { _ = DispatchSemaphore(value: 0).wait(timeout: .now() + .milliseconds(50)) }
        let stuck = process.isRunning
        if stuck { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
        output.fileHandleForReading.readabilityHandler = nil
        return stuck ? -9 : process.terminationStatus
    }
}

extension SehatProcess {
    /// Starts `sehat ARGS` and returns at once (the caller waits or kills it).
    func start(_ arguments: [String]) throws -> Process {
        let process = process(arguments)
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        process.standardInput = FileHandle.nullDevice
        try process.run()
        return process
    }
}

extension SehatProcess {
    /// A sandbox that knows the clinic's patient (Budi) and practitioner (dr. Siti), with `faults`.
    static func sandboxWithPeople(faults: String) throws -> Sandbox {
        var configuration = Sandbox.Configuration()
        configuration.resources = [Sandbox.person("Patient", nik: "3171022309900001", name: "Budi Santoso"),
                                   Sandbox.person("Practitioner", nik: "3171021505800003", name: "dr. Siti Rahmawati")]
        configuration.faults = try FaultPlan(spec: faults)
        return try Sandbox(configuration: configuration)
    }

    /// `sehat init` against `sandbox` (with `settings`), then POLI-UMUM, dr. Siti and Budi.
    func setUpClinic(against sandbox: Sandbox, settings: [String]) throws {
        try "sandbox-secret\n".write(toFile: directory + "/secret.txt", atomically: true, encoding: .utf8)
        for step in [
            ["init", "--org-id", "10000004", "--client-id", "sandbox-client", "--client-secret-file", "secret.txt", "--base-url", sandbox.fhirBaseURL,
             "--auth-url", sandbox.authURL, "--emergency-url", sandbox.emergencyURL] + settings,
            ["location", "add", "--code", "POLI-UMUM", "--name", "Poli Umum"],
            ["practitioner", "add", "--nik", "3171021505800003", "--name", "dr. Siti Rahmawati"],
            ["patient", "add", "--nik", "3171022309900001", "--name", "Budi Santoso", "--gender", "male", "--birth-date", "1990-09-23"],
        ] {
            let result = try run(step)
            XCTAssertEqual(result.status, 0, "\(step): \(result.stderr)")
        }
    }
}

