import Foundation
import SehatFHIR

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
    public var latitude: Double
    public var longitude: Double
    public var address: String?
    public var severity: Severity
    /// What happened, in snake_case (`cardiac_arrest`, `traffic_accident`).
    public var type: String
    public var victimAge: Int?
    public var victimGender: Gender?
    /// Who pressed the button (a volunteer id or name).
    public var reporter: String?
    /// When it happened; defaults to the clock's now.
    public var reportedAt: Date?

    public init(
        latitude: Double, longitude: Double, address: String? = nil, severity: Severity, type: String, victimAge: Int? = nil,
        victimGender: Gender? = nil, reporter: String? = nil, reportedAt: Date? = nil
    ) {
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

    func validate(now: Date) throws {
        guard latitude.isFinite, (-90...90).contains(latitude) else { throw FieldError("lat", "must be between -90 and 90") }
        guard longitude.isFinite, (-180...180).contains(longitude) else { throw FieldError("lon", "must be between -180 and 180") }
        guard type.range(of: #"^[a-z][a-z0-9_]{0,63}$"#, options: .regularExpression) != nil else {
            throw FieldError("type", "must be snake_case letters and digits (e.g. cardiac_arrest), got \"\(type)\"")
        }
        if let victimAge, !(0...150).contains(victimAge) { throw FieldError("victim-age", "must be between 0 and 150") }
        if let reportedAt { try SatusehatRules.checkDateTime(reportedAt, field: "reported-at", now: now, enforceEarliest: false) }
    }
}
