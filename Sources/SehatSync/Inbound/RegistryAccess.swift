import Foundation
import SehatFHIR
import SehatStore

/// One person in the device's copy of the workforce registry.
public struct RegistryEntry: Sendable, Equatable {
    /// Their STR (registration certificate) number, when a source gave one.
    public let strNumber: String?
    /// Their NIK.
    public let nik: String
    /// Their name.
    public let name: String
    /// Their place of birth.
    public let birthPlace: String
    /// Their date of birth (`YYYY-MM-DD`).
    public let birthDate: String?
    /// Their profession (`dokter`, `perawat`, …).
    public let profession: String?
    /// Where their STR stands (KKI).
    public let strStatus: STRStatus?
    /// The last day their STR is valid (`YYYY-MM-DD`).
    public let strValidUntil: String?
    /// The health facility they work at (SISDMK's `fasyankes`).
    public let facilityCode: String?
    /// Its name.
    public let facilityName: String?
    /// The sources that vouched for this entry.
    public let sources: [RegistrySource]
    /// The latest `updated_at` a source gave.
    public let updatedAt: String
    /// When the device last took a row for it.
    public let pulledAt: String

    /// Whether the STR is active and valid on `day` (`YYYY-MM-DD`); nil when the registry
    /// does not say (no status, or no validity date).
    public func strValid(on day: String) -> Bool? {
        guard let strStatus else { return nil }
        guard strStatus == .active else { return false }
        guard let strValidUntil else { return nil }
        return day <= strValidUntil
    }

    init(row: Row) {
        strNumber = row.optionalString("str_number")
        nik = row["nik"].string ?? ""
        name = row["name"].string ?? ""
        birthPlace = row["birth_place"].string ?? ""
        birthDate = row.optionalString("birth_date")
        profession = row.optionalString("profession")
        strStatus = row.optionalString("str_status").flatMap(STRStatus.init)
        strValidUntil = row.optionalString("str_valid_until")
        facilityCode = row.optionalString("facility_code")
        facilityName = row.optionalString("facility_name")
        sources = (row["sources"].string ?? "").split(separator: ",").compactMap { RegistrySource(rawValue: String($0)) }
        updatedAt = row["source_updated_at"].string ?? ""
        pulledAt = row["pulled_at"].string ?? ""
    }
}

/// One batch in the audit (`sehat pull history`).
public struct PullBatch: Sendable, Equatable {
    /// The batch's trace id.
    public let traceID: String
    /// Which source.
    public let source: RegistrySource
    /// Everything (`--full`) or what changed since `since`.
    public let full: Bool
    /// The `updated_since` asked for (nil: everything).
    public let since: String?
    /// The batch it resumed, if any.
    public let resumes: String?
    /// Where it stands.
    public let status: PullStatus
    /// Why it stopped, when it did.
    public let reason: PullStopReason?
    /// What went wrong, for a person.
    public let detail: String?
    /// Pages and row counts.
    public let pages, fetched, inserted, updated, unchanged, rejected: Int
    /// Whether it raised an alert.
    public let alert: Bool
    /// When it started and finished (UTC).
    public let startedAt: String
    /// When it finished (nil while running).
    public let finishedAt: String?
    /// How long it took.
    public let milliseconds: Int?

    init(row: Row) {
        traceID = row["trace_id"].string ?? ""
        source = RegistrySource(rawValue: row["source"].string ?? "") ?? .kki
        full = row["full_pull"].int == 1
        since = row.optionalString("since")
        resumes = row.optionalString("resumes")
        status = PullStatus(rawValue: row["status"].string ?? "") ?? .stopped
        reason = row.optionalString("reason").flatMap(PullStopReason.init)
        detail = row.optionalString("detail")
        (pages, fetched, inserted) = (row["pages"].int ?? 0, row["fetched"].int ?? 0, row["inserted"].int ?? 0)
        (updated, unchanged, rejected) = (row["updated"].int ?? 0, row["unchanged"].int ?? 0, row["rejected"].int ?? 0)
        alert = row["alert"].int == 1
        startedAt = row["started_at"].string ?? ""
        finishedAt = row.optionalString("finished_at")
        milliseconds = row.optionalInt("duration_ms")
    }
}

/// A row a source sent that was refused (`sehat registry rejected`).
public struct PullRejection: Sendable, Equatable {
    /// Which source.
    public let source: RegistrySource
    /// The batch's trace id.
    public let traceID: String
    /// The row's key as given (its STR, else its NIK masked).
    public let rowKey: String
    /// The field refused.
    public let field: String
    /// Why.
    public let reason: String
    /// When.
    public let at: String
}

extension SehatClient {
    /// Sets up (or changes) a registry source.
    ///
    ///     try client.setRegistrySource(RegistrySourceSettings(source: .kki, baseURL: …, authURL: …, clientID: …, clientSecretFile: …))
    public func setRegistrySource(_ settings: RegistrySourceSettings) throws {
        _ = try settings.readClientSecret()
        let stamp = FHIRDateTime.format(clock.now())
        try database.write { conn in
            try conn.execute(
                """
                INSERT INTO registry_sources(source, base_url, auth_url, client_id, client_secret_file, schedule, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT(source) DO UPDATE SET base_url = excluded.base_url, auth_url = excluded.auth_url, client_id = excluded.client_id,
                    client_secret_file = excluded.client_secret_file, schedule = excluded.schedule, updated_at = excluded.updated_at
                """,
                [.text(settings.source.rawValue), .text(settings.baseURL), .text(settings.authURL), .text(settings.clientID),
                 .text(settings.clientSecretFile), .text(settings.schedule.rawValue), .text(stamp)])
        }
    }

    /// A source's settings, nil when it is not set up.
    public func registrySource(_ source: RegistrySource) throws -> RegistrySourceSettings? {
        try database.read { conn in
            guard let row = try conn.queryFirst("SELECT * FROM registry_sources WHERE source = ?", [.text(source.rawValue)]) else { return nil }
            return try RegistrySourceSettings(
                source: source, baseURL: row["base_url"].string ?? "", authURL: row["auth_url"].string ?? "", clientID: row["client_id"].string ?? "",
                clientSecretFile: row["client_secret_file"].string ?? "", schedule: PullSchedule(rawValue: row["schedule"].string ?? "") ?? .daily)
        }
    }

    /// Registry entries by name, `limit` from `offset`.
    public func registryEntries(limit: Int = 100, offset: Int = 0) throws -> [RegistryEntry] {
        try database.read { conn in
            try conn.query("SELECT * FROM registry_entries ORDER BY match_name, id LIMIT ? OFFSET ?", [.integer(Int64(limit)), .integer(Int64(offset))])
                .map(RegistryEntry.init)
        }
    }

    /// How many people the registry holds.
    public func registryCount() throws -> Int {
        try database.read { try $0.scalar("SELECT count(*) FROM registry_entries").int ?? 0 }
    }

    /// The entries for a NIK (normally one).
    public func registryEntries(nik: String) throws -> [RegistryEntry] {
        try database.read { try $0.query("SELECT * FROM registry_entries WHERE nik = ? ORDER BY id", [.text(nik)]).map(RegistryEntry.init) }
    }

    /// The entries holding an STR number (normally one).
    public func registryEntries(str: String) throws -> [RegistryEntry] {
        try database.read { try $0.query("SELECT * FROM registry_entries WHERE str_number = ? ORDER BY id", [.text(str)]).map(RegistryEntry.init) }
    }

    /// The batch audit, newest first.
    public func pullHistory(source: RegistrySource? = nil, limit: Int = 50) throws -> [PullBatch] {
        try database.read { conn in
            try conn.query("SELECT * FROM pull_batches WHERE ? IS NULL OR source = ? ORDER BY started_at DESC, rowid DESC LIMIT ?",
                           [SQLValue(source?.rawValue), SQLValue(source?.rawValue), .integer(Int64(limit))]).map(PullBatch.init)
        }
    }

    /// When a source last completed a pull (how fresh the cache is); nil when it never has.
    public func lastCompletedPull(_ source: RegistrySource) throws -> String? {
        try database.read {
            try $0.scalar("SELECT max(finished_at) FROM pull_batches WHERE source = ? AND status = 'completed'", [.text(source.rawValue)]).string
        }
    }

    /// Rejected rows, newest first (of one batch when `traceID` is given).
    public func pullRejections(traceID: String? = nil, limit: Int = 200) throws -> [PullRejection] {
        try database.read { conn in
            try conn.query("SELECT * FROM pull_rejections WHERE ? IS NULL OR trace_id = ? ORDER BY id DESC LIMIT ?",
                           [SQLValue(traceID), SQLValue(traceID), .integer(Int64(limit))]).map { row in
                PullRejection(source: RegistrySource(rawValue: row["source"].string ?? "") ?? .kki, traceID: row["trace_id"].string ?? "",
                              rowKey: row["row_key"].string ?? "", field: row["field"].string ?? "", reason: row["reason"].string ?? "",
                              at: row["created_at"].string ?? "")
            }
        }
    }
}
