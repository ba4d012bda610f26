import Foundation
import SehatFHIR
import SehatJSON
import XCTest

final class HostCommandTests: XCTestCase {
    var sehat: SehatProcess!

    override func setUpWithError() throws { sehat = try SehatProcess() }
    override func tearDown() { sehat.remove() }

    static let commands = [
        ["init"], ["config"], ["location", "add"], ["practitioner", "add"], ["patient", "add"], ["encounter", "record"], ["panic"], ["outbox"], ["outbox", "show"], ["outbox", "why"], ["outbox", "retry"], ["outbox", "ignore"],
        ["emergency", "list"], ["emergency", "status"], ["emergency", "update"], ["sync"], ["status"], ["health"], ["metrics"], ["net"], ["patient", "consent"], ["sandbox"], ["demo"], ["import"], ["bench", "write"], ["bench", "ready"], ["bench", "sync"], ["bench", "emergency"], ["bench", "scale"], ["outbox", "resolve"], ["encounter", "history"], ["encounter", "amend"], ["encounter", "cancel"],
    ]

    /// Sets up a clinic in the scratch folder: the organization, POLI-UMUM, one practitioner, one patient.
    private func setUpClinic() throws {
        try "the-secret-value\n".write(toFile: sehat.directory + "/secret.txt", atomically: true, encoding: .utf8)
        let steps: [[String]] = [
            ["init", "--org-id", "10000004", "--client-id", "clinic-a", "--client-secret-file", "secret.txt"],
            ["location", "add", "--code", "POLI-UMUM", "--name", "Poli Umum"],
            ["practitioner", "add", "--nik", "3171021505800003", "--name", "dr. Siti Rahmawati"],
            ["patient", "add", "--nik", "3171022309900001", "--name", "Budi Santoso", "--gender", "male", "--birth-date", "1990-09-23"],
        ]
        for step in steps {
            let result = try sehat.run(step)
            XCTAssertEqual(result.status, 0, "\(step): \(result.stderr)")
            XCTAssertFalse(result.stdout.contains("the-secret-value"))
        }
    }

    private func example() throws -> String {
        try String(contentsOf: SehatProcess.repositoryRoot.appendingPathComponent("Schemas/examples/encounter.json"), encoding: .utf8)
    }

    func testEveryCommandHasTruthfulHelp() throws {
        let overview = try sehat.run(["--help"])
        XCTAssertEqual(overview.status, 0)
        for words in HostCommandTests.commands {
            XCTAssertTrue(overview.stdout.contains(words.joined(separator: " ")), "overview lacks \(words)")
            let help = try sehat.run(words + ["--help"])
            XCTAssertEqual(help.status, 0, "\(words)")
            XCTAssertTrue(help.stdout.contains("Usage: sehat [--db PATH] \(words.joined(separator: " "))"), help.stdout)
            XCTAssertEqual(help.stderr, "")
        }
        XCTAssertTrue(try sehat.run(["location", "--help"]).stdout.contains("sehat location add"))
        XCTAssertTrue(try sehat.run(["help", "panic"]).stdout.contains("--severity critical|high|medium|low"))
        XCTAssertFalse(FileManager.default.fileExists(atPath: sehat.directory + "/sehat.db"), "help must not create a database")
    }

    func testRecordingFlowEndToEnd() throws {
        try setUpClinic()
        let recorded = try sehat.run(["encounter", "record", "--file", "-", "--json"], stdin: try example())
        XCTAssertEqual(recorded.status, 0, recorded.stderr)
        let ids = try JSON.parse(recorded.stdout)
        XCTAssertEqual(ids["number"], "ENC-20251226-0001")
        XCTAssertEqual(ids["resources"]?.arrayValue?.count, 14)
        XCTAssertEqual(ids["outbox_items"]?.arrayValue?.count, 15)

        let panic = try sehat.run(["panic", "--lat", "-6.2088", "--lon", "106.8456", "--severity", "critical", "--type", "cardiac_arrest", "--victim-age", "45"])
        XCTAssertEqual(panic.status, 0, panic.stderr)
        XCTAssertEqual(panic.stdout.trimmingCharacters(in: .whitespacesAndNewlines).count, 36, "prints the emergency id")

        let outbox = try JSON.parse(try sehat.run(["outbox", "--json"]).stdout)
        let counts = outbox["counts"]?.arrayValue?.map { "\($0["lane"]!.stringValue!)/\($0["status"]!.stringValue!)=\($0["count"]!.intValue!)" }
        XCTAssertEqual(counts, ["clinic/pending=19", "emergency/pending=1"], "with the practitioner's role at the polyclinic")
        let items = outbox["items"]?.arrayValue ?? []
        XCTAssertEqual(items.first?["lane"], "emergency", "the panic report is listed first")
        XCTAssertEqual(try JSON.parse(try sehat.run(["outbox", "--json", "--lane", "emergency"]).stdout)["items"]?.arrayValue?.count, 1)
        let human = try sehat.run(["outbox", "--status", "pending", "--limit", "5"])
        XCTAssertTrue(human.stdout.contains("notification.emergency.critical"))
        XCTAssertTrue(human.stderr.contains("(5 of 20 items shown; use --limit)"))
        XCTAssertEqual(try sehat.tableCounts()["encounters"], 1)
    }

    /// `outbox why`: from a visit's part to what holds it, in words and as JSON.
    func testOutboxWhyNamesTheChainTheCauseAndWhatToDo() throws {
        try setUpClinic()
        XCTAssertEqual(try sehat.run(["encounter", "record", "--file", "-"], stdin: try example()).status, 0)
        let listed = try JSON.parse(try sehat.run(["outbox", "--json", "--limit", "100"]).stdout)
        let part = try XCTUnwrap(listed["items"]?.arrayValue?.first { $0["resource_type"] == "Observation" }?["id"]?.intValue)
        let why = try sehat.run(["outbox", "why", String(part)])
        XCTAssertEqual(why.status, 0, why.stderr)
        XCTAssertTrue(why.stdout.hasPrefix("item \(part): create Observation — pending"), why.stdout)
        XCTAssertTrue(why.stdout.contains("  waits on item "), why.stdout)
        XCTAssertTrue(why.stdout.contains("holds it: nothing but a sync: it is due"), why.stdout)
        XCTAssertTrue(why.stdout.contains("what to do: Item \(part) follows once item "), why.stdout)
        XCTAssertTrue(why.stdout.contains("Run `sehat sync`"), why.stdout)
        let json = try JSON.parse(try sehat.run(["outbox", "why", String(part), "--json"]).stdout)
        XCTAssertEqual(json["item"]?["id"]?.intValue, part)
        XCTAssertEqual(json["cause"]?["kind"], "ready_now")
        XCTAssertEqual(json["root"]?.intValue, json["chain"]?.arrayValue?.last?["id"]?.intValue)
        let missing = try sehat.run(["outbox", "why", "999999"])
        XCTAssertEqual(missing.status, 1)
        XCTAssertTrue(missing.stderr.contains("there is no outbox item 999999"), missing.stderr)
    }

    func testEmergencyCommands() throws {
        try setUpClinic()
        let recorded = try sehat.run(["panic", "--lat", "-6.2", "--lon", "106.8", "--severity", "critical", "--type", "cardiac_arrest",
                                      "--victim-nik", "3171022309900001", "--volunteer-nik", "3171021505800003", "--referral", "--json"])
        XCTAssertEqual(recorded.status, 0, recorded.stderr)
        let id = try XCTUnwrap(try JSON.parse(recorded.stdout)["emergency_id"]?.stringValue)
        let lane = try JSON.parse(try sehat.run(["outbox", "--lane", "emergency", "--json"]).stdout)
        XCTAssertEqual(lane["items"]?.arrayValue?.count, 7,
                       "the notification, the site, the EMER encounter, the Observation, the referral, and the two lookups moved up from the clinic lane")
        let callback = try sehat.run(["emergency", "update", "--id", id, "--file", "-"],
                                     stdin: #"{"event_type":"ambulance-dispatch","data":{"status":"dispatched","eta_minutes":9,"ambulance_id":"AMB-7"}}"#)
        XCTAssertEqual(callback.status, 0, callback.stderr)
        XCTAssertTrue(callback.stdout.contains("dispatched, ETA 9 min, ambulance AMB-7"), callback.stdout)
        XCTAssertEqual(try sehat.run(["emergency", "status", "--id", id, "--status", "on_scene"]).status, 0)
        let listed = try JSON.parse(try sehat.run(["emergency", "list", "--json"]).stdout)
        XCTAssertEqual(listed[0]?["status"]?.stringValue, "on_scene")
        XCTAssertEqual(listed[0]?["eta_minutes"]?.intValue, 9)
        let unknown = try sehat.run(["panic", "--lat", "0", "--lon", "0", "--severity", "low", "--type", "fall"])
        XCTAssertEqual(unknown.status, 0)
        XCTAssertTrue(try sehat.run(["emergency", "list"]).stdout.contains("kept on the device only: the victim's NIK is not known"))
        let bad = try sehat.run(["emergency", "status", "--id", id, "--status", "teleported"])
        XCTAssertEqual(bad.status, 1)
        XCTAssertTrue(bad.stderr.contains("status: must be one of"), bad.stderr)
    }

    func testSettingsAreStoredByInitAndConfig() throws {
        try "s\n".write(toFile: sehat.directory + "/secret.txt", atomically: true, encoding: .utf8)
        XCTAssertEqual(try sehat.run(["init", "--org-id", "1", "--client-id", "c", "--client-secret-file", "secret.txt", "--concurrency", "6"]).status, 0)
        let changed = try sehat.run(["config", "--requests-per-minute", "120", "--bundles", "off", "--json"])
        XCTAssertEqual(changed.status, 0, changed.stderr)
        let settings = try JSON.parse(changed.stdout)
        XCTAssertEqual(settings["concurrency"]?.intValue, 6)
        XCTAssertEqual(settings["requests_per_minute"]?.intValue, 120)
        XCTAssertEqual(settings["bundles"]?.boolValue, false)
        XCTAssertEqual(settings["breaker_failures"]?.intValue, 5, "untouched settings keep the spec's defaults")
        let bad = try sehat.run(["config", "--bundles", "maybe"])
        XCTAssertEqual(bad.status, 2)
        XCTAssertTrue(bad.stderr.contains("--bundles must be on or off"))
    }

    func testDatabaseComesFromFlagThenEnvironment() throws {
        try "s\n".write(toFile: sehat.directory + "/secret.txt", atomically: true, encoding: .utf8)
        let initArgs = ["init", "--org-id", "1", "--client-id", "c", "--client-secret-file", "secret.txt"]
        XCTAssertEqual(try sehat.run(["--db", "flag.db"] + initArgs).status, 0)
        XCTAssertEqual(try sehat.run(initArgs, environment: ["SEHAT_DB": sehat.directory + "/env.db"]).status, 0)
        for file in ["flag.db", "env.db"] { XCTAssertTrue(FileManager.default.fileExists(atPath: sehat.directory + "/" + file), file) }
        XCTAssertFalse(FileManager.default.fileExists(atPath: sehat.directory + "/sehat.db"))
    }

    /// Each refused input names the field and the reason, exits non-zero, and writes nothing.
    func testBadInputIsRefusedClearlyAndWritesNothing() throws {
        try setUpClinic()
        let good = try JSON.parse(try example())
        func with(_ edit: (inout JSON) -> Void) -> String {
            var doc = good
            edit(&doc)
            return doc.prettyText
        }
        let documents: [(String, String, [String])] = [
            ("unknown patient NIK", with { $0["patient_nik"] = "3171999999999999" }, ["patient_nik", "no patient with NIK 317199******9999"]),
            ("malformed NIK", with { $0["patient_nik"] = "31710223099" }, ["patient_nik", "a NIK is 16 digits"]),
            ("finished before arrived", with { $0["finished_at"] = "2025-12-26T08:00:00+07:00"; $0["in_progress_at"] = nil },
             ["finished_at", "is not after arrived_at"]),
            ("future date-time", with { $0["finished_at"] = "2099-01-01T00:00:00Z" }, ["finished_at", "is in the future"]),
            ("bad ICD-10", with { $0["diagnoses"] = [.obj(["icd10": "J6-9", "display": "x"])] }, ["diagnoses[0].icd10", "is not an ICD-10 code"]),
            ("invalid JSON", "{\n  \"patient_nik\": \"3171022309900001\",\n  \"vitals\": [1,,2]\n}", ["invalid JSON at line 3, column 16"]),
            ("unknown field", with { $0["patient_name"] = "Budi" }, ["patient_name", "is not a known field"]),
        ]
        let before = try sehat.tableCounts()
        for (name, document, expected) in documents {
            let result = try sehat.run(["encounter", "record", "--file", "-"], stdin: document)
            XCTAssertEqual(result.status, 1, name)
            XCTAssertEqual(result.stdout, "", name)
            for text in expected { XCTAssertTrue(result.stderr.contains(text), "\(name): \(result.stderr)") }
            XCTAssertEqual(try sehat.tableCounts(), before, name)
        }
        let commands: [(String, [String], Int32, String)] = [
            ("malformed NIK", ["patient", "add", "--nik", "12345", "--name", "A", "--gender", "male", "--birth-date", "1990-01-01"], 1, "nik: a NIK is 16 digits"),
            ("bad gender", ["patient", "add", "--nik", "3171000000000009", "--name", "A", "--gender", "x", "--birth-date", "1990-01-01"], 2, "--gender must be one of male|female"),
            ("missing option", ["location", "add", "--code", "X"], 2, "--name is required"),
            ("unknown option", ["outbox", "--colour"], 2, "unknown option --colour"),
            ("missing file", ["encounter", "record", "--file", "nope.json"], 1, "file: nope.json does not exist"),
            ("bad latitude", ["panic", "--lat", "-95", "--lon", "106", "--severity", "low", "--type", "fall"], 1, "latitude: must be between -90 and 90"),
            ("not a number", ["panic", "--lat", "south", "--lon", "106", "--severity", "low", "--type", "fall"], 2, "--lat must be a decimal number (like 30 or -6.2), got \"south\""),
            ("unknown command", ["synch"], 2, "unknown command `synch`"),
            ("plain http", ["init", "--org-id", "1", "--client-id", "c", "--client-secret-file", "secret.txt", "--base-url", "http://example.org/fhir"], 1,
             "base-url: must use https"),
        ]
        for (name, arguments, status, message) in commands {
            let result = try sehat.run(arguments)
            XCTAssertEqual(result.status, status, "\(name): \(result.stderr)")
            XCTAssertTrue(result.stderr.contains("sehat: error: " + message), "\(name): \(result.stderr)")
            XCTAssertEqual(try sehat.tableCounts(), before, name)
        }
    }

    func testDemoRecordsOfflineThenSyncsToTheSandbox() throws {
        let result = try sehat.run(["demo", "--json"], timeout: 120)
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertTrue(result.stderr.contains("recorded encounter ENC-0003"))
        let json = try JSON.parse(result.stdout)
        XCTAssertEqual(json.value(at: "sync.exit_status"), 0)
        XCTAssertEqual(json["first_request"], "POST /api/emergency/notify", "the panic report leaves first")
        XCTAssertEqual(json.value(at: "server_counts.Encounter"), 3)
        XCTAssertEqual(json["encounters"]?.arrayValue?.compactMap { $0["server_id"]?.stringValue }.filter { $0 != "-" }.count, 3)
        XCTAssertEqual(json["emergency_events"]?.arrayValue?.count, 1)
        if let path = json["database"]?.stringValue { try? FileManager.default.removeItem(atPath: (path as NSString).deletingLastPathComponent) }
    }

    func testBenchmarksRunAndReportBesideTheirBaselines() throws {
        let write = try sehat.run(["bench", "write", "--encounters", "20", "--dir", sehat.directory + "/bench", "--json"], timeout: 120)
        XCTAssertEqual(write.status, 0, write.stderr)
        let figures = try JSON.parse(write.stdout)
        XCTAssertEqual(figures["resources_per_encounter"], 10)
        XCTAssertEqual(figures.value(at: "sdk.count"), 20)
        XCTAssertEqual(figures.value(at: "baseline.count"), 20)
        XCTAssertGreaterThan(figures["ratio"]?.doubleValue ?? 0, 0)
        // 20 visits make one batch of 20 on each side.
        XCTAssertEqual(figures.value(at: "batch.sdk.count"), 1)
        XCTAssertEqual(figures.value(at: "batch.baseline.count"), 1)
        XCTAssertGreaterThan(figures.value(at: "batch.ratio")?.doubleValue ?? 0, 0)
        let ready = try sehat.run(["bench", "ready", "--items", "20000", "--dir", sehat.directory + "/bench", "--json"], timeout: 120)
        XCTAssertEqual(ready.status, 0, ready.stderr)
        XCTAssertTrue(try JSON.parse(ready.stdout)["plan"]?.stringValue?.contains("USING INDEX outbox_ready") == true)
        let scale = try sehat.run(["bench", "scale", "--items", "20000", "--repetitions", "3", "--dir", sehat.directory + "/bench", "--json"], timeout: 120)
        XCTAssertEqual(scale.status, 0, scale.stderr)
        let scaled = try JSON.parse(scale.stdout)
        XCTAssertEqual(scaled["items"], 20000)
        for key in ["open", "status", "outbox_first_page", "metrics", "ready_batch", "baseline_counted"] {
            XCTAssertEqual(scaled.value(at: "\(key).count")?.intValue ?? 0 > 0, true, key)
        }
        XCTAssertGreaterThan(scaled["bytes_per_item"]?.doubleValue ?? 0, 0)
        let fixture = SehatProcess.repositoryRoot.deletingLastPathComponent().appendingPathComponent("shared/fixtures/synthea-sample-patient.json").path
        let sync = try sehat.run(["bench", "sync", "--encounters", "5", "--shape-from", fixture, "--bundles", "2", "--dir", sehat.directory + "/bench", "--json"],
                                 timeout: 180)
        XCTAssertEqual(sync.status, 0, sync.stderr)
        let synced = try JSON.parse(sync.stdout)
        XCTAssertEqual(synced.value(at: "visits.sdk.resources")?.intValue, 5 * 10 + 55)
        XCTAssertLessThan(synced.value(at: "visits.sdk.requests")?.intValue ?? .max, 55 + 5,
                          "fewer than one bundle per encounter after the prerequisites: ready groups are packed together")
        XCTAssertEqual(synced.value(at: "visits.naive.requests")?.intValue, 55 + 5 * 11, "one request per resource, and the closing update")
        XCTAssertEqual(synced.value(at: "visits.defaults.resources")?.intValue, 5 * 10 + 55, "the default settings drain the same work")
        XCTAssertLessThanOrEqual(synced.value(at: "visits.defaults.requests")?.intValue ?? .max, 10, "within the first burst: lookups in a batch, the rest packed")
        // The real-world shape: the fixture's 314 entries and its 6 lookups; two bundles of its shape, twice the resources.
        XCTAssertEqual(synced.value(at: "real_world.sdk.resources")?.intValue, 314 + 6)
        XCTAssertEqual(synced.value(at: "generated.sdk.resources")?.intValue, 2 * 314 + 6, "copies look up the same people once")
        XCTAssertEqual(synced.value(at: "generated.naive.requests")?.intValue, 2 * 314 + 6)
        XCTAssertLessThan(synced.value(at: "generated.defaults.requests")?.intValue ?? .max, 10)
        // The drain: filled here, drained to the end in a fresh process, a time for each tenth.
        let drain = try sehat.run(["bench", "drain", "--items", "3000", "--dir", sehat.directory + "/bench", "--json"], timeout: 180)
        XCTAssertEqual(drain.status, 0, drain.stderr)
        let drained = try JSON.parse(drain.stdout)
        XCTAssertGreaterThanOrEqual(drained["items"]?.intValue ?? 0, 3000)
        XCTAssertEqual(drained["tenths_s"]?.arrayValue?.count, 10)
        XCTAssertGreaterThan(drained["peak_mb"]?.doubleValue ?? 0, 0)
        XCTAssertGreaterThan(drained["bytes_per_item"]?.doubleValue ?? 0, 0)
        // The import: 700 entries of the Synthea shape (two copies and a part), read entry by entry.
        let importing = try sehat.run(["bench", "import", "--entries", "700", "--shape-from", fixture, "--dir", sehat.directory + "/bench", "--json"], timeout: 180)
        XCTAssertEqual(importing.status, 0, importing.stderr)
        let imported = try JSON.parse(importing.stdout)
        XCTAssertEqual(imported["entries"], 700)
        XCTAssertEqual(imported["outbox_items"]?.intValue, 700 + 6, "every entry queued, and the six people looked up once")
        XCTAssertGreaterThan(imported["import_peak_mb"]?.doubleValue ?? 0, 0)
        XCTAssertGreaterThan(imported["baseline_peak_mb"]?.doubleValue ?? 0, 0)
        let emergency = try sehat.run(["bench", "emergency", "--clinic-items", "2000", "--latency-ms", "0", "--dir", sehat.directory + "/bench", "--json"], timeout: 120)
        XCTAssertEqual(emergency.status, 0, emergency.stderr)
        let figures2 = try JSON.parse(emergency.stdout)
        XCTAssertEqual(figures2["first_request"]?.stringValue, "/api/emergency/notify", "the panic report is the first request after link-up")
        XCTAssertGreaterThan(figures2["link_up_to_2xx_ms"]?.doubleValue ?? 0, 0)
        // With the victim's and volunteer's NIKs the emergency's SATUSEHAT side is queued too;
        // the webhook still goes first.
        let withNIKs = try sehat.run(["bench", "emergency", "--clinic-items", "200", "--latency-ms", "0", "--with-niks",
                                      "--dir", sehat.directory + "/bench", "--json"], timeout: 120)
        XCTAssertEqual(withNIKs.status, 0, withNIKs.stderr)
        XCTAssertEqual(try JSON.parse(withNIKs.stdout)["first_request"]?.stringValue, "/api/emergency/notify")
    }
}
