import Foundation
import SehatSandbox
import SehatStore
import XCTest

/// The registry at the command line, against the sandbox's KKI and SISDMK: the batch's JSON
/// and exit status, the audit, the offline views, and pulls killed at random that end in the
/// registry an uninterrupted pull makes.
final class RegistryCLITests: XCTestCase {
    private func sandbox(people: Int, badRowRate: Double = 0, faults: String = "") throws -> Sandbox {
        var configuration = Sandbox.Configuration()
        configuration.registry.people = people
        configuration.registry.badRowRate = badRowRate
        configuration.faults = try FaultPlan(spec: faults)
        return try Sandbox(configuration: configuration)
    }

    private func setUpSources(_ sehat: SehatProcess, _ sandbox: Sandbox, db: String = "sehat.db") throws {
        try "sandbox-secret\n".write(toFile: sehat.directory + "/registry-secret", atomically: true, encoding: .utf8)
        try "s\n".write(toFile: sehat.directory + "/secret.txt", atomically: true, encoding: .utf8)
        XCTAssertEqual(try sehat.run(["--db", db, "init", "--org-id", "10000004", "--client-id", "c", "--client-secret-file", "secret.txt"]).status, 0)
        for (source, url) in [("kki", sandbox.kkiURL), ("sisdmk", sandbox.sisdmkURL)] {
            let set = try sehat.run(["--db", db, "source", "set", source, "--base-url", url, "--auth-url", url + "/oauth/token",
                                     "--client-id", "sandbox-client", "--client-secret-file", "registry-secret", "--schedule", "off"])
            XCTAssertEqual(set.status, 0, set.stderr)
        }
    }

    private func json(_ text: String) -> [String: Any] {
        (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [String: Any] ?? [:]
    }

    func testPullingAtTheCommandLine() throws {
        let sandbox = try sandbox(people: 600, badRowRate: 0.3)
        defer { sandbox.stop() }
        let sehat = try SehatProcess()
        defer { sehat.remove() }
        try setUpSources(sehat, sandbox)

        let pulled = try sehat.run(["pull", "kki", "--json", "--page-size", "100"])
        XCTAssertEqual(pulled.status, 4, "completed above the 20 % alert: \(pulled.stderr)")
        let batch = json(pulled.stdout)
        XCTAssertEqual(batch["status"] as? String, "completed")
        XCTAssertEqual(batch["pages"] as? Int, 6)
        XCTAssertEqual(batch["fetched"] as? Int, 600)
        XCTAssertEqual(batch["rejected"] as? Int, 200)
        XCTAssertEqual(batch["alert"] as? Bool, true)
        XCTAssertTrue(batch.keys.contains("reason"))
        for key in ["source", "trace_id", "inserted", "updated", "unchanged", "failure_rate", "seconds"] { XCTAssertNotNil(batch[key], key) }
        // Progress on stderr (a pipe here): a plain line per page, the batch's counts so far.
        let pages = pulled.stderr.split(separator: "\n").filter { $0.hasPrefix("kki: page ") }
        XCTAssertEqual(pages.count, 6, pulled.stderr)
        XCTAssertTrue(pages.first?.hasPrefix("kki: page 1, 100 rows (") == true, "\(pages)")
        XCTAssertTrue(pages.last?.hasPrefix("kki: page 6, 600 rows (") == true, "\(pages)")
        XCTAssertTrue(pages.last?.contains("200 rejected") == true, "\(pages)")

        let history = try sehat.run(["pull", "history", "--json"])
        XCTAssertTrue(history.stdout.contains(batch["trace_id"] as? String ?? "?"))
        let rejected = try sehat.run(["registry", "rejected", "--json", "--limit", "1000"])
        XCTAssertEqual(((try? JSONSerialization.jsonObject(with: Data(rejected.stdout.utf8))) as? [Any])?.count, 200)

        let person = sandbox.registryPeople().first { $0.brokenIn.isEmpty }!
        let shown = try sehat.run(["registry", "show", "--nik", person.nik, "--json"])
        XCTAssertEqual(shown.status, 0, shown.stderr)
        XCTAssertTrue(shown.stdout.contains(person.nik), "the caller gave the NIK")
        XCTAssertTrue(shown.stdout.contains(person.str))
        let listed = try sehat.run(["registry", "list", "--limit", "1000"])
        XCTAssertFalse(listed.stdout.contains(person.nik), "a list masks NIKs")
        XCTAssertTrue(listed.stdout.contains(person.name))

        // SISDMK gives its total: the line says of how many, and --quiet says nothing.
        let sisdmk = try sehat.run(["pull", "sisdmk", "--page-size", "200"])
        XCTAssertTrue(sisdmk.stderr.contains("sisdmk: page 1, 200 of "), "SISDMK says its total: \(sisdmk.stderr)")
        XCTAssertTrue(sisdmk.stderr.contains(" rows ("), sisdmk.stderr)
        let quiet = try sehat.run(["pull", "sisdmk", "--quiet", "--full"])
        XCTAssertEqual(quiet.stderr, "", "--quiet: nothing but the batch at the end")
        // The source goes down: three tries, then exit 3; the registry still serves offline.
        sandbox.setFaults(try FaultPlan(spec: "503=1,retry-after=0"))
        let down = try sehat.run(["pull", "sisdmk", "--json"])
        XCTAssertEqual(down.status, 3, down.stderr)
        XCTAssertEqual(json(down.stdout)["reason"] as? String, "unreachable")
        XCTAssertEqual(try sehat.run(["registry", "show", "--str", person.str]).status, 0)
        XCTAssertEqual(try sehat.run(["pull", "bogus"]).status, 2)
    }

    func testPullsKilledAtRandomEndInTheRegistryOfAnUninterruptedPull() throws {
        let sandbox = try sandbox(people: 3_000, badRowRate: 0.02, faults: "latency=5")
        defer { sandbox.stop() }
        let sehat = try SehatProcess()
        defer { sehat.remove() }
        try setUpSources(sehat, sandbox)
        try setUpSources(sehat, sandbox, db: "reference.db")
        for source in ["kki", "sisdmk"] {
            let clean = try sehat.run(["--db", "reference.db", "pull", source, "--page-size", "50"], timeout: 120)
            XCTAssertEqual(clean.status, 0, clean.stderr)
        }

        var generator = SystemRandomNumberGenerator()
        var kills = 0
        var round = 0
        while kills < 20 && round < 80 {
            round += 1
            // A full pull (starts over) or a plain one (resumes what the last kill left), each source in turn.
            let source = round % 4 < 2 ? "kki" : "sisdmk"
            let child = try sehat.start(["pull", source, "--page-size", "50"] + (round % 2 == 0 ? ["--full"] : []))
            _ = DispatchSemaphore(value: 0).wait(timeout: .now() + .milliseconds(Int.random(in: 30...400, using: &generator)))
            if child.isRunning {
                kill(child.processIdentifier, SIGKILL)
                kills += 1
            }
            child.waitUntilExit()
        }
        XCTAssertEqual(kills, 20)
        for source in ["kki", "sisdmk"] {
            let finish = try sehat.run(["pull", source, "--page-size", "50"], timeout: 120)
            XCTAssertEqual(finish.status, 0, finish.stderr)
        }
        let killed = try registry(sehat.directory + "/sehat.db")
        XCTAssertEqual(killed, try registry(sehat.directory + "/reference.db"), "nothing lost, nothing doubled")
        let people = sandbox.registryPeople()
        let good = people.filter { $0.brokenIn.isEmpty }
        XCTAssertEqual(killed.filter { !$0.hasPrefix("kki|") && !$0.hasPrefix("sisdmk|") }.count, good.count, "one entry per good person")
    }

    /// The registry and every source's vouch, as comparable text.
    private func registry(_ path: String) throws -> [String] {
        let db = try Database(path: path)
        return try db.read { conn in
            let entries = try conn.query("""
                SELECT coalesce(str_number, '-') || '|' || nik || '|' || name || '|' || birth_place || '|' || coalesce(str_status, '-') || '|' ||
                       coalesce(str_valid_until, '-') || '|' || coalesce(facility_code, '-') || '|' || sources FROM registry_entries ORDER BY 1
                """).compactMap { $0[0].string }
            let vouches = try conn.query("SELECT source || '|' || source_key || '|' || data FROM registry_vouches ORDER BY 1").compactMap { $0[0].string }
            return entries + vouches
        }
    }
}
