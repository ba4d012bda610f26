import Foundation
import SehatFHIR
import SehatJSON

/// SISDMK's feed: `GET {base}/tenaga-kesehatan?updated_since=RFC3339&page=P&per_page=N` →
/// `{"data": [row…], "meta": {"page": P, "per_page": N, "total": T}}`; a row has `nik`,
/// `nama`, `tempat_lahir`, `tanggal_lahir`, `jenis_nakes`, `str` (`{"nomor",
/// "berlaku_sampai"}` or null), `fasyankes` (`{"kode", "nama"}`) and `updated_at`. Every
/// SISDMK field name is in this file.
struct SISDMKFeed: RegistryFeed {
    var source: RegistrySource { .sisdmk }

    func url(base: String, since: String?, mark: PageMark?, pageSize: Int) -> String {
        var page = 1
        if case .page(let number) = mark { page = number }
        var query = [("page", String(page)), ("per_page", String(pageSize))]
        if let since { query.insert(("updated_since", since), at: 0) }
        return base + "/tenaga-kesehatan?" + RegistryQuery.encode(query)
    }

    func read(_ page: JSON, now: Date) throws -> FeedPage {
        guard case .object = page else { throw FieldError("(page)", "expected {\"data\": […], \"meta\": {…}}, got \(page.kind)") }
        guard let data = page["data"]?.arrayValue else { throw FieldError("data", "must be an array of tenaga kesehatan") }
        guard let number = page.value(at: "meta.page")?.intValue, number >= 1, let perPage = page.value(at: "meta.per_page")?.intValue, perPage >= 1,
            let total = page.value(at: "meta.total")?.intValue, total >= 0
        else { throw FieldError("meta", "must give page (≥ 1), per_page (≥ 1) and total (≥ 0) as whole numbers") }
        let next: PageMark? = number < 1_000_000_000 && number * perPage < total && !data.isEmpty ? .page(number + 1) : nil
        return FeedPage(rows: data.enumerated().map { index, row in map(row, index: index, now: now) }, next: next, total: total)
    }

    func map(_ row: JSON, index: Int, now: Date) -> MappedRow {
        let check = RowChecks(now: now, key: row["str"]?["nomor"]?.stringValue.map { "STR \($0.prefix(64))" } ?? row.rowKey(str: "-", nik: "nik", index: index))
        do {
            guard case .object = row else { throw check.reject("(row)", "must be an object, got \(row.kind)") }
            var strNumber: String?
            var validUntil: String?
            switch row["str"] {
            case nil, .some(.null): break
            case .some(let str):
                guard case .object = str else { throw check.reject("str", "must be {\"nomor\", \"berlaku_sampai\"} or null, got \(str.kind)") }
                strNumber = try check.str(try check.text(str, "nomor", as: "str.nomor", required: true, max: 64), field: "str.nomor")
                validUntil = try check.date(try check.text(str, "berlaku_sampai", as: "str.berlaku_sampai", required: false, max: 16),
                                            field: "str.berlaku_sampai", future: true)
            }
            var facilityCode: String?
            var facilityName: String?
            if let facility = row["fasyankes"], facility != .null {
                guard case .object = facility else { throw check.reject("fasyankes", "must be {\"kode\", \"nama\"} or null, got \(facility.kind)") }
                facilityCode = try check.text(facility, "kode", as: "fasyankes.kode", required: false, max: InputLimits.identifierLength)
                facilityName = try check.text(facility, "nama", as: "fasyankes.nama", required: false)
            }
            return .row(RegistryRow(
                strNumber: strNumber, nik: try check.nik(try check.text(row, "nik", required: true, max: 32)!, field: "nik"),
                name: try check.text(row, "nama", required: true)!, birthPlace: try check.text(row, "tempat_lahir", required: true)!,
                birthDate: try check.date(try check.text(row, "tanggal_lahir", required: false, max: 16), field: "tanggal_lahir"),
                profession: try check.text(row, "jenis_nakes", required: false), strStatus: nil, strValidUntil: validUntil,
                facilityCode: facilityCode, facilityName: facilityName,
                updatedAt: try check.time(try check.text(row, "updated_at", required: true, max: 64), field: "updated_at")))
        } catch let rejection as RowRejection {
            return .rejected(rejection)
        } catch {
            return .rejected(check.reject("(row)", "\(error)"))
        }
    }
}
