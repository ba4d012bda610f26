import Foundation
import SehatSync

/// `sehat demo`: a morning at a clinic, recorded offline.
enum DemoCommand {
    static let demo = Command(
        words: ["demo"],
        summary: "Record a morning at a clinic and a panic report offline, in a fresh database, and show the outbox.",
        options: [OptionSpec(name: "json", value: nil, help: "Print the outbox as JSON at the end")],
        details: "The demo uses a new database in a temporary folder (its path is printed; --db is ignored)\nso it never touches your own. Nothing is sent anywhere."
    ) { invocation in
        let directory = NSTemporaryDirectory() + "sehat-demo-" + UUID().uuidString.prefix(8).lowercased()
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let path = directory + "/sehat.db"
        let client = try SehatClient(path: path)
        try SampleClinic.configure(client, directory: directory)
        Output.line("== SehatSync demo — a clinic morning, recorded offline ==")
        Output.line("database: \(path)  (organization \(SampleClinic.orgID), profile satusehat)")
        let patients = try SampleClinic.register(client)
        Output.line("registered \(SampleClinic.locations.count) polyclinics, \(SampleClinic.practitioners.count) practitioners, \(patients.count) patients")
        let now = client.clock.now()
        let visits = [
            SampleClinic.labVisit(number: "ENC-0001", patient: patients[0], finishedBefore: now),
            SampleClinic.visit(number: "ENC-0002", patient: patients[1], finishedBefore: now, offsetMinutes: 45),
            SampleClinic.visit(number: "ENC-0003", patient: patients[2], finishedBefore: now),
        ]
        for visit in visits {
            let recorded = try client.recordEncounter(visit)
            Output.line("recorded encounter \(recorded.number): \(recorded.resourceIDs.count) resources, \(recorded.outboxItemIDs.count) outbox items")
        }
        let panic = try client.recordPanic(PanicReport(
            latitude: -6.2088, longitude: 106.8456, address: "Jl. Medan Merdeka Barat No. 1", severity: .critical,
            type: "cardiac_arrest", victimAge: 45, victimGender: .male, reporter: "relawan-017"))
        Output.line("recorded panic report \(panic.emergencyID) (event \(panic.eventID))")
        Output.line("")
        Output.line("The outbox — emergency first, then clinic work in dependency order; nothing has left the device:")
        let status = try OutboxCommand.list.run(Invocation(databasePath: path, values: [:], flags: invocation.flags))
        Output.line("")
        Output.line("Inspect it yourself: sehat --db \(path) outbox --lane clinic")
        return status
    }
}
