import Foundation
import SehatJSON

/// The health-workforce registry the sandbox serves as KKI and SISDMK would: a deterministic
/// generated population (the same people for the same size and seed), of which KKI lists
/// everyone with their STR and SISDMK about two in three — some without an STR — under
/// Indonesian field names. Its row format is written here from the contract in the issue,
/// not shared with the SDK's mapping.
public struct WorkforceRegistry: Sendable {
    /// How the registry is generated.
    public struct Configuration: Sendable {
        /// How many practitioners.
        public var people = 0
        /// Share of rows served malformed (a bad NIK, an impossible date, a missing name), the
        /// same rows on every pull.
        public var badRowRate = 0.0
        /// The `updated_at` of the oldest row; the others follow a second apart.
        public var firstUpdate = Date(timeIntervalSince1970: 1_764_547_200)  // 2025-12-01
        /// The defaults: an empty registry.
        public init() {}
    }

    /// One practitioner as the sandbox knows them.
    public struct Person: Sendable, Equatable {
        /// Their NIK.
        public var nik: String
        /// Their name.
        public var name: String
        /// Where they were born.
        public var birthPlace: String
        /// When (`YYYY-MM-DD`).
        public var birthDate: String
        /// `dokter`, `perawat`, …
        public var profession: String
        /// Their STR number.
        public var str: String
        /// `active`, `inactive` or `revoked`.
        public var strStatus: String
        /// The STR's last valid day.
        public var strValidUntil: String
        /// Where they work (SISDMK's `fasyankes.kode`).
        public var facilityCode: String
        /// Its name.
        public var facilityName: String
        /// When a source last changed them (`updated_at`).
        public var updatedAt: Date
        /// Listed by SISDMK.
        public var inSISDMK: Bool
        /// SISDMK gives the STR (else `"str": null`).
        public var sisdmkSTR: Bool
        /// Served malformed, by which source (`kki`, `sisdmk`, both when both).
        public var brokenIn: Set<String> = []
        /// How it is broken: 0 a bad NIK, 1 an impossible date, 2 no name.
        public var breakage = 0
    }

    /// Everyone in the registry, in generation order.
    public private(set) var people: [Person] = [] { didSet { order = nil } }
    /// Indices of `people` by (updated_at, NIK), rebuilt after a change: a page must not sort
    /// the whole registry.
    private var order: [Int]?

    static let givenNames = ["Siti", "Budi", "Dewi", "Agus", "Rina", "Andi", "Putri", "Made", "Nur", "Yusuf", "Ayu", "Rizky", "Fitri", "Hendra", "Lestari", "Wayan"]
    static let familyNames = ["Rahmawati", "Santoso", "Wijaya", "Saputra", "Hidayat", "Kusuma", "Pratama", "Siregar", "Nasution", "Lubis", "Gunawan", "Halim"]
    static let places = ["Jakarta", "Bandung", "Surabaya", "Medan", "Makassar", "Denpasar", "Yogyakarta", "Semarang", "Palembang", "Padang"]
    static let professions = ["dokter", "dokter gigi", "perawat", "bidan", "apoteker"]

    /// Generates `configuration.people` practitioners.
    public init(_ configuration: Configuration) {
        let badEvery = configuration.badRowRate > 0 ? max(1, Int((1 / configuration.badRowRate).rounded())) : 0
        people = (0..<configuration.people).map { i in
            var person = WorkforceRegistry.person(i, updatedAt: configuration.firstUpdate.addingTimeInterval(Double(i)))
            if badEvery > 0, i % badEvery == badEvery / 2 {
                person.brokenIn = ["kki", "sisdmk"]
                person.breakage = (i / badEvery) % 3
            }
            return person
        }
    }

    /// The `i`-th generated practitioner.
    public static func person(_ i: Int, updatedAt: Date) -> Person {
        let given = givenNames[i % givenNames.count]
        let family = familyNames[(i / givenNames.count) % familyNames.count]
        return Person(
            nik: "3201" + String(format: "%012d", 100_000 + i), name: "\(given) \(family) \(i)", birthPlace: places[(i * 7) % places.count],
            birthDate: String(format: "%04d-%02d-%02d", 1960 + i % 40, 1 + i % 12, 1 + i % 28), profession: professions[i % professions.count],
            str: "33" + String(format: "%014d", 500_000 + i), strStatus: i % 17 == 5 ? "inactive" : (i % 29 == 7 ? "revoked" : "active"),
            strValidUntil: String(format: "%04d-%02d-%02d", i % 11 == 3 ? 2024 : 2028, 1 + i % 12, 1 + i % 28),
            facilityCode: "FKTP-" + String(format: "%05d", i % 300), facilityName: "Puskesmas \(places[i % 10]) \(i % 300)",
            updatedAt: updatedAt, inSISDMK: i % 3 != 2, sisdmkSTR: i % 5 != 0)
    }

    /// Applies an admin change (`POST /admin/registry`): `{"op": "add", "count": N}` adds N
    /// generated people; `{"op": "change", "nik": …, "name"|"birth_place"|"str_status"|
    /// "str_valid_until"|"profession": …}` changes one; `{"op": "break", "nik": …}` serves
    /// that person malformed from now on. Changed rows get `now` as their `updated_at`.
    mutating func apply(admin change: JSON, now: Date) throws -> String {
        switch change["op"]?.stringValue {
        case "add":
            guard let count = change["count"]?.intValue, (1...1_000_000).contains(count) else { throw RegistryAdminError("add needs a count from 1 to 1000000") }
            let first = people.count
            people += (first..<(first + count)).map { WorkforceRegistry.person($0, updatedAt: now) }
            return "added \(count) people"
        case "change", "break":
            guard let nik = change["nik"]?.stringValue, people.contains(where: { $0.nik == nik }) else { throw RegistryAdminError("no one has that nik") }
            let breaking = change["op"]?.stringValue == "break"
            self.change(nik: nik, at: now) { person in
                if breaking { person.brokenIn = ["kki", "sisdmk"] }
                if let name = change["name"]?.stringValue { person.name = name }
                if let place = change["birth_place"]?.stringValue { person.birthPlace = place }
                if let status = change["str_status"]?.stringValue { person.strStatus = status }
                if let until = change["str_valid_until"]?.stringValue { person.strValidUntil = until }
                if let profession = change["profession"]?.stringValue { person.profession = profession }
            }
            return breaking ? "broke \(nik)" : "changed \(nik)"
        default:
            throw RegistryAdminError("op must be add, change or break")
        }
    }

    /// Adds a person (the registry grows between pulls).
    public mutating func add(_ person: Person) { people.append(person) }

    /// Changes the person with `nik`; the change gets a new `updated_at`.
    public mutating func change(nik: String, at time: Date, _ body: (inout Person) -> Void) {
        for index in people.indices where people[index].nik == nik {
            body(&people[index])
            people[index].updatedAt = time
        }
    }

    /// The rows a source lists, oldest change first, from `since` on: `offset` and `limit`
    /// of them, and how many there are in all.
    mutating func listed(by source: String, since: Date?, offset: Int, limit: Int) -> (rows: [Person], total: Int) {
        let people = self.people
        if order == nil {
            order = people.indices.sorted { (people[$0].updatedAt, people[$0].nik) < (people[$1].updatedAt, people[$1].nik) }
        }
        let sorted = order!
        // The first index at or after `since` (binary search on the sorted order).
        var low = 0
        if let since {
            var high = sorted.count
            while low < high {
                let mid = (low + high) / 2
                if people[sorted[mid]].updatedAt < since { low = mid + 1 } else { high = mid }
            }
        }
        let candidates = sorted[low...].lazy.map { people[$0] }.filter { source == "kki" || $0.inSISDMK }
        if source == "kki" {
            let total = sorted.count - low
            return (Array(candidates.dropFirst(offset).prefix(limit)), total)
        }
        let all = Array(candidates)
        return (Array(all.dropFirst(offset).prefix(limit)), all.count)
    }

    /// RFC 3339 in UTC (`2025-12-01T00:00:00Z`), by hand: a formatter per row cost more
    /// than everything else the sandbox does for a page.
    static func stamp(_ date: Date) -> String {
        var seconds = time_t(date.timeIntervalSince1970.rounded(.down))
        var parts = tm()
        gmtime_r(&seconds, &parts)
        return String(format: "%04d-%02d-%02dT%02d:%02d:%02dZ", Int(parts.tm_year) + 1900, Int(parts.tm_mon) + 1, Int(parts.tm_mday),
                      Int(parts.tm_hour), Int(parts.tm_min), Int(parts.tm_sec))
    }

    /// A person as KKI serves them.
    static func kkiRow(_ p: Person) -> JSON {
        var row = JSON.obj([
            "str_number": .string(p.str), "nik": .string(p.nik), "name": .string(p.name), "birth_place": .string(p.birthPlace),
            "birth_date": .string(p.birthDate), "profession": .string(p.profession), "str_status": .string(p.strStatus),
            "str_valid_until": .string(p.strValidUntil), "updated_at": .string(stamp(p.updatedAt)),
        ])
        if p.brokenIn.contains("kki") { row = broken(row, p.breakage, nik: "nik", date: "birth_date", name: "name") }
        return row
    }

    /// A person as SISDMK serves them.
    static func sisdmkRow(_ p: Person) -> JSON {
        var row = JSON.obj([
            "nik": .string(p.nik), "nama": .string(p.name), "tempat_lahir": .string(p.birthPlace), "tanggal_lahir": .string(p.birthDate),
            "jenis_nakes": .string(p.profession),
            "str": p.sisdmkSTR ? .obj(["nomor": .string(p.str), "berlaku_sampai": .string(p.strValidUntil)]) : .null,
            "fasyankes": .obj(["kode": .string(p.facilityCode), "nama": .string(p.facilityName)]), "updated_at": .string(stamp(p.updatedAt)),
        ])
        if p.brokenIn.contains("sisdmk") { row = broken(row, p.breakage, nik: "nik", date: "tanggal_lahir", name: "nama") }
        return row
    }

    /// Breaks a row one of three ways.
    private static func broken(_ row: JSON, _ breakage: Int, nik: String, date: String, name: String) -> JSON {
        var row = row
        switch breakage % 3 {
        case 0: row[nik] = "12AB"
        case 1: row[date] = "1990-02-30"
        default: row[name] = .null
        }
        return row
    }
}

/// A refused admin change of the registry.
struct RegistryAdminError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
