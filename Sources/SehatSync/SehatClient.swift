import SehatSupport
import Foundation
import SehatFHIR
import SehatJSON
import SehatStore

/// The SDK's front door: records clinical and emergency data offline, each record and its
/// outbox items in one durable transaction, and answers questions about the outbox.
/// Safe to share between threads and tasks; writes are serialized.
///
///     let client = try SehatClient(path: "clinic.db")
///     try client.configure(Configuration(orgID: "10000004", clientID: "id", clientSecretFile: "secret.txt"))
///     let poli = try client.addLocation(code: "POLI-UMUM", name: "Poli Umum")
public final class SehatClient: Sendable {
    package let database: Database
    /// Commits made through this client, so a watching engine wakes on new writes.
    private let writes = Locked(0)
    /// The time source for every record (inject a `ManualClock` in tests).
    public let clock: any WallClock

    /// Opens (creating and migrating if needed) the database at `path`. Opening changes no
    /// item: what a process that died left in flight is taken back by the next sync engine,
    /// never by a reader (a running engine's claims are left alone).
    public init(path: String, clock: any WallClock = SystemClock()) throws {
        database = try Database(path: path, migrator: StoreSchema.migrator)
        self.clock = clock
    }

    /// A patient's SATUSEHAT (IHS) id, once known (given, or found by the NIK lookup).
    public func patientIHSID(nik: String) throws -> String? {
        try database.read { try $0.scalar("SELECT ihs_id FROM patients WHERE nik = ?", [.text(nik)]).string }
    }

    /// The server id of a local resource, once known.
    public func serverID(forLocalID localID: String) throws -> String? {
        try database.read { try $0.scalar("SELECT server_id FROM resources WHERE local_id = ?", [.text(localID)]).string }
    }

    // MARK: Setup

    /// Stores the device's configuration (not the secret: only its file's path). Changing the
    /// organization is refused once records exist, since their identifiers name it.
    public func configure(_ configuration: Configuration) throws {
        _ = try configuration.readClientSecret()
        let stamp = FHIRDateTime.format(clock.now())
        try database.write { conn in
            if let current = try conn.scalar("SELECT org_id FROM config WHERE id = 1").string, current != configuration.orgID,
                try conn.scalar("SELECT count(*) FROM resources").int ?? 0 > 0
            {
                throw FieldError("org-id", "this device already holds records for organization \(current); use a new database for \(configuration.orgID)")
            }
            try conn.execute(
                """
                INSERT INTO config(id, org_id, client_id, client_secret_file, profile, base_url, auth_url, emergency_url, created_at, updated_at)
                VALUES (1, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT(id) DO UPDATE SET org_id = excluded.org_id, client_id = excluded.client_id,
                    client_secret_file = excluded.client_secret_file, profile = excluded.profile, base_url = excluded.base_url,
                    auth_url = excluded.auth_url, emergency_url = excluded.emergency_url, updated_at = excluded.updated_at
                """,
                [
                    .text(configuration.orgID), .text(configuration.clientID), .text(configuration.clientSecretFile),
                    .text(configuration.profile.rawValue), .text(configuration.baseURL), .text(configuration.authURL),
                    SQLValue(configuration.emergencyURL), .text(stamp), .text(stamp),
                ])
        }
    }

    /// The stored configuration, or nil before `configure`.
    public func configuration() throws -> Configuration? {
        try database.read { conn in
            guard let row = try conn.queryFirst("SELECT * FROM config WHERE id = 1") else { return nil }
            return try Configuration(
                orgID: try row.string("org_id"), clientID: try row.string("client_id"),
                clientSecretFile: try row.string("client_secret_file"),
                profile: Profile(rawValue: try row.string("profile")) ?? .satusehat, baseURL: try row.string("base_url"),
                authURL: try row.string("auth_url"), emergencyURL: row.optionalString("emergency_url"))
        }
    }

    /// The stored sync settings (the spec's defaults until `setSyncSettings`).
    public func syncSettings() throws -> SyncConfiguration {
        try database.read { conn in
            guard let text = try conn.scalar("SELECT sync_settings FROM config WHERE id = 1").string else { return SyncConfiguration() }
            return try SyncConfiguration(json: try JSON.parse(text))
        }
    }

    /// Stores the sync settings every engine on this device starts from.
    public func setSyncSettings(_ settings: SyncConfiguration) throws {
        try settings.validate()
        try database.write { conn in
            guard try conn.scalar("SELECT count(*) FROM config").int == 1 else { throw NotConfiguredError() }
            try conn.execute("UPDATE config SET sync_settings = ? WHERE id = 1", [.text(settings.json.text)])
        }
    }

    // MARK: Recording

    /// Registers a polyclinic; returns its local id.
    @discardableResult
    public func addLocation(code: String, name: String) throws -> String {
        try record { try RegistryRecorder(context: $0).addLocation(code: code, name: name) }
    }

    /// Registers a practitioner by NIK (with their IHS id when known), serving at the
    /// polyclinics with these codes (a PractitionerRole each, created after the Practitioner
    /// and the Location; recording a visit at another adds one); returns the local id.
    @discardableResult
    /// Without a `name`, the name is taken from the workforce registry on the device.
    public func addPractitioner(nik: String, name: String? = nil, ihsID: String? = nil, locations: [String] = []) throws -> String {
        try record { context in
            var known = name
            if known == nil {
                let names = try context.connection.query("SELECT name FROM registry_entries WHERE nik = ? ORDER BY id", [.text(nik)]).compactMap { $0["name"].string }
                guard let first = names.first else {
                    throw FieldError("name", "is required: the registry on this device has no one with NIK \(maskNIK(nik)) (pull it, or give the name)")
                }
                guard Set(names).count == 1 else {
                    throw FieldError("name", "is required: the registry has \(names.count) people with NIK \(maskNIK(nik)) under different names")
                }
                known = first
            }
            return try RegistryRecorder(context: context).addPractitioner(nik: nik, name: known!, ihsID: ihsID, locations: locations)
        }
    }

    /// Links a registered practitioner to a polyclinic they serve (a PractitionerRole, queued
    /// unless it exists). Recording a visit does this by itself the first time.
    public func linkPractitioner(nik: String, toLocation code: String) throws {
        try record { context in
            let conn = context.connection
            guard let practitioner = try conn.scalar("SELECT local_id FROM practitioners WHERE nik = ?", [.text(nik)]).string else {
                throw FieldError("nik", "no practitioner with NIK \(maskNIK(nik)) is registered on this device")
            }
            guard let location = try conn.scalar("SELECT local_id FROM locations WHERE code = ?", [.text(code)]).string else {
                throw FieldError("location", "no location with code \(code) is registered on this device")
            }
            _ = try RegistryRecorder(context: context).role(practitioner: practitioner, at: location)
        }
    }

    /// Registers a patient by NIK with their consent; returns the local id.
    @discardableResult
    public func addPatient(_ patient: PatientInput) throws -> String {
        try patient.validate(now: clock.now())
        return try record { try RegistryRecorder(context: $0).addPatient(patient) }
    }

    /// Records a whole visit and queues its resources; nothing is written if any field is refused.
    ///
    ///     let recorded = try client.recordEncounter(try EncounterDocument(json: text))
    @discardableResult
    public func recordEncounter(_ document: EncounterDocument) throws -> RecordedEncounter {
        let now = clock.now()
        return try record(now: now) { try SehatClient.record(document, in: $0, now: now) }
    }

    /// Records many visits in one transaction — for an import or a migration, where one
    /// durable commit per visit would cost more than the visits themselves. All or nothing: a
    /// refused field names its visit (`visits[3].diagnoses[0].icd10`) and nothing is written.
    ///
    ///     let recorded = try client.recordEncounters(documents)   // one commit
    @discardableResult
    public func recordEncounters(_ documents: [EncounterDocument]) throws -> [RecordedEncounter] {
        let now = clock.now()
        return try record(now: now) { context in
            try documents.enumerated().map { index, document in
                do {
                    return try SehatClient.record(document, in: context, now: now)
                } catch let error as FieldError {
                    throw FieldError("visits[\(index)].\(error.field)", error.reason)
                }
            }
        }
    }

    /// One visit, checked and stored in the caller's transaction.
    private static func record(_ document: EncounterDocument, in context: RecordContext, now: Date) throws -> RecordedEncounter {
        try document.validate(now: now, profile: context.profile)
        // The registry on the device says whether the practitioner may practise that day.
        let check = STRCheck(rawValue: try context.connection.scalar("SELECT str_check FROM config WHERE id = 1").string ?? "") ?? .warn
        let problem = check == .off ? nil
            : try STRCheck.problem(nik: document.practitionerNIK, on: FHIRDateTime.formatDate(document.arrivedAt), connection: context.connection)
        if let problem, check == .refuse { throw FieldError("practitioner_nik", problem) }
        var recorded = try EncounterRecorder(context: context).record(document)
        if let problem {
            try context.connection.execute("UPDATE encounters SET str_warning = ? WHERE local_id = ?", [.text(problem), .text(recorded.encounterID)])
            recorded.strWarning = problem
        }
        return recorded
    }

    /// Records a patient's consent (scope, valid until) or its revocation. Granting releases
    /// what was held for want of consent; revoking stops everything not yet sent.
    ///
    ///     try client.recordConsent(nik: "3171022309900001", scope: .all)
    @discardableResult
    public func recordConsent(nik: String, scope: ConsentScope?, until: Date? = nil, revoke: Bool = false) throws -> Int {
        let now = clock.now()
        return try database.write { try ConsentGate(connection: $0).record(nik: nik, scope: scope, until: until, revoke: revoke, now: now).released }
    }

    /// Queues a status change of an emergency for the emergency service (after its notification).
    @discardableResult
    public func reportEmergencyStatus(_ emergencyID: String, status: EmergencyStatus, note: String? = nil) throws -> Int64 {
        try record { try EmergencyUpdates(context: $0).queueStatus(emergencyID, status: status, note: note) }
    }

    /// Applies a callback from the emergency service (`ambulance-dispatch`, `emergency-update`).
    public func applyEmergencyCallback(_ emergencyID: String, json text: String) throws {
        let callback = try JSON.parseDocument(text)
        try record { try EmergencyUpdates(context: $0).apply(emergencyID, callback: callback) }
    }

    /// Every panic report on the device, newest first, with its status and delivery.
    public func emergencies() throws -> [EmergencySummary] {
        try database.read { try EmergencyUpdates.list($0) }
    }

    /// Imports a FHIR R4 transaction or collection Bundle for the generic path; its resources
    /// go out in dependency order with the same guarantees as recorded ones.
    ///
    ///     let imported = try client.importBundle(json: try String(contentsOfFile: "patient-bundle.json"))
    @discardableResult
    public func importBundle(json text: String) throws -> ImportedBundle {
        let bundle = try JSON.parseDocument(text, maxBytes: InputLimits.bundleBytes)
        return try record { try BundleImporter(context: $0).importBundle(bundle) }
    }

    /// Imports a Bundle file as `importBundle(json:)` does, reading it entry by entry: memory
    /// stays bounded by one entry at a time (and a few names per entry), not by the file,
    /// so a migration's 50,000-entry bundle imports on a small device. All or nothing.
    ///
    ///     let imported = try client.importBundle(file: "migration.json")
    @discardableResult
    public func importBundle(file path: String) throws -> ImportedBundle {
        let source = try BundleSource(file: path)
        return try record { try BundleImporter(context: $0).importBundle(source) }
    }

    /// Stores a panic report and queues its delivery in the emergency lane.
    @discardableResult
    public func recordPanic(_ report: PanicReport) throws -> RecordedPanic {
        let now = clock.now()
        try report.validate(now: now)
        return try record(now: now) { try PanicRecorder(context: $0).record(report) }
    }

    private func record<T: Sendable>(now: Date? = nil, by author: String? = nil, _ body: (RecordContext) throws -> T) throws -> T {
        let now = now ?? clock.now()
        if let author { try InputLimits.checkText(author, field: "by", max: InputLimits.nameLength) }
        let result = try database.write { conn in
            var context = try RecordContext(connection: conn, now: now)
            context.author = author
            return try body(context)
        }
        writes.withLock { $0 += 1 }
        return result
    }

    /// Changes whenever anything is committed to the database, by this client or by another
    /// process (SQLite's `data_version`): a watching engine compares it to wake up.
    func changeToken() throws -> [Int] {
        let external = try database.withoutTransaction { try $0.scalar("PRAGMA data_version").int ?? 0 }
        return [external, writes.withLock { $0 }]
    }

    // MARK: Link, status, health

    /// The simulated link testers set with `sehat net` (online when never set).
    public func linkState() throws -> LinkState {
        try database.read { conn in
            guard let text = try conn.scalar("SELECT link_state FROM config WHERE id = 1").string else { return .online }
            return LinkState(json: try JSON.parse(text))
        }
    }

    /// Sets the simulated link a host's engine follows (`sehat net`).
    public func setLinkState(_ state: LinkState) throws {
        try database.write { conn in
            guard try conn.scalar("SELECT count(*) FROM config").int == 1 else { throw NotConfiguredError() }
            try conn.execute("UPDATE config SET link_state = ? WHERE id = 1", [.text(state.json.text)])
        }
        writes.withLock { $0 += 1 }
    }

    /// The latest health check of each endpoint.
    public func latestHealth() throws -> [HealthCheck] {
        try database.read { conn in
            try conn.query(
                "SELECT * FROM health_checks WHERE id IN (SELECT max(id) FROM health_checks GROUP BY endpoint) ORDER BY endpoint"
            ).map { row in
                HealthCheck(endpoint: HealthEndpoint(rawValue: row["endpoint"].string ?? "") ?? .satusehatFHIR, url: row["url"].string ?? "",
                            status: HealthCheck.Status(rawValue: row["status"].string ?? "") ?? .unhealthy, milliseconds: row.optionalInt("response_ms"),
                            httpStatus: row.optionalInt("http_status"), error: row.optionalString("error"), checkedAt: row["checked_at"].string ?? "")
            }
        }
    }

    /// The device's state in the Prometheus text format: outbox items by lane and status,
    /// escalations, requests by status class, errors by class and resolution, alerts, health.
    public func metrics() throws -> String {
        try database.read { try Metrics.render($0) }
    }

    /// What a sync report shows, from this database alone: the queue now and over the period
    /// since `since`, requests and latency per endpoint, progress per resource type,
    /// failures, panic reports and registry pulls.
    ///
    ///     let data = try client.reportData(since: Date().addingTimeInterval(-7 * 86_400))
    public func reportData(since: Date) throws -> SyncReportData {
        let now = clock.now()
        return try database.read { try SyncReportReader(connection: $0, now: now).read(since: since) }
    }

    /// Per resource type, resources recorded and sent with every change: what "not yet synced"
    /// counts (resources, not changes).
    ///
    ///     for type in try client.progress() { print(type.resourceType, type.sent, "of", type.recorded) }
    public func progress() throws -> [ResourceProgress] {
        try database.read { try SyncReportReader.progress($0) }
    }

    /// The newest error no later attempt has resolved, as the server or transport gave it.
    public func newestOpenError() throws -> String? {
        let now = clock.now()
        return try database.read { try ErrorLog(connection: $0, now: now).newestOpenMessage() }
    }

    /// Queue counts, escalations, alerts, the link, the newest open error and endpoint health.
    public func status() throws -> SyncStatus {
        let link = try linkState()
        let health = try latestHealth()
        return try database.read { conn in
            let errors = ErrorLog(connection: conn, now: clock.now())
            var status = SyncStatus(
                counts: try OutboxReader(connection: conn).counts(),
                escalated: try OutboxReader(connection: conn).escalatedCount(),
                alerts: try errors.alertCount(), link: link, lastError: try errors.newestOpenMessage(), health: health)
            status.authFailure = try errors.openAuthFailure()
            status.lastSuccess = try SyncReportReader.lastSuccess(conn)
            return status
        }
    }


    // MARK: Outbox

    /// Item counts per lane and status.
    public func outboxCounts() throws -> [OutboxCount] {
        try database.read { try OutboxReader(connection: $0).counts() }
    }

    /// Items with their dependencies and last error, in the order the engine would pick them.
    ///
    ///     for item in try client.outboxItems(status: .held) {
    ///         if case .waitsOn(let other, let status) = item.hold { print(item.id, "waits on", other, status) }
    ///     }
    public func outboxItems(lane: Lane? = nil, status: ItemStatus? = nil, limit: Int = 1_000) throws -> [OutboxItem] {
        try database.read { try OutboxReader(connection: $0).items(lane: lane, status: status, limit: limit) }
    }

    /// One item with the request it would send now, its error log and what waits on it.
    ///
    ///     let detail = try client.outboxItem(42)
    ///     print(detail.errors.last?.category, detail.errors.last?.message, detail.waitingItems)
    public func outboxItem(_ id: Int64) throws -> OutboxItemDetail {
        let base = try configuration()?.baseURL
        return try database.read { try OutboxActions(connection: $0).detail(id, baseURL: base) }
    }

    /// Why an item has not reached its receiver: the chain of items it waits on, what holds
    /// the last of them (a refusal, a hold, a backoff after an open circuit …) and how that
    /// one's last attempt ended.
    ///
    ///     let why = try client.whyWaiting(42)
    ///     print(why.chain.map(\.id), why.cause)
    public func whyWaiting(_ id: Int64) throws -> WaitExplanation {
        let now = clock.now()
        return try database.read { try WaitExplainer(connection: $0, now: now).explain(id) }
    }

    /// Sends a failed, dead or held item again (attempts reset); what waited on it follows.
    public func retryItem(_ id: Int64) throws {
        let now = clock.now()
        try database.write { try OutboxActions(connection: $0).retry(id, now: now) }
    }

    /// Gives up on an item: dead-lettered with the reason (it stays; `retryItem` revives it).
    public func ignoreItem(_ id: Int64, reason: String) throws {
        let now = clock.now()
        try database.write { try OutboxActions(connection: $0).ignore(id, reason: reason, now: now) }
    }

    /// The next items the engine may send now: pending, due, every dependency completed.
    public func readyItems(limit: Int = 50) throws -> [OutboxItem] {
        let now = clock.now()
        return try database.read { conn in
            let reader = OutboxReader(connection: conn)
            let ids = try reader.readyIDs(now: now, limit: limit)
            return try reader.items(lane: nil, status: nil, ids: ids, limit: limit)
        }
    }
}

extension SehatClient {
    /// The version conflict of an outbox item (the latest, open or resolved), or nil when it
    /// never had one: the device's version and the server's, side by side.
    public func versionConflict(item id: Int64) throws -> VersionConflictDetail? {
        try database.read { try VersionConflicts(connection: $0, stamp: "").latest(item: id) }
    }

    /// Settles a version conflict (an update the server refused because someone else changed
    /// the resource): keep the device's version (sent again, over the server's) or the server's
    /// (it becomes the device's; nothing is sent). What waited on the update goes on.
    ///
    ///     try client.resolveConflict(item: 42, keep: .server)
    ///
    /// `by`: who makes the change (a name or role), kept with its history.
    @discardableResult
    public func resolveConflict(item id: Int64, keep choice: ConflictChoice, by author: String? = nil) throws -> VersionConflictDetail {
        try record(by: author) { try ConflictResolution(context: $0).resolve(item: id, keep: choice) }
    }

    /// Every kept previous version of a visit's resources, oldest first: what changed, when,
    /// why, and what the server held then (the version the change was based on).
    ///
    ///     for entry in try client.encounterHistory(number: "ENC-20251226-0001") { print(entry.change, entry.reason) }
    public func encounterHistory(number: String) throws -> [ResourceHistoryEntry] {
        try database.read { conn in
            guard let encounterID = try conn.scalar("SELECT local_id FROM encounters WHERE number = ?", [.text(number)]).string else {
                throw FieldError("number", "there is no encounter \(number)")
            }
            return try ResourceHistory(connection: conn, stamp: "").entries(ofEncounter: encounterID)
        }
    }
}

extension SehatClient {
    /// Cancels a recorded visit: what never left the device never will; what the server has
    /// (or may have) becomes `entered-in-error` there. The previous versions are kept with the
    /// reason; nothing is deleted.
    ///
    ///     let cancelled = try client.cancelEncounter(number: "ENC-20251226-0001", reason: "recorded for the wrong patient")
    ///
    /// `by`: who makes the change (a name or role), kept with its history.
    @discardableResult
    public func cancelEncounter(number: String, reason: String, by author: String? = nil) throws -> CancelledEncounter {
        try record(by: author) { try EncounterCancellation(context: $0).cancel(number: number, reason: reason) }
    }
}

extension SehatClient {
    /// Amends a recorded visit with the whole document again (same number): changed resources
    /// are stored as new versions (the old ones kept with the reason) and travel — through their
    /// create when the server does not have them yet (a refused one is revived), else as updates.
    ///
    ///     let amended = try client.amendEncounter(try EncounterDocument(json: text), reason: "KFA code corrected")
    ///
    /// `by`: who makes the change (a name or role), kept with its history.
    @discardableResult
    public func amendEncounter(_ document: EncounterDocument, reason: String, by author: String? = nil) throws -> AmendedEncounter {
        let now = clock.now()
        return try record(now: now, by: author) { context in
            try document.validate(now: now, profile: context.profile)
            return try EncounterAmendment(context: context).amend(document, reason: reason)
        }
    }
}

extension SehatClient {
    /// Corrects a registered patient (name, birth date, gender; the NIK while the server has not
    /// matched them by it). Consent has its own call (`recordConsent`).
    ///
    ///     try client.updatePatient(nik: "3171022309900001", PersonCorrection(name: "Budi Santosa"), reason: "name misspelt")
    ///
    /// `by`: who makes the change (a name or role), kept with its history.
    @discardableResult
    public func updatePatient(nik: String, _ change: PersonCorrection, reason: String, by author: String? = nil) throws -> CorrectedPerson {
        try record(by: author) { try PersonCorrectionRecorder(context: $0).correct(.patient, nik: nik, change, reason: reason) }
    }

    /// Corrects a registered practitioner (name; the NIK while the server has not matched them by it).
    /// `by`: who makes the change (a name or role), kept with its history.
    @discardableResult
    public func updatePractitioner(nik: String, _ change: PersonCorrection, reason: String, by author: String? = nil) throws -> CorrectedPerson {
        try record(by: author) { try PersonCorrectionRecorder(context: $0).correct(.practitioner, nik: nik, change, reason: reason) }
    }
}
