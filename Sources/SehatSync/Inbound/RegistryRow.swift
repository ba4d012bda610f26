import Foundation
import SehatFHIR
import SehatJSON

/// Where a practitioner's registration (STR) stands, as KKI reports it.
public enum STRStatus: String, Sendable, CaseIterable {
    /// Registered and allowed to practise.
    case active
    /// Not in force (lapsed, suspended).
    case inactive
    /// Withdrawn by the council.
    case revoked
}

/// One practitioner as one source describes them, mapped to the registry's fields and checked.
struct RegistryRow: Sendable, Equatable {
    var strNumber: String?
    var nik: String
    var name: String
    var birthPlace: String
    var birthDate: String?
    var profession: String?
    var strStatus: STRStatus?
    var strValidUntil: String?
    var facilityCode: String?
    var facilityName: String?
    /// The source's own `updated_at` (UTC, RFC 3339).
    var updatedAt: String

    /// The mapped fields as stored with the source's vouch: equal text means nothing changed.
    var json: JSON {
        .obj([
            "str_number": strNumber.map(JSON.string), "nik": .string(nik), "name": .string(name), "birth_place": .string(birthPlace),
            "birth_date": birthDate.map(JSON.string), "profession": profession.map(JSON.string), "str_status": strStatus.map { .string($0.rawValue) },
            "str_valid_until": strValidUntil.map(JSON.string), "facility_code": facilityCode.map(JSON.string),
            "facility_name": facilityName.map(JSON.string),
        ])
    }

    init(json: JSON, updatedAt: String) {
        func text(_ key: String) -> String? { json[key]?.stringValue }
        strNumber = text("str_number")
        nik = text("nik") ?? ""
        name = text("name") ?? ""
        birthPlace = text("birth_place") ?? ""
        birthDate = text("birth_date")
        profession = text("profession")
        strStatus = text("str_status").flatMap(STRStatus.init)
        strValidUntil = text("str_valid_until")
        facilityCode = text("facility_code")
        facilityName = text("facility_name")
        self.updatedAt = updatedAt
    }

    init(strNumber: String?, nik: String, name: String, birthPlace: String, birthDate: String?, profession: String?, strStatus: STRStatus?,
         strValidUntil: String?, facilityCode: String? = nil, facilityName: String? = nil, updatedAt: String) {
        (self.strNumber, self.nik, self.name, self.birthPlace, self.birthDate, self.profession) = (strNumber, nik, name, birthPlace, birthDate, profession)
        (self.strStatus, self.strValidUntil, self.facilityCode, self.facilityName, self.updatedAt) = (strStatus, strValidUntil, facilityCode, facilityName, updatedAt)
    }
}

/// A row a source sent that could not be taken: its key as given, the field and the reason.
struct RowRejection: Sendable, Equatable {
    let key: String
    let field: String
    let reason: String
}

/// A source row after mapping: taken, or rejected with the reason.
enum MappedRow: Sendable {
    case row(RegistryRow)
    case rejected(RowRejection)
}

/// Where the next page starts.
enum PageMark: Sendable, Equatable {
    /// KKI's opaque cursor.
    case cursor(String)
    /// SISDMK's page number (from 1).
    case page(Int)
}

/// One page as a source answered it.
struct FeedPage: Sendable {
    let rows: [MappedRow]
    /// Where the next page starts; nil on the last.
    let next: PageMark?
    /// The rows the whole batch holds, when the source says (SISDMK does; KKI's cursor does not).
    var total: Int? = nil
}

/// How one source is asked and read: its URL, its paging, its field names. The mapping of a
/// source lives in its feed alone, so a deployment whose source names a field differently
/// changes one file.
protocol RegistryFeed: Sendable {
    var source: RegistrySource { get }
    /// The URL of a page: from `mark` (nil: the first), rows updated since `since` (nil: all).
    func url(base: String, since: String?, mark: PageMark?, pageSize: Int) -> String
    /// Reads a page; throws a `FieldError` when the page itself is not the source's shape.
    func read(_ page: JSON, now: Date) throws -> FeedPage
}

extension RegistrySource {
    /// This source's feed.
    var feed: any RegistryFeed {
        switch self {
        case .kki: return KKIFeed()
        case .sisdmk: return SISDMKFeed()
        }
    }
}

/// The checks every mapped row passes, whatever its source (seeds/003: "mapping field,
/// sanitasi data, validasi awal"); the first failure rejects the row with its field.
struct RowChecks {
    let now: Date
    let key: String

    func reject(_ field: String, _ reason: String) -> RowRejection { RowRejection(key: key, field: field, reason: reason) }

    /// A text member: trimmed, not empty when required, within `max`, no control characters.
    func text(_ row: JSON, _ key: String, as field: String? = nil, required: Bool, max: Int = InputLimits.nameLength) throws -> String? {
        let field = field ?? key
        guard let value = row[key], value != .null else {
            if required { throw reject(field, "is required") }
            return nil
        }
        guard let raw = value.stringValue else { throw reject(field, "must be a string, got \(value.kind)") }
        // Foundation's trimming bridges to NSString: only pay for it when there is something to trim.
        let edges = [raw.unicodeScalars.first, raw.unicodeScalars.last].compactMap { $0 }
        let text = edges.contains(where: { CharacterSet.whitespacesAndNewlines.contains($0) }) ? raw.trimmingCharacters(in: .whitespacesAndNewlines) : raw
        if text.isEmpty {
            if required { throw reject(field, "is empty") }
            return nil
        }
        do { try InputLimits.checkText(text, field: field, max: max) } catch let error as FieldError { throw reject(error.field, error.reason) }
        return text
    }

    func nik(_ text: String, field: String) throws -> String {
        do { try SatusehatRules.checkNIK(text, field: field) } catch let error as FieldError { throw reject(error.field, error.reason) }
        return text
    }

    /// A calendar date `YYYY-MM-DD`: real, and not in the future unless `future`.
    func date(_ text: String?, field: String, future: Bool = false) throws -> String? {
        guard let text else { return nil }
        do { _ = try FHIRDateTime.parseDate(text) } catch let error as FHIRDateTime.FormatError { throw reject(field, error.reason) }
        if !future, text > FHIRDateTime.formatDate(now) { throw reject(field, "\(text) is in the future") }
        return text
    }

    /// An RFC 3339 time with an offset, not in the future (five minutes of clock skew allowed); returned in UTC.
    func time(_ text: String?, field: String) throws -> String {
        guard let text else { throw reject(field, "is required") }
        let date: Date
        do { date = try FHIRDateTime.parse(text) } catch let error as FHIRDateTime.FormatError { throw reject(field, error.reason) }
        guard date <= now.addingTimeInterval(300) else { throw reject(field, "\(text) is in the future") }
        return FHIRDateTime.format(date)
    }

    /// An STR number: letters, digits, `-`, `.` or `/`, 1 to 64 characters.
    func str(_ text: String?, field: String) throws -> String? {
        guard let text else { return nil }
        guard text.utf8.count <= 64, text.unicodeScalars.allSatisfy({ $0.properties.isAlphabetic && $0.isASCII || ("0"..."9").contains($0) || "-./".unicodeScalars.contains($0) })
        else { throw reject(field, "\(FieldError.quote(text)) is not an STR number (letters, digits, '-', '.' or '/', at most 64)") }
        return text
    }
}

extension RowRejection: Error {}

extension JSON {
    /// A row's key as a person can find it again: its STR, else its NIK masked.
    func rowKey(str strKey: String, nik nikKey: String, index: Int) -> String {
        if let str = self[strKey]?.stringValue, !str.isEmpty { return "STR \(str.prefix(64))" }
        if let nik = self[nikKey]?.stringValue, !nik.isEmpty { return "NIK \(maskNIK(String(nik.prefix(32))))" }
        return "row \(index + 1)"
    }
}
