import Foundation

/// FHIR date-times as SATUSEHAT wants them: UTC with an explicit offset
/// (`2025-12-26T02:00:00+00:00`), parsed from any ISO 8601 text that carries an offset.
///
///     let instant = try FHIRDateTime.parse("2025-12-26T09:00:00+07:00")
///     FHIRDateTime.format(instant)   // "2025-12-26T02:00:00+00:00"
public enum FHIRDateTime {
    /// Why a date or date-time text was refused.
    public struct FormatError: Error, Sendable, Equatable {
        /// What is wrong with the text.
        public let reason: String
    }

    /// Parses `YYYY-MM-DDThh:mm:ss[.fff](Z|±hh:mm)`. A time without an offset is refused:
    /// a clinic's wall-clock time is ambiguous once it leaves the device.
    public static func parse(_ text: String) throws -> Date {
        let chars = Array(text.utf8)
        func number(_ from: Int, _ count: Int) -> Int? {
            guard from + count <= chars.count else { return nil }
            var value = 0
            for byte in chars[from..<(from + count)] {
                guard (48...57).contains(byte) else { return nil }
                value = value * 10 + Int(byte - 48)
            }
            return value
        }
        func at(_ i: Int, _ c: Character) -> Bool { i < chars.count && chars[i] == c.asciiValue! }
        guard let year = number(0, 4), at(4, "-"), let month = number(5, 2), at(7, "-"), let day = number(8, 2),
            at(10, "T"), let hour = number(11, 2), at(13, ":"), let minute = number(14, 2), at(16, ":"),
            let second = number(17, 2)
        else {
            throw FormatError(reason: "expected a date-time like 2025-12-26T09:00:00+07:00, got \(FieldError.quote(text))")
        }
        var i = 19
        var fraction = 0.0
        if at(i, ".") {
            i += 1
            var scale = 0.1
            let start = i
            while i < chars.count, (48...57).contains(chars[i]) {
                fraction += Double(chars[i] - 48) * scale
                scale /= 10
                i += 1
            }
            guard i > start else { throw FormatError(reason: "expected digits after '.' in \(FieldError.quote(text))") }
        }
        let offsetSeconds: Int
        if at(i, "Z") && i + 1 == chars.count {
            offsetSeconds = 0
        } else if (at(i, "+") || at(i, "-")), i + 6 == chars.count, let oh = number(i + 1, 2), at(i + 3, ":"),
            let om = number(i + 4, 2), om < 60, oh * 60 + om <= 14 * 60  // offsets run from -14:00 to +14:00
        {
            offsetSeconds = (at(i, "-") ? -1 : 1) * (oh * 3600 + om * 60)
        } else if i == chars.count {
            throw FormatError(reason: "\(FieldError.quote(text)) has no time-zone offset (add Z or +07:00)")
        } else {
            throw FormatError(reason: "expected Z or an offset from -14:00 to +14:00 (like +07:00) at the end of \(FieldError.quote(text))")
        }
        guard (1...12).contains(month), (1...daysIn(month: month, year: year)).contains(day), hour < 24, minute < 60,
            second < 60
        else { throw FormatError(reason: "\(FieldError.quote(text)) is not a real date and time") }
        let days = daysFromCivil(year: year, month: month, day: day)
        let seconds = Double(days * 86_400 + hour * 3600 + minute * 60 + second - offsetSeconds) + fraction
        return Date(timeIntervalSince1970: seconds)
    }

    /// Parses a calendar date `YYYY-MM-DD`.
    public static func parseDate(_ text: String) throws -> (year: Int, month: Int, day: Int) {
        let parts = text.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count == 3, parts[0].count == 4, parts[1].count == 2, parts[2].count == 2,
            let y = Int(parts[0]), let m = Int(parts[1]), let d = Int(parts[2]),
            parts.allSatisfy({ $0.allSatisfy(\.isASCII) && $0.allSatisfy(\.isNumber) })
        else { throw FormatError(reason: "expected a date like 1990-01-31, got \(FieldError.quote(text))") }
        guard (1...12).contains(m), (1...daysIn(month: m, year: y)).contains(d) else {
            throw FormatError(reason: "\(FieldError.quote(text)) is not a real date")
        }
        return (y, m, d)
    }

    /// `2025-12-26T02:00:00+00:00` (whole seconds, UTC).
    public static func format(_ date: Date) -> String {
        let total = Int(date.timeIntervalSince1970.rounded(.down))
        var days = total / 86_400
        var rest = total % 86_400
        if rest < 0 {
            rest += 86_400
            days -= 1
        }
        let (y, m, d) = civilFromDays(days)
        func pad(_ value: Int, _ width: Int) -> String {
            let digits = String(value)
            return digits.count >= width ? digits : String(repeating: "0", count: width - digits.count) + digits
        }
        return "\(pad(y, 4))-\(pad(m, 2))-\(pad(d, 2))T\(pad(rest / 3600, 2)):\(pad(rest % 3600 / 60, 2)):\(pad(rest % 60, 2))+00:00"
    }

    /// `2025-12-26` (the UTC calendar date).
    public static func formatDate(_ date: Date) -> String { String(format(date).prefix(10)) }

    static func daysIn(month: Int, year: Int) -> Int {
        switch month {
        case 2: return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }

    // Howard Hinnant's civil-calendar algorithms (proleptic Gregorian, day 0 = 1970-01-01).
    static func daysFromCivil(year: Int, month: Int, day: Int) -> Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let doy = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    static func civilFromDays(_ days: Int) -> (Int, Int, Int) {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp + (mp < 10 ? 3 : -9)
        return (yoe + era * 400 + (m <= 2 ? 1 : 0), m, d)
    }
}
