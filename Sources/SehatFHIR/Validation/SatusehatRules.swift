import Foundation

/// Field-level rules SATUSEHAT enforces (SATUSEHAT.md, "Validation rules the server enforces").
///
///     try SatusehatRules.checkNIK("3171022309900001", field: "nik")
public enum SatusehatRules {
    /// SATUSEHAT refuses date-times before this instant (2022-08-31T00:00:00Z).
    public static let earliestDateTime = Date(timeIntervalSince1970: 1_661_904_000)

    /// Encounter classes SATUSEHAT accepts.
    public static let encounterClasses: [String: String] = [
        "AMB": "ambulatory", "EMER": "emergency", "IMP": "inpatient encounter", "HH": "home health",
        "TELE": "teleconsultation",
    ]

    /// A NIK is 16 digits, the first not zero.
    public static func checkNIK(_ nik: String, field: String) throws {
        guard nik.utf8.count == 16, nik.utf8.allSatisfy({ (48...57).contains($0) }) else {
            throw FieldError(field, "a NIK is 16 digits, got \(FieldError.quote(nik))")
        }
        guard nik.first != "0" else { throw FieldError(field, "a NIK cannot start with 0 (it begins with a province code)") }
    }

    /// ICD-10: a letter, two digits, then optionally a dot and one to four characters (`J06.9`, `A09`).
    public static func checkICD10(_ code: String, field: String) throws {
        try check(code, #"^[A-TV-Z][0-9]{2}(\.[0-9A-Z]{1,4})?$"#, field, "an ICD-10 code (expected a letter and two digits, e.g. J06.9)")
    }

    /// ICD-9-CM procedure codes: two digits, optionally a dot and one or two digits (`89.52`).
    public static func checkICD9CM(_ code: String, field: String) throws {
        try check(code, #"^[0-9]{2}(\.[0-9]{1,2})?$"#, field, "an ICD-9-CM procedure code (e.g. 89.52)")
    }

    /// LOINC: digits, a dash, one check digit (`8480-6`).
    public static func checkLOINC(_ code: String, field: String) throws {
        try check(code, #"^[0-9]{1,7}-[0-9]$"#, field, "a LOINC code (e.g. 8480-6)")
    }

    /// KFA drug codes are numeric (`93001019`).
    public static func checkKFA(_ code: String, field: String) throws {
        try check(code, #"^[0-9]{6,12}$"#, field, "a KFA code (6 to 12 digits, e.g. 93001019)")
    }

    private static func check(_ code: String, _ pattern: String, _ field: String, _ what: String) throws {
        guard matches(code, pattern) else { throw FieldError(field, "\(FieldError.quote(code)) is not \(what)") }
    }

    /// A clinical date-time may not be in the future and, for SATUSEHAT, not before 2022-08-31.
    public static func checkDateTime(_ date: Date, field: String, now: Date, enforceEarliest: Bool = true) throws {
        if date > now.addingTimeInterval(60) {  // a minute of clock skew is tolerated
            throw FieldError(field, "\(FHIRDateTime.format(date)) is in the future (now is \(FHIRDateTime.format(now)))")
        }
        if enforceEarliest, date < earliestDateTime {
            throw FieldError(field, "\(FHIRDateTime.format(date)) is before 2022-08-31, which SATUSEHAT refuses")
        }
    }

    static func matches(_ text: String, _ pattern: String) -> Bool {
        text.range(of: pattern, options: .regularExpression) != nil
    }
}
