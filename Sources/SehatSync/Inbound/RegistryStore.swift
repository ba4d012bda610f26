import Foundation
import SehatFHIR
import SehatJSON
import SehatStore

/// What applying one row did to the registry.
enum Upsert: Sendable, Equatable {
    case inserted, updated, unchanged
}

/// The owner of `registry_entries` and `registry_vouches`: one entry per person, each
/// remembering which sources vouched for it and what each said. An entry's fields are
/// computed from its vouches (KKI first for registration, SISDMK for the workplace), so the
/// registry is the same whatever order the rows arrive in — a resumed or repeated pull ends
/// where an uninterrupted one does.
///
/// Matching (seeds/003): a source's own earlier row for the same NIK; else the entry with the
/// row's STR, when the STR is unique to that NIK; else the fallback — the same NIK, name and
/// birth place (compared without case, accents or punctuation); else a new entry. An entry
/// is updated, never re-created.
struct RegistryStore {
    let connection: Connection
    let stamp: String

    /// Applies one row from `source`.
    func apply(_ row: RegistryRow, from source: RegistrySource) throws -> Upsert {
        let data = row.json.text
        if let vouch = try connection.queryFirst(
            "SELECT entry_id, data, source_updated_at FROM registry_vouches WHERE source = ? AND source_key = ?", [.text(source.rawValue), .text(row.nik)])
        {
            let entry = vouch["entry_id"].int64 ?? 0
            if vouch["data"].string == data {
                if (vouch["source_updated_at"].string ?? "") < row.updatedAt {
                    try connection.execute("UPDATE registry_vouches SET source_updated_at = ? WHERE source = ? AND source_key = ?",
                                           [.text(row.updatedAt), .text(source.rawValue), .text(row.nik)])
                }
                return .unchanged
            }
            try connection.execute("UPDATE registry_vouches SET data = ?, source_updated_at = ? WHERE source = ? AND source_key = ?",
                                   [.text(data), .text(row.updatedAt), .text(source.rawValue), .text(row.nik)])
            try recompute(entry, applied: (source, row))
            return .updated
        }
        if let entry = try match(row) {
            try insertVouch(row, data: data, source: source, entry: entry)
            try recompute(entry, applied: (source, row))
            return .updated
        }
        try connection.execute(
            """
            INSERT INTO registry_entries(nik, name, birth_place, match_name, match_place, sources, source_updated_at, pulled_at)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?)
            """, [.text(row.nik), .text(row.name), .text(row.birthPlace), .text(Self.normalized(row.name)), .text(Self.normalized(row.birthPlace)),
                  .text(source.rawValue), .text(row.updatedAt), .text(stamp)])
        let entry = try connection.scalar("SELECT last_insert_rowid()").int64 ?? 0
        try insertVouch(row, data: data, source: source, entry: entry)
        try recompute(entry, applied: (source, row), only: true)
        return .inserted
    }

    /// The entry a row from a source not yet vouching for it belongs to, if any.
    private func match(_ row: RegistryRow) throws -> Int64? {
        if let str = row.strNumber {
            let holders = try connection.query("SELECT id, nik FROM registry_entries WHERE str_number = ?", [.text(str)])
            // The STR identifies the person only when every entry holding it is this NIK.
            if !holders.isEmpty, holders.allSatisfy({ $0["nik"].string == row.nik }), holders.count == 1 { return holders[0]["id"].int64 }
        }
        return try connection.scalar(
            "SELECT id FROM registry_entries WHERE nik = ? AND match_name = ? AND match_place = ? ORDER BY id LIMIT 1",
            [.text(row.nik), .text(Self.normalized(row.name)), .text(Self.normalized(row.birthPlace))]).int64
    }

    private func insertVouch(_ row: RegistryRow, data: String, source: RegistrySource, entry: Int64) throws {
        try connection.execute("INSERT INTO registry_vouches(source, source_key, entry_id, data, source_updated_at) VALUES (?, ?, ?, ?, ?)",
                               [.text(source.rawValue), .text(row.nik), .integer(entry), .text(data), .text(row.updatedAt)])
    }

    /// Sets an entry's fields from its vouches: for each field the first source that gives it,
    /// KKI before SISDMK (KKI registers practitioners; SISDMK knows where they work).
    /// `applied` is the row just written (not read back); `only`: it is the entry's one vouch.
    private func recompute(_ entry: Int64, applied: (RegistrySource, RegistryRow), only: Bool = false) throws {
        let stored = only ? [] : try connection.query("SELECT source, data, source_updated_at FROM registry_vouches WHERE entry_id = ? AND source <> ?",
                                                      [.integer(entry), .text(applied.0.rawValue)])
            .compactMap { row -> (RegistrySource, RegistryRow)? in
                guard let source = row["source"].string.flatMap(RegistrySource.init), let data = row["data"].string, let json = try? JSON.parse(data) else {
                    return nil
                }
                return (source, RegistryRow(json: json, updatedAt: row["source_updated_at"].string ?? ""))
            }
        let vouches = (stored + [applied])
            .sorted { RegistrySource.allCases.firstIndex(of: $0.0)! < RegistrySource.allCases.firstIndex(of: $1.0)! }
        let rows = vouches.map(\.1)
        guard let first = rows.first else { return }
        func pick<T>(_ field: (RegistryRow) -> T?) -> T? { rows.lazy.compactMap(field).first }
        try connection.execute(
            """
            UPDATE registry_entries SET str_number = ?, name = ?, birth_place = ?, birth_date = ?, profession = ?, str_status = ?,
                str_valid_until = ?, facility_code = ?, facility_name = ?, match_name = ?, match_place = ?, sources = ?,
                source_updated_at = ?, pulled_at = ?
            WHERE id = ?
            """,
            [SQLValue(pick(\.strNumber)), .text(first.name), .text(first.birthPlace), SQLValue(pick(\.birthDate)), SQLValue(pick(\.profession)),
             SQLValue(pick { $0.strStatus?.rawValue }), SQLValue(pick(\.strValidUntil)), SQLValue(pick(\.facilityCode)), SQLValue(pick(\.facilityName)),
             .text(Self.normalized(first.name)), .text(Self.normalized(first.birthPlace)),
             .text(vouches.map(\.0.rawValue).joined(separator: ",")), .text(rows.map(\.updatedAt).max() ?? first.updatedAt), .text(stamp),
             .integer(entry)])
    }

    /// A name or a place as the fallback compares it: no case, accents or punctuation, single spaces.
    static func normalized(_ text: String) -> String {
        // Most names are ASCII: lower-case and blank out punctuation without ICU.
        if text.utf8.allSatisfy({ $0 < 0x80 }) {
            var bytes: [UInt8] = []
            bytes.reserveCapacity(text.utf8.count)
            var pendingSpace = false
            for byte in text.utf8 {
                let lower = (65...90).contains(byte) ? byte + 32 : byte
                if (48...57).contains(lower) || (97...122).contains(lower) {
                    if pendingSpace, !bytes.isEmpty { bytes.append(32) }
                    pendingSpace = false
                    bytes.append(lower)
                } else {
                    pendingSpace = true
                }
            }
            return String(decoding: bytes, as: UTF8.self)
        }
        let folded = text.folding(options: [.caseInsensitive, .diacriticInsensitive], locale: Locale(identifier: "en_US_POSIX")).lowercased()
        let kept = folded.unicodeScalars.map { CharacterSet.alphanumerics.contains($0) ? Character($0) : " " }
        return String(kept).split(separator: " ").joined(separator: " ")
    }
}
