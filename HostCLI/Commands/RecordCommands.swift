import Foundation
import SehatSync

/// `sehat encounter record` and `sehat panic`.
enum RecordCommands {
    static let encounterRecord = Command(
        words: ["encounter", "record"],
        summary: "Record one encounter document offline; prints the local encounter id.",
        options: [
            OptionSpec(name: "file", value: "FILE", help: "The encounter document (JSON; - reads standard input)", required: true),
            OptionSpec(name: "json", value: nil, help: "Print ids of everything stored and queued as JSON"),
        ],
        details: "The document's form is Schemas/encounter.schema.json (example: Schemas/examples/encounter.json).\nA refused document names the field and the reason, and writes nothing."
    ) { invocation in
        let path = invocation.required("file")
        let text: String
        if path == "-" {
            text = String(decoding: FileHandle.standardInput.readDataToEndOfFile(), as: UTF8.self)
        } else {
            guard let data = FileManager.default.contents(atPath: path) else { throw FieldError("file", "cannot read \(path)") }
            text = String(decoding: data, as: UTF8.self)
        }
        let recorded = try openClient(invocation).recordEncounter(try EncounterDocument(json: text))
        if invocation.has("json") {
            Output.json(.obj([
                "encounter_id": .string(recorded.encounterID), "number": .string(recorded.number),
                "resources": .array(recorded.resourceIDs.map(JSON.string)),
                "outbox_items": .array(recorded.outboxItemIDs.map { JSON.int(Int($0)) }),
            ]))
        } else {
            Output.line(recorded.encounterID)
        }
        return 0
    }

    static let panic = Command(
        words: ["panic"],
        summary: "Record a panic report and queue it for the emergency service ahead of all clinic work; prints the emergency id.",
        options: [
            OptionSpec(name: "lat", value: "LAT", help: "Latitude (-90..90)", required: true),
            OptionSpec(name: "lon", value: "LON", help: "Longitude (-180..180)", required: true),
            OptionSpec(name: "severity", value: "critical|high|medium|low", help: "How bad it is", required: true),
            OptionSpec(name: "type", value: "TYPE", help: "What happened, snake_case (e.g. cardiac_arrest)", required: true),
            OptionSpec(name: "address", value: "TEXT", help: "Where, in words"),
            OptionSpec(name: "victim-age", value: "N", help: "Victim's age in years"),
            OptionSpec(name: "victim-gender", value: "male|female", help: "Victim's gender"),
            OptionSpec(name: "reporter", value: "TEXT", help: "Who reports it (volunteer id or name)"),
            OptionSpec(name: "json", value: nil, help: "Print the result as JSON"),
        ]
    ) { invocation in
        guard let lat = try invocation.double("lat"), let lon = try invocation.double("lon"),
            let severity = try invocation.choice("severity", Severity.self)
        else { return 2 }
        let report = PanicReport(
            latitude: lat, longitude: lon, address: invocation.value("address"), severity: severity, type: invocation.required("type"),
            victimAge: try invocation.int("victim-age"), victimGender: try invocation.choice("victim-gender", Gender.self),
            reporter: invocation.value("reporter"))
        let recorded = try openClient(invocation).recordPanic(report)
        if invocation.has("json") {
            Output.json(.obj([
                "emergency_id": .string(recorded.emergencyID), "event_id": .string(recorded.eventID),
                "outbox_items": .array(recorded.outboxItemIDs.map { JSON.int(Int($0)) }),
            ]))
        } else {
            Output.line(recorded.emergencyID)
        }
        return 0
    }
}
