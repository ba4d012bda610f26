import Foundation
import SehatSync

/// `sehat encounter record` and `sehat panic`.
enum RecordCommands {
    static let encounterRecord = Command(
        words: ["encounter", "record"],
        summary: "Record one encounter document offline; prints the local encounter id.",
        options: [
            OptionSpec(name: "file", value: "FILE", help: "The encounter document (JSON; - reads standard input)", required: true),
            .json("ids of everything stored and queued"),
        ],
        details: "The document's form is Schemas/encounter.schema.json (example: Schemas/examples/encounter.json).\nA refused document names the field and the reason, and writes nothing."
    ) { invocation in
        let text = try readDocument(invocation.required("file"))
        let recorded = try openClient(invocation).recordEncounter(try EncounterDocument(json: text))
        if invocation.has("json") {
            Output.json(.obj([
                "encounter_id": .string(recorded.encounterID), "number": .string(recorded.number),
                "resources": .array(recorded.resourceIDs.map(JSON.string)),
                "outbox_items": .array(recorded.outboxItemIDs.map { JSON.int(Int($0)) }),
                "str_warning": recorded.strWarning.map(JSON.string) ?? .null,
            ]))
        } else {
            Output.line(recorded.encounterID)
        }
        if let warning = recorded.strWarning { Output.note("warning: \(warning) (recorded; `sehat config --str-check refuse` refuses such visits)") }
        return 0
    }

    static let panic = Command(
        words: ["panic"],
        summary: "Record a panic report and queue it for the emergency service ahead of all clinic work; prints the emergency id.",
        options: [
            OptionSpec(name: "lat", value: "LAT", help: "Latitude (-90..90)"),
            OptionSpec(name: "lon", value: "LON", help: "Longitude (-180..180)"),
            OptionSpec(name: "severity", value: "critical|high|medium|low", help: "How bad it is"),
            OptionSpec(name: "type", value: "TYPE", help: "What happened, snake_case (e.g. cardiac_arrest)"),
            OptionSpec(name: "address", value: "TEXT", help: "Where, in words"),
            OptionSpec(name: "victim-age", value: "N", help: "Victim's age in years"),
            OptionSpec(name: "victim-gender", value: "male|female", help: "Victim's gender"),
            OptionSpec(name: "reporter", value: "TEXT", help: "Who reports it (volunteer id or name)"),
            OptionSpec(name: "victim-nik", value: "NIK", help: "The victim's NIK: the emergency then also goes to SATUSEHAT"),
            OptionSpec(name: "volunteer-nik", value: "NIK", help: "The responding volunteer's NIK (records the Observation)"),
            OptionSpec(name: "volunteer-name", value: "NAME", help: "The responding volunteer's name"),
            OptionSpec(name: "referral", value: nil, help: "Ask for a referral to a hospital (a stat ServiceRequest)"),
            OptionSpec(name: "file", value: "FILE", help: "Read the report from a JSON document instead of flags (- for stdin)"),
            .json(),
        ],
        details: """
            Give either --lat, --lon, --severity and --type (and any of the optional flags), or --file with a
            document in the form of Schemas/panic.schema.json (example: Schemas/examples/panic.json).
            The notification goes to the emergency service ahead of all clinic work. With the victim's and the
            volunteer's NIKs it also goes to SATUSEHAT (site, EMER encounter, Observation, referral); without
            them it stays on the device and `sehat emergency list` says why.
            """
    ) { invocation in
        let report: PanicReport
        if let path = invocation.value("file") {
            let given = ["lat", "lon", "severity", "type", "address", "victim-age", "victim-gender", "reporter", "victim-nik", "volunteer-nik",
                         "volunteer-name"].filter { invocation.value($0) != nil }
            guard given.isEmpty else { throw UsageError(message: "--file cannot be combined with --\(given[0])", command: nil) }
            report = try PanicReport(json: try readDocument(path))
        } else {
            for name in ["lat", "lon", "severity", "type"] where invocation.value(name) == nil {
                throw UsageError(message: "--\(name) is required (or give the report with --file)", command: nil)
            }
            report = PanicReport(
                latitude: try invocation.double("lat") ?? 0, longitude: try invocation.double("lon") ?? 0,
                address: invocation.value("address"), severity: try invocation.choice("severity", Severity.self) ?? .critical,
                type: invocation.required("type"), victimAge: try invocation.int("victim-age"),
                victimGender: try invocation.choice("victim-gender", Gender.self), reporter: invocation.value("reporter"),
                victimNIK: invocation.value("victim-nik"), volunteerNIK: invocation.value("volunteer-nik"),
                volunteerName: invocation.value("volunteer-name"), referral: invocation.has("referral"))
        }
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

/// `sehat encounter amend`.
enum AmendCommand {
    static let amend = Command(
        words: ["encounter", "amend"],
        summary: "Correct a recorded visit: the whole document again with the same number; changes travel to the server.",
        options: [
            OptionSpec(name: "file", value: "FILE", help: "The corrected encounter document (JSON; - reads standard input)", required: true),
            OptionSpec(name: "reason", value: "TEXT", help: "What was wrong (kept with the old version of every changed resource)", required: true),
            .author,
            .json(),
        ],
        details: "A resource the server does not have yet is sent in its new version (a refused one is retried, and what waited\n"
            + "on it follows); one the server has is updated in place, carrying the version it was based on. Parts (vitals,\n"
            + "diagnoses, procedures, prescriptions, lab tests) are matched by code, then in order; a dispense or lab result goes\n"
            + "with its prescription or order. One left out is withdrawn (entered-in-error where the server has it, never sent\n"
            + "where it has not); one added is created. The patient, practitioner and location cannot change: cancel the visit\n"
            + "(`sehat encounter cancel`) and record it again. `sehat encounter history` shows every change kept."
    ) { invocation in
        let document = try EncounterDocument(json: try readDocument(invocation.required("file")))
        let amended = try openClient(invocation).amendEncounter(document, reason: invocation.required("reason"), by: invocation.author)
        if invocation.has("json") {
            Output.json(.obj([
                "encounter_id": .string(amended.encounterID), "changed_resources": .array(amended.changedResources.map(JSON.string)),
                "resent_items": .array(amended.resentItems.map { JSON.int(Int($0)) }),
                "outbox_items": .array(amended.outboxItemIDs.map { JSON.int(Int($0)) }),
            ]))
        } else if amended.changedResources.isEmpty {
            Output.line("nothing changed: the document is what was recorded")
        } else {
            Output.line("amended \(document.number ?? ""): \(amended.changedResources.count) resources changed; \(amended.resentItems.count) refused items sent again, "
                + "\(amended.outboxItemIDs.count) updates queued for the server")
        }
        return 0
    }
}

/// `sehat encounter cancel`.
enum CancelCommand {
    static let cancel = Command(
        words: ["encounter", "cancel"],
        summary: "Cancel a recorded visit: what never left never will; what the server has becomes entered-in-error there.",
        options: [
            OptionSpec(name: "number", value: "N", help: "The encounter's number", required: true),
            OptionSpec(name: "reason", value: "TEXT", help: "Why (kept with the history of every changed resource)", required: true),
            .author,
            .json(),
        ],
        details: "Nothing is deleted: the previous version of each withdrawn resource is kept with the reason, and items that\nnever reached the server show as `withdrawn` in `sehat outbox`. Run `sehat sync` to send the withdrawals."
    ) { invocation in
        let cancelled = try openClient(invocation).cancelEncounter(number: invocation.required("number"), reason: invocation.required("reason"), by: invocation.author)
        if invocation.has("json") {
            Output.json(.obj([
                "encounter_id": .string(cancelled.encounterID), "withdrawn_on_server": .array(cancelled.withdrawnOnServer.map(JSON.string)),
                "dropped_items": .array(cancelled.droppedItems.map { JSON.int(Int($0)) }),
                "outbox_items": .array(cancelled.outboxItemIDs.map { JSON.int(Int($0)) }),
            ]))
        } else {
            Output.line("cancelled \(invocation.required("number")): \(cancelled.withdrawnOnServer.count) resources to mark entered-in-error on the server, "
                + "\(cancelled.droppedItems.count) queued items withdrawn before they left")
        }
        return 0
    }
}

/// `sehat encounter history`.
enum HistoryCommand {
    static let history = Command(
        words: ["encounter", "history"],
        summary: "Show every change to a recorded visit: the previous versions kept, why, and what the server held then.",
        options: [OptionSpec(name: "number", value: "N", help: "The encounter's number", required: true), .json("the kept versions")],
        details: "Each line says whether the change reached a resource the server had, and the server version it was based on:\n"
            + "an update carries that version (If-Match), so someone else's change in between is a conflict, never lost silently.\n"
            + "Where the server named no version, the update goes without one and the last change wins; the line says so."
    ) { invocation in
        let entries = try openClient(invocation).encounterHistory(number: invocation.required("number"))
        if invocation.has("json") {
            Output.json(.array(entries.map { entry in
                .obj(["resource_id": .string(entry.resourceID), "resource_type": .string(entry.resourceType), "change": .string(entry.change.rawValue),
                      "reason": .string(entry.reason), "recorded_at": .string(entry.recordedAt), "changed_by": entry.changedBy.map(JSON.string) ?? .null,
                      "on_server": entry.onServer.map(JSON.bool) ?? .null, "base_version": entry.baseVersion.map(JSON.string) ?? .null,
                      "previous": entry.previous])
            }))
            return 0
        }
        if entries.isEmpty {
            Output.line("no changes: encounter \(invocation.required("number")) is as it was recorded")
            return 0
        }
        Output.table(["WHEN", "WHO", "CHANGE", "RESOURCE", "SERVER", "REASON"], entries.map { entry in
            [entry.recordedAt, entry.changedBy ?? "-", entry.change.rawValue, "\(entry.resourceType)/\(entry.resourceID)", serverWords(entry), entry.reason]
        })
        return 0
    }

    private static func serverWords(_ entry: ResourceHistoryEntry) -> String {
        switch (entry.onServer, entry.baseVersion) {
        case (nil, _): return "not recorded"
        case (false?, _): return "not on the server yet: its create sends the new version"
        case (true?, let version?): return "update based on version \(version)"
        case (true?, nil): return "the server named no version: the last change wins"
        }
    }
}

/// A document's text from a file, or from standard input for `-`. A document larger than
/// `maxBytes` is refused before it is read (memory stays bounded by the limit, not by the
/// file), and bytes that are not UTF-8 are refused with their line and column rather than
/// silently replaced.
func readDocument(_ path: String, maxBytes: Int = InputLimits.documentBytes) throws -> String {
    let field = path == "-" ? "(standard input)" : "file"
    let handle: FileHandle
    if path == "-" {
        handle = FileHandle.standardInput
    } else {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else { throw FieldError(field, "\(path) does not exist") }
        guard !isDirectory.boolValue else { throw FieldError(field, "\(path) is a directory, not a document") }
        guard let opened = FileHandle(forReadingAtPath: path) else { throw FieldError(field, "cannot read \(path)") }
        handle = opened
    }
    defer { if path != "-" { try? handle.close() } }
    var data = Data()
    while true {
        guard let chunk = try handle.read(upToCount: 1 << 20), !chunk.isEmpty else { break }
        data.append(chunk)
        guard data.count <= maxBytes else {
            throw FieldError(field, "\(path == "-" ? "the document" : path) is larger than \(maxBytes) bytes, the limit for this document")
        }
    }
    if let text = String(validating: data, as: UTF8.self) { return text }
    do {
        _ = try JSON.parse(bytes: Array(data))
    } catch let error as JSONSyntaxError {
        throw FieldError("(document)", error.description)
    }
    throw FieldError("(document)", "is not UTF-8 text")
}

/// `sehat import`: the generic FHIR path.
enum ImportCommand {
    static let importBundle = Command(
        words: ["import"],
        summary: "Import a FHIR R4 transaction or collection Bundle; its resources are queued in dependency order.",
        options: [
            OptionSpec(name: "file", value: "FILE", help: "The Bundle (JSON; - reads standard input)", required: true),
            .json("what was queued"),
        ],
        details: """
            urn:uuid: and Type/id references between entries are kept as links; conditional references
            (Type?identifier=system|value) are looked up on the server before anything that needs them.
            Each resource gets a business identifier of the SDK's own beside its own identifiers.
            A file is read entry by entry: memory holds one entry at a time and a few dozen bytes per entry,
            whatever the file's size (up to 1 GiB and 100,000 entries); standard input is read whole (up to
            64 MiB). All or nothing.
            """
    ) { invocation in
        let file = try invocation.required("file")
        // A file is read entry by entry (one entry in memory at a time, whatever the file's size);
        // standard input, which cannot be read twice, is read whole.
        let client = try openClient(invocation)
        let imported = file == "-" ? try client.importBundle(json: try readDocument(file, maxBytes: InputLimits.bundleBytes))
            : try client.importBundle(file: file)
        if invocation.has("json") {
            Output.json(.obj([
                "group_id": .string(imported.groupID), "resources": .int(imported.resourceIDs.count), "lookups": .int(imported.lookups),
                "outbox_items": .int(imported.outboxItemIDs.count),
            ]))
        } else {
            Output.line("imported \(imported.resourceIDs.count) resources as group \(imported.groupID); \(imported.lookups) references to look up on the server")
        }
        return 0
    }
}

/// `sehat emergency …`: panic reports after the button was pressed.
enum EmergencyCommands {
    static let list = Command(
        words: ["emergency", "list"], summary: "Panic reports on this device with their status, ETA and delivery.",
        options: [.json("them")]
    ) { invocation in
        let reports = try openClient(invocation).emergencies()
        if invocation.has("json") {
            Output.json(.array(reports.map { r in
                .obj(["emergency_id": .string(r.emergencyID), "event_id": .string(r.eventID), "reported_at": .string(r.reportedAt),
                      "severity": .string(r.severity.rawValue), "type": .string(r.type), "status": .string(r.status.rawValue),
                      "eta_minutes": r.etaMinutes.map(JSON.int) ?? .null, "ambulance_id": r.ambulanceID.map(JSON.string) ?? .null,
                      "delivery": r.delivery.map { .string($0.rawValue) } ?? .null, "satusehat_note": r.satusehatNote.map(JSON.string) ?? .null])
            }))
            return 0
        }
        if reports.isEmpty { Output.line("no panic reports") }
        Output.table(["EMERGENCY", "REPORTED", "SEVERITY", "TYPE", "STATUS", "ETA", "DELIVERY", "NOTE"], reports.map { r in
            [r.emergencyID, r.reportedAt, r.severity.rawValue, r.type, r.status.rawValue, r.etaMinutes.map { "\($0) min" } ?? "-",
             r.delivery?.rawValue ?? "-", r.satusehatNote ?? ""]
        })
        return 0
    }

    static let status = Command(
        words: ["emergency", "status"], summary: "Report a status change to the emergency service (PUT /api/emergency/{id}/status).",
        options: [
            OptionSpec(name: "id", value: "ID", help: "The emergency id", required: true),
            OptionSpec(name: "status", value: "STATUS", help: "dispatching|dispatched|en_route|on_scene|transporting|closed|cancelled", required: true),
            OptionSpec(name: "note", value: "TEXT", help: "A note for the emergency service"),
        ]
    ) { invocation in
        let text = invocation.required("status")
        guard let status = EmergencyStatus(rawValue: text), EmergencyStatus.reportable.contains(status) else {
            throw FieldError("status", "must be one of \(EmergencyStatus.reportable.map(\.rawValue).joined(separator: ", ")), got \"\(text)\"")
        }
        let item = try openClient(invocation).reportEmergencyStatus(invocation.required("id"), status: status, note: invocation.value("note"))
        Output.line("queued as outbox item \(item) in the emergency lane")
        return 0
    }

    static let update = Command(
        words: ["emergency", "update"],
        summary: "Apply a callback from the emergency service (ambulance-dispatch, emergency-update) to a report.",
        options: [
            OptionSpec(name: "id", value: "ID", help: "The emergency id", required: true),
            OptionSpec(name: "file", value: "FILE", help: "The callback's JSON body (- reads standard input)", required: true),
        ],
        details: "The body: {\"event_type\": \"ambulance-dispatch\", \"data\": {\"status\": \"dispatched\", \"eta_minutes\": 12, \"ambulance_id\": \"AMB-001\"}}"
    ) { invocation in
        let client = try openClient(invocation)
        let id = invocation.required("id")
        try client.applyEmergencyCallback(id, json: try readDocument(invocation.required("file")))
        if let report = try client.emergencies().first(where: { $0.emergencyID == id }) {
            Output.line("emergency \(id): \(report.status.rawValue)\(report.etaMinutes.map { ", ETA \($0) min" } ?? "")\(report.ambulanceID.map { ", ambulance \($0)" } ?? "")")
        }
        return 0
    }
}
