import Foundation
import SehatFHIR
import SehatJSON

/// How bad an emergency is, as the emergency service (PSC 119) grades it.
public enum Severity: String, Sendable, CaseIterable {
    case critical, high, medium, low

    /// Outbox priority within the emergency lane (lower goes first).
    var priority: Int {
        switch self {
        case .critical: return 0
        case .high: return 1
        case .medium: return 2
        case .low: return 3
        }
    }
}

/// A panic report from a volunteer (seeds/000, PSC 119 notification payload).
///
///     try client.recordPanic(PanicReport(latitude: -6.2088, longitude: 106.8456, severity: .critical, type: "cardiac_arrest"))
public struct PanicReport: Sendable, Equatable {
    /// Where it happened: latitude (−90…90).
    public var latitude: Double
    /// Longitude (−180…180).
    public var longitude: Double
    /// An address, when known.
    public var address: String?
    /// How severe.
    public var severity: Severity
    /// What happened, in snake_case (`cardiac_arrest`, `traffic_accident`).
    public var type: String
    /// The victim's age (0…150).
    public var victimAge: Int?
    /// The victim's gender.
    public var victimGender: Gender?
    /// Who pressed the button (a volunteer id or name).
    public var reporter: String?
    /// When it happened; defaults to the clock's now.
    public var reportedAt: Date?
    /// The victim's NIK, when known: the emergency then also goes to SATUSEHAT.
    public var victimNIK: String?
    /// The responding volunteer's NIK (and name), who records the Observation.
    public var volunteerNIK: String?
    /// The responding volunteer's name.
    public var volunteerName: String?
    /// Ask for a referral to a hospital (a `stat` ServiceRequest).
    public var referral: Bool

    /// A panic report.
    public init(
        latitude: Double, longitude: Double, address: String? = nil, severity: Severity, type: String, victimAge: Int? = nil,
        victimGender: Gender? = nil, reporter: String? = nil, reportedAt: Date? = nil, victimNIK: String? = nil, volunteerNIK: String? = nil,
        volunteerName: String? = nil, referral: Bool = false
    ) {
        self.victimNIK = victimNIK
        self.volunteerNIK = volunteerNIK
        self.volunteerName = volunteerName
        self.referral = referral
        self.latitude = latitude
        self.longitude = longitude
        self.address = address
        self.severity = severity
        self.type = type
        self.victimAge = victimAge
        self.victimGender = victimGender
        self.reporter = reporter
        self.reportedAt = reportedAt
    }

    /// Parses the JSON form (`Schemas/panic.schema.json`); a bad field is named by its key.
    public init(json text: String) throws {
        let doc = try DocumentFields(try JSON.parseDocument(text))
        try doc.only(["$schema", "reported_at", "latitude", "longitude", "address", "severity", "type", "victim_age", "victim_gender", "reporter",
                      "victim_nik", "volunteer_nik", "volunteer_name", "referral"])
        func choice<T: RawRepresentable & CaseIterable>(_ key: String, _: T.Type) throws -> T? where T.RawValue == String {
            guard let text = try doc.optionalString(key) else { return nil }
            guard let value = T(rawValue: text) else {
                throw FieldError(key, "must be one of \(T.allCases.map(\.rawValue).joined(separator: ", ")), got \"\(text)\"")
            }
            return value
        }
        guard let severity = try choice("severity", Severity.self) else { throw FieldError("severity", "is required") }
        self.init(
            latitude: try doc.number("latitude"), longitude: try doc.number("longitude"), address: try doc.optionalString("address"),
            severity: severity, type: try doc.string("type", max: 64), victimAge: try doc.optionalInt("victim_age", PanicReport.ages),
            victimGender: try choice("victim_gender", Gender.self), reporter: try doc.optionalString("reporter", max: InputLimits.nameLength),
            reportedAt: try doc.optionalDateTime("reported_at"), victimNIK: try doc.optionalString("victim_nik"),
            volunteerNIK: try doc.optionalString("volunteer_nik"), volunteerName: try doc.optionalString("volunteer_name", max: InputLimits.nameLength),
            referral: try PanicReport.flag(doc.json, "referral"))
    }

    private static func flag(_ document: JSON, _ key: String) throws -> Bool {
        guard let value = document[key], value != .null else { return false }
        guard let flag = value.boolValue else { throw FieldError(key, "must be true or false") }
        return flag
    }

    /// The ages a victim can have.
    static let ages = 0...150

    func validate(now: Date) throws {
        if let address { try InputLimits.checkText(address, field: "address", max: InputLimits.textLength) }
        if let reporter { try InputLimits.checkText(reporter, field: "reporter", max: InputLimits.nameLength) }
        if let volunteerName { try checkName(volunteerName, field: "volunteer_name") }
        guard latitude.isFinite, (-90...90).contains(latitude) else { throw FieldError("latitude", "must be between -90 and 90") }
        guard longitude.isFinite, (-180...180).contains(longitude) else { throw FieldError("longitude", "must be between -180 and 180") }
        guard type.range(of: #"^[a-z][a-z0-9_]{0,63}$"#, options: .regularExpression) != nil else {
            throw FieldError("type", "must be snake_case letters and digits (e.g. cardiac_arrest), got \(FieldError.quote(type))")
        }
        if let victimAge, !PanicReport.ages.contains(victimAge) { throw FieldError("victim_age", "must be a whole number from 0 to 150, got \(victimAge)") }
        // A report dated before SATUSEHAT's earliest accepted time is a clock or typing error
        // (the device's clock was not set), not an emergency.
        if let reportedAt { try SatusehatRules.checkDateTime(reportedAt, field: "reported_at", now: now) }
        if let victimNIK { try SatusehatRules.checkNIK(victimNIK, field: "victim_nik") }
        if let volunteerNIK { try SatusehatRules.checkNIK(volunteerNIK, field: "volunteer_nik") }
        if referral, victimNIK == nil { throw FieldError("referral", "needs the victim's NIK (victim_nik)") }
    }
}
