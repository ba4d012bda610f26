import Foundation
import SehatFHIR

/// A source of the health-workforce registry (seeds/001, seeds/003).
public enum RegistrySource: String, Sendable, CaseIterable {
    /// Konsil Kesehatan Indonesia: registrations (STR) and their status; cursor paging.
    case kki
    /// SISDMK: the workforce's administrative profiles, with Indonesian field names; page paging.
    case sisdmk
}

/// How often scheduled pulls run (`sehat sync --watch` runs them).
public enum PullSchedule: String, Sendable, CaseIterable {
    /// Once a day (seeds/003: "mis: harian").
    case daily
    /// Once an hour.
    case hourly
    /// Only when asked (`sehat pull`).
    case off

    /// Seconds between scheduled pulls; nil when off.
    public var interval: TimeInterval? {
        switch self {
        case .daily: return 86_400
        case .hourly: return 3_600
        case .off: return nil
        }
    }
}

/// Where a registry source lives and how the device authenticates to it (OAuth2 client
/// credentials). As for SATUSEHAT, the secret stays in its file; only the path is stored.
///
///     let kki = try RegistrySourceSettings(source: .kki, baseURL: "https://kki.example/api", authURL: "https://kki.example/oauth/token",
///                                          clientID: "clinic-7", clientSecretFile: "/etc/sehat/kki-secret")
public struct RegistrySourceSettings: Sendable, Equatable {
    /// Which source.
    public var source: RegistrySource
    /// The API root (`{base}/practitioners`, `{base}/tenaga-kesehatan`).
    public var baseURL: String
    /// The token endpoint.
    public var authURL: String
    /// The OAuth2 client id.
    public var clientID: String
    /// The file holding the client secret.
    public var clientSecretFile: String
    /// How often scheduled pulls run.
    public var schedule: PullSchedule

    /// Checks every field (HTTPS except to loopback); throws a `FieldError` naming the first bad one.
    public init(source: RegistrySource, baseURL: String, authURL: String, clientID: String, clientSecretFile: String,
                schedule: PullSchedule = .daily) throws {
        self.source = source
        self.baseURL = try Configuration.checkURL(baseURL, field: "base-url")
        self.authURL = try Configuration.checkURL(authURL, field: "auth-url")
        try InputLimits.checkText(clientID, field: "client-id", max: InputLimits.nameLength)
        guard !clientID.trimmingCharacters(in: .whitespaces).isEmpty else { throw FieldError("client-id", "is empty") }
        self.clientID = clientID
        self.clientSecretFile = clientSecretFile
        self.schedule = schedule
    }

    /// Reads the client secret from its file.
    func readClientSecret() throws -> String {
        try Configuration.readSecret(clientSecretFile)
    }
}
