import Foundation
import SehatSupport
import SehatBench
import SehatSandbox
import SehatSync

/// `sehat demo`: a clinic morning recorded offline, then synced to an in-process sandbox.
enum DemoCommand {
    static let demo = Command(
        words: ["demo"],
        summary: "A clinic morning offline, then the link comes up: sync to an in-process SATUSEHAT sandbox and show what arrived.",
        options: [OptionSpec(name: "json", value: nil, help: "Print what reached the sandbox as JSON at the end")],
        details: "The demo uses a new database in a temporary folder (its path is printed; --db is ignored) and a sandbox on\n127.0.0.1 that lives as long as the demo. Nothing leaves this machine."
    ) { try run($0) }

    static func run(_ invocation: Invocation) throws -> Int32 {
        let json = invocation.has("json")
        func say(_ text: String) { if json { Output.note(text) } else { Output.line(text) } }
        let directory = NSTemporaryDirectory() + "sehat-demo-" + UUID().uuidString.prefix(8).lowercased()
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let path = directory + "/sehat.db"

        var sandboxSettings = Sandbox.Configuration()
        sandboxSettings.resources = SampleClinic.patients.map { Sandbox.person("Patient", nik: $0.nik, name: $0.name) }
            + SampleClinic.practitioners.map { Sandbox.person("Practitioner", nik: $0.0, name: $0.1) }
        let sandbox = try Sandbox(configuration: sandboxSettings)
        defer { sandbox.stop() }

        let client = try SehatClient(path: path)
        try SampleClinic.configure(client, directory: directory, baseURL: sandbox.fhirBaseURL, authURL: sandbox.authURL,
                                   emergencyURL: sandbox.emergencyURL)
        say("== SehatSync demo — a clinic morning, recorded offline, then synced ==")
        say("database: \(path)")
        say("sandbox:  \(sandbox.fhirBaseURL) (SATUSEHAT rules, organization \(SampleClinic.orgID))")
        say("")
        say("-- 1. Offline: the clinic records its morning --")
        let patients = try SampleClinic.register(client)
        say("registered \(SampleClinic.locations.count) polyclinics, \(SampleClinic.practitioners.count) practitioners, \(patients.count) patients")
        let now = client.clock.now()
        var visits: [RecordedEncounter] = []
        for document in [
            SampleClinic.labVisit(number: "ENC-0001", patient: patients[0], finishedBefore: now),
            SampleClinic.visit(number: "ENC-0002", patient: patients[1], finishedBefore: now, offsetMinutes: 45),
            SampleClinic.visit(number: "ENC-0003", patient: patients[2], finishedBefore: now),
        ] {
            let recorded = try client.recordEncounter(document)
            visits.append(recorded)
            say("recorded encounter \(recorded.number): \(recorded.resourceIDs.count) resources, \(recorded.outboxItemIDs.count) outbox items")
        }
        let panic = try client.recordPanic(PanicReport(
            latitude: -6.2088, longitude: 106.8456, address: "Jl. Medan Merdeka Barat No. 1", severity: .critical,
            type: "cardiac_arrest", victimAge: 45, victimGender: .male, reporter: "relawan-017"))
        say("a volunteer pressed the panic button: report \(panic.emergencyID)")
        say("")
        say("The outbox — emergency first, then clinic work in dependency order; nothing has left the device:")
        if !json { _ = try OutboxCommand.list.run(Invocation(databasePath: path, values: ["limit": "12"], flags: [])) }
        say("")
        say("-- 2. The link comes up: sync --")
        let engine = try hostEngine(client)
        let report = try waitFor { try await engine.sync(untilIdle: true, timeout: 60) }
        if !json { SyncCommand.summarize(report, json: false) }
        say("")
        say("-- 3. What reached the sandbox --")
        let received = sandbox.requestLog().filter { $0.path != "/oauth2/v1/accesstoken" }
        if let first = received.first { say("first request after the link came up: \(first.method) \(first.path) → \(first.status ?? 0)") }
        let counts = sandbox.counts().filter { $0.key != "Organization" }.sorted { $0.key < $1.key }
        say("resources on the server: " + counts.map { "\($0.value) \($0.key)" }.joined(separator: ", "))
        var rows: [[String]] = []
        for visit in visits {
            rows.append([visit.number, visit.encounterID, try client.serverID(forLocalID: visit.encounterID) ?? "-"])
        }
        if !json {
            Output.table(["ENCOUNTER", "LOCAL ID", "SATUSEHAT ID"], rows)
            let people = try patients.map { patient -> [String] in
                [patient.name, LogMasking.mask(patient.nik), try client.patientIHSID(nik: patient.nik) ?? "-"]
            }
            Output.line("")
            Output.table(["PATIENT", "NIK", "IHS ID (looked up by NIK)"], people)
            Output.line("")
            Output.line("emergency service received \(sandbox.emergencyNotifications().count) notification(s): event \(panic.eventID)")
            Output.line("Inspect it yourself: sehat --db \(path) outbox")
        } else {
            Output.json(.obj([
                "database": .string(path),
                "sync": .obj(["requests": .int(report.requests), "completed": .int(report.completed), "exit_status": .int(Int(report.exitStatus))]),
                "first_request": received.first.map { .string("\($0.method) \($0.path)") } ?? .null,
                "server_counts": .object(counts.map { JSON.Member($0.key, .int($0.value)) }),
                "encounters": .array(rows.map { .obj(["number": .string($0[0]), "local_id": .string($0[1]), "server_id": .string($0[2])]) }),
                "emergency_events": .array(sandbox.emergencyNotifications().compactMap { $0["event_id"] }),
            ]))
        }
        return report.exitStatus
    }
}
