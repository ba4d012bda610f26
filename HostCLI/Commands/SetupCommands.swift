import Foundation
import SehatSync

/// `sehat init`, `location add`, `practitioner add`, `patient add`.
enum SetupCommands {
    static let initialize = Command(
        words: ["init"],
        summary: "Set up this device: its SATUSEHAT organization, credentials and endpoints.",
        options: [
            OptionSpec(name: "org-id", value: "ID", help: "SATUSEHAT Organization id bound to the credentials", required: true),
            OptionSpec(name: "client-id", value: "ID", help: "OAuth2 client id", required: true),
            OptionSpec(name: "client-secret-file", value: "FILE", help: "File holding the client secret (read when needed, never stored)", required: true),
            OptionSpec(name: "profile", value: "satusehat|fhir", help: "Target SATUSEHAT (default) or a plain FHIR R4 server"),
            OptionSpec(name: "base-url", value: "URL", help: "FHIR base (default: the SATUSEHAT sandbox …/fhir-r4/v1)"),
            OptionSpec(name: "auth-url", value: "URL", help: "Token endpoint (default: the SATUSEHAT sandbox …/oauth2/v1/accesstoken)"),
            OptionSpec(name: "emergency-url", value: "URL", help: "The emergency service's (PSC 119) API root"),
            .json(),
        ] + SettingsOptions.specs,
        details: "HTTPS is required except to loopback. Running init again updates the settings; changing\nthe organization is refused once records exist. The sync settings can also be changed later with `sehat config`."
    ) { invocation in
        let configuration = try Configuration(
            orgID: invocation.required("org-id"), clientID: invocation.required("client-id"),
            clientSecretFile: absolutePath(invocation.required("client-secret-file")),
            profile: try invocation.choice("profile", Profile.self) ?? .satusehat,
            baseURL: invocation.value("base-url") ?? Configuration.sandboxBaseURL,
            authURL: invocation.value("auth-url") ?? Configuration.sandboxAuthURL,
            emergencyURL: invocation.value("emergency-url"))
        // Everything that can be refused is checked before the database is opened, so a
        // refused init leaves no file behind.
        _ = try configuration.readClientSecret()
        var defaults = SyncConfiguration()
        _ = try SettingsOptions.apply(invocation, to: &defaults)
        let existed = FileManager.default.fileExists(atPath: invocation.databasePath)
        do {
            let client = try openClient(invocation)
            try client.configure(configuration)
            var settings = try client.syncSettings()
            if try SettingsOptions.apply(invocation, to: &settings) { try client.setSyncSettings(settings) }
        } catch {
            if !existed { removeDatabase(invocation.databasePath) }
            throw error
        }
        if invocation.has("json") {
            Output.json(.obj([
                "database": .string(invocation.databasePath), "org_id": .string(configuration.orgID),
                "profile": .string(configuration.profile.rawValue), "base_url": .string(configuration.baseURL),
                "auth_url": .string(configuration.authURL), "emergency_url": configuration.emergencyURL.map(JSON.string),
            ]))
        } else {
            Output.line("configured \(invocation.databasePath): organization \(configuration.orgID), profile \(configuration.profile.rawValue)")
            Output.line("FHIR base \(configuration.baseURL); the client secret stays in \(configuration.clientSecretFile)")
        }
        return 0
    }

    static let locationAdd = Command(
        words: ["location", "add"],
        summary: "Register a polyclinic (a SATUSEHAT Location) and queue its creation.",
        options: [
            OptionSpec(name: "code", value: "CODE", help: "The clinic's code for it, e.g. POLI-UMUM (its business identifier)", required: true),
            OptionSpec(name: "name", value: "NAME", help: "Its name, e.g. \"Poli Umum\"", required: true),
            .json(),
        ]
    ) { invocation in
        let id = try openClient(invocation).addLocation(code: invocation.required("code"), name: invocation.required("name"))
        printID(invocation, "location_id", id)
        return 0
    }

    static let practitionerAdd = Command(
        words: ["practitioner", "add"],
        summary: "Register a practitioner by NIK, queue the lookup of their IHS number (unless given) and their roles at polyclinics.",
        options: [
            OptionSpec(name: "nik", value: "NIK", help: "16-digit NIK", required: true),
            OptionSpec(name: "name", value: "NAME", help: "Full name (default: the name in the workforce registry on this device)"),
            OptionSpec(name: "ihs-id", value: "ID", help: "Their SATUSEHAT (IHS) id, when known: then no lookup is queued"),
            OptionSpec(name: "location", value: "CODE", help: "A polyclinic they serve at (repeatable): a PractitionerRole each", repeatable: true),
            .json(),
        ]
    ) { invocation in
        let id = try openClient(invocation).addPractitioner(
            nik: invocation.required("nik"), name: invocation.value("name"), ihsID: invocation.value("ihs-id"),
            locations: invocation.values("location"))
        printID(invocation, "practitioner_id", id)
        return 0
    }

    static let patientAdd = Command(
        words: ["patient", "add"],
        summary: "Register a patient by NIK, with their consent, and queue the lookup of their IHS id (unless given).",
        options: [
            OptionSpec(name: "nik", value: "NIK", help: "16-digit NIK", required: true),
            OptionSpec(name: "name", value: "NAME", help: "Full name", required: true),
            OptionSpec(name: "gender", value: "male|female", help: "Administrative gender", required: true),
            OptionSpec(name: "birth-date", value: "YYYY-MM-DD", help: "Date of birth", required: true),
            OptionSpec(name: "consent", value: "all|encounter_only|none", help: "What may leave the device (default: all)"),
            OptionSpec(name: "consent-until", value: "DATETIME", help: "Consent valid until (ISO 8601 with offset)"),
            OptionSpec(name: "ihs-id", value: "ID", help: "Their SATUSEHAT (IHS) patient id, when known: then no lookup is queued"),
            .json(),
        ]
    ) { invocation in
        guard let gender = try invocation.choice("gender", Gender.self) else { return 2 }
        var until: Date?
        if let text = invocation.value("consent-until") {
            do { until = try FHIRDateTime.parse(text) } catch let error as FHIRDateTime.FormatError {
                throw FieldError("consent-until", error.reason)
            }
        }
        let input = PatientInput(
            nik: invocation.required("nik"), name: invocation.required("name"), gender: gender,
            birthDate: invocation.required("birth-date"), consent: try invocation.choice("consent", ConsentScope.self) ?? .all,
            consentValidUntil: until, ihsID: invocation.value("ihs-id"))
        printID(invocation, "patient_id", try openClient(invocation).addPatient(input))
        return 0
    }

    static let patientConsent = Command(
        words: ["patient", "consent"],
        summary: "Record what a patient allows to leave the device, or revoke it; releases what consent now allows.",
        options: [
            OptionSpec(name: "nik", value: "NIK", help: "The patient's NIK", required: true),
            OptionSpec(name: "scope", value: "all|encounter_only|none", help: "What may leave the device"),
            OptionSpec(name: "until", value: "DATETIME", help: "Valid until (ISO 8601 with offset)"),
            OptionSpec(name: "revoke", value: nil, help: "Revoke consent: nothing not yet sent leaves"),
        ]
    ) { invocation in
        let revoke = invocation.has("revoke")
        let scope = try invocation.choice("scope", ConsentScope.self)
        guard revoke || scope != nil else { throw UsageError(message: "give --scope or --revoke", command: nil) }
        guard !(revoke && scope != nil) else { throw UsageError(message: "--scope and --revoke cannot go together", command: nil) }
        var until: Date?
        if let text = invocation.value("until") {
            do { until = try FHIRDateTime.parse(text) } catch let error as FHIRDateTime.FormatError { throw FieldError("until", error.reason) }
        }
        let released = try openClient(invocation).recordConsent(nik: invocation.required("nik"), scope: scope, until: until, revoke: revoke)
        Output.line(revoke ? "consent revoked: nothing more leaves the device for this patient" : "consent recorded; \(released) held items released")
        return 0
    }

    static let patientUpdate = Command(
        words: ["patient", "update"],
        summary: "Correct a registered patient (name, birth date, gender; the NIK until SATUSEHAT has matched them by it).",
        options: [
            OptionSpec(name: "nik", value: "NIK", help: "The patient's NIK as registered", required: true),
            OptionSpec(name: "name", value: "NAME", help: "The corrected name"),
            OptionSpec(name: "birth-date", value: "YYYY-MM-DD", help: "The corrected date of birth"),
            OptionSpec(name: "gender", value: "male|female", help: "The corrected gender"),
            OptionSpec(name: "new-nik", value: "NIK", help: "The corrected NIK (only before the server has matched the patient)"),
            OptionSpec(name: "reason", value: "TEXT", help: "What was wrong (kept with the old version)", required: true),
            .author,
        ],
        details: "Consent has its own command: `sehat patient consent`. A patient SATUSEHAT found by lookup is corrected on the\ndevice only; one the device created on a plain FHIR server is updated there."
    ) { invocation in
        let corrected = try openClient(invocation).updatePatient(
            nik: invocation.required("nik"),
            PersonCorrection(name: invocation.value("name"), birthDate: invocation.value("birth-date"), gender: try invocation.choice("gender", Gender.self),
                             nik: invocation.value("new-nik")),
            reason: invocation.required("reason"), by: invocation.author)
        Output.line(personSentence(corrected))
        return 0
    }

    static let practitionerUpdate = Command(
        words: ["practitioner", "update"],
        summary: "Correct a registered practitioner (name; the NIK until SATUSEHAT has matched them by it).",
        options: [
            OptionSpec(name: "nik", value: "NIK", help: "The practitioner's NIK as registered", required: true),
            OptionSpec(name: "name", value: "NAME", help: "The corrected name"),
            OptionSpec(name: "new-nik", value: "NIK", help: "The corrected NIK (only before the server has matched the practitioner)"),
            OptionSpec(name: "reason", value: "TEXT", help: "What was wrong (kept with the old version)", required: true),
            .author,
        ]
    ) { invocation in
        let corrected = try openClient(invocation).updatePractitioner(
            nik: invocation.required("nik"), PersonCorrection(name: invocation.value("name"), nik: invocation.value("new-nik")),
            reason: invocation.required("reason"), by: invocation.author)
        Output.line(personSentence(corrected))
        return 0
    }

    private static func personSentence(_ corrected: CorrectedPerson) -> String {
        guard corrected.changed else { return "nothing changed" }
        var text = "corrected \(corrected.localID)"
        if !corrected.outboxItemIDs.isEmpty { text += "; an update is queued for the server" }
        if !corrected.resentItems.isEmpty { text += "; its lookup searches again" }
        return text
    }

    private static func printID(_ invocation: Invocation, _ key: String, _ id: String) {
        if invocation.has("json") { Output.json(.obj([key: .string(id)])) } else { Output.line(id) }
    }
}

/// Opens the SDK on the invocation's database.
func openClient(_ invocation: Invocation) throws -> SehatClient {
    try SehatClient(path: invocation.databasePath)
}

/// The host's engine: URLSession behind the device's simulated link, so `sehat net` steers
/// a running sync (an app's engine talks to the network directly).
func hostEngine(_ client: SehatClient, configuration: SyncConfiguration? = nil, sleeper: any Sleeper = SystemSleeper(),
                logger: any SyncLogger = SilentLogger()) throws -> SyncEngine {
    try SyncEngine(client: client, transport: hostTransport(client), configuration: configuration, sleeper: sleeper, logger: logger)
}

/// URLSession behind the device's simulated link (`sehat net`), for the engine and for pulls.
func hostTransport(_ client: SehatClient) -> any HTTPTransport {
    SimulatedLink(wrapping: URLSessionTransport()) { (try? client.linkState()) ?? .online }
}

/// Removes a database this command created and could not finish (with its WAL and shared
/// memory), so a refusal leaves nothing behind.
func removeDatabase(_ path: String) {
    for suffix in ["", "-wal", "-shm", "-journal"] { try? FileManager.default.removeItem(atPath: path + suffix) }
}

func absolutePath(_ path: String) -> String {
    path.hasPrefix("/") ? path : FileManager.default.currentDirectoryPath + "/" + path
}
