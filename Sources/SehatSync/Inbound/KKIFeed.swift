import Foundation
import SehatFHIR
import SehatJSON

/// KKI's feed: `GET {base}/practitioners?updated_since=RFC3339&limit=N[&cursor=C]` →
/// `{"data": [row…], "next_cursor": "…" | null}`; a row has `str_number`, `nik`, `name`,
/// `birth_place`, `birth_date`, `profession`, `str_status` (`active` | `inactive` |
/// `revoked`), `str_valid_until` and `updated_at`. Every KKI field name is in this file.
struct KKIFeed: RegistryFeed {
    var source: RegistrySource { .kki }

    func url(base: String, since: String?, mark: PageMark?, pageSize: Int) -> String {
        var query = [("limit", String(pageSize))]
        if let since { query.insert(("updated_since", since), at: 0) }
        if case .cursor(let cursor) = mark { query.append(("cursor", cursor)) }
        return base + "/practitioners?" + RegistryQuery.encode(query)
    }

    func read(_ page: JSON, now: Date) throws -> FeedPage {
        guard case .object = page else { throw FieldError("(page)", "expected {\"data\": […], \"next_cursor\": …}, got \(page.kind)") }
        guard let data = page["data"]?.arrayValue else { throw FieldError("data", "must be an array of practitioners") }
        let next: PageMark?
        switch page["next_cursor"] {
        case nil, .some(.null): next = nil
        case .some(.string(let cursor)) where !cursor.isEmpty && cursor.utf8.count <= 1024: next = .cursor(cursor)
        case .some(let other): throw FieldError("next_cursor", "must be a cursor string or null, got \(other.kind)")
        }
        return FeedPage(rows: data.enumerated().map { index, row in map(row, index: index, now: now) }, next: next)
    }

    func map(_ row: JSON, index: Int, now: Date) -> MappedRow {
        let check = RowChecks(now: now, key: row.rowKey(str: "str_number", nik: "nik", index: index))
        do {
            guard case .object = row else { throw check.reject("(row)", "must be an object, got \(row.kind)") }
            let status = try check.text(row, "str_status", required: false, max: 16)
            guard status == nil || STRStatus(rawValue: status!) != nil else {
                throw check.reject("str_status", "\(FieldError.quote(status!)) is not active, inactive or revoked")
            }
            return .row(RegistryRow(
                strNumber: try check.str(try check.text(row, "str_number", required: false, max: 64), field: "str_number"),
                nik: try check.nik(try check.text(row, "nik", required: true, max: 32)!, field: "nik"),
                name: try check.text(row, "name", required: true)!, birthPlace: try check.text(row, "birth_place", required: true)!,
                birthDate: try check.date(try check.text(row, "birth_date", required: false, max: 16), field: "birth_date"),
                profession: try check.text(row, "profession", required: false), strStatus: status.flatMap(STRStatus.init),
                strValidUntil: try check.date(try check.text(row, "str_valid_until", required: false, max: 16), field: "str_valid_until", future: true),
                updatedAt: try check.time(try check.text(row, "updated_at", required: true, max: 64), field: "updated_at")))
        } catch let rejection as RowRejection {
            return .rejected(rejection)
        } catch {
            return .rejected(check.reject("(row)", "\(error)"))
        }
    }
}

/// Query strings for the sources: names and values percent-encoded.
enum RegistryQuery {
    static func encode(_ pairs: [(String, String)]) -> String {
        let allowed = CharacterSet.alphanumerics.union(CharacterSet(charactersIn: "-._~"))
        return pairs.map { "\($0.0)=\($0.1.addingPercentEncoding(withAllowedCharacters: allowed) ?? $0.1)" }.joined(separator: "&")
    }
}
