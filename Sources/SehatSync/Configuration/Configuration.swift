import Foundation

/// Which kind of server the device submits to.
public enum Profile: String, Sendable, CaseIterable {
    /// SATUSEHAT, with its extra rules (NIK lookups, `sys-ids` systems, date limits).
    case satusehat
    /// A plain FHIR R4 server (a hospital EHR): patients and practitioners are created, not looked up.
    case fhir
}

/// How this device talks to the outside world. The client secret is not here: only the
/// path of the file that holds it, read when a token is needed, so it never reaches the
/// database or a log.
///
///     let config = try Configuration(orgID: "10000004", clientID: "abc", clientSecretFile: "/etc/sehat/secret")
public struct Configuration: Sendable, Equatable {
    /// SATUSEHAT's staging FHIR base.
    public static let sandboxBaseURL = "https://api-satusehat-stg.dto.kemkes.go.id/fhir-r4/v1"
    /// SATUSEHAT's staging token endpoint.
    public static let sandboxAuthURL = "https://api-satusehat-stg.dto.kemkes.go.id/oauth2/v1/accesstoken"

    /// The SATUSEHAT Organization id bound to the credentials; every business identifier uses it.
    public var orgID: String
    /// The OAuth2 client id.
    public var clientID: String
    /// The path of the file holding the client secret (read when a token is needed; never stored).
    public var clientSecretFile: String
    /// Which server's rules apply.
    public var profile: Profile
    /// The FHIR base (`…/fhir-r4/v1`).
    public var baseURL: String
    /// The token endpoint (`…/oauth2/v1/accesstoken`).
    public var authURL: String
    /// The emergency service's API root (PSC 119), if any.
    public var emergencyURL: String?

    /// Checks every field; throws a `FieldError` naming the first bad one.
    public init(
        orgID: String, clientID: String, clientSecretFile: String, profile: Profile = .satusehat,
        baseURL: String = Configuration.sandboxBaseURL, authURL: String = Configuration.sandboxAuthURL,
        emergencyURL: String? = nil
    ) throws {
        let org = orgID.trimmingCharacters(in: .whitespaces)
        guard !org.isEmpty, org.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "-" || $0 == "." }) else {
            throw FieldError("org-id", "must be the SATUSEHAT Organization id (letters, digits, '-' or '.'), got \"\(orgID)\"")
        }
        guard !clientID.trimmingCharacters(in: .whitespaces).isEmpty else { throw FieldError("client-id", "is empty") }
        self.orgID = org
        self.clientID = clientID
        self.clientSecretFile = clientSecretFile
        self.profile = profile
        self.baseURL = try Configuration.checkURL(baseURL, field: "base-url")
        self.authURL = try Configuration.checkURL(authURL, field: "auth-url")
        self.emergencyURL = try emergencyURL.map { try Configuration.checkURL($0, field: "emergency-url") }
    }

    /// Reads the client secret from its file (trailing newline dropped).
    public func readClientSecret() throws -> String {
        try Configuration.readSecret(clientSecretFile)
    }

    /// A secret from its file (trailing newline dropped): a regular file of at most 64 KiB
    /// that is not empty.
    static func readSecret(_ clientSecretFile: String) throws -> String {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: clientSecretFile, isDirectory: &isDirectory) else {
            throw FieldError("client-secret-file", "\(clientSecretFile) does not exist")
        }
        guard !isDirectory.boolValue else { throw FieldError("client-secret-file", "\(clientSecretFile) is a directory, not a file") }
        let size = (try? FileManager.default.attributesOfItem(atPath: clientSecretFile)[.size] as? Int) ?? 0
        guard size <= 64 << 10 else { throw FieldError("client-secret-file", "\(clientSecretFile) is \(size) bytes; a secret file holds at most 65536") }
        guard let data = FileManager.default.contents(atPath: clientSecretFile) else {
            throw FieldError("client-secret-file", "cannot read \(clientSecretFile)")
        }
        let secret = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        guard !secret.isEmpty else { throw FieldError("client-secret-file", "\(clientSecretFile) is empty") }
        return secret
    }

    /// HTTPS is required, except to loopback (the sandbox on this machine).
    static func checkURL(_ text: String, field: String) throws -> String {
        let trimmed = text.hasSuffix("/") ? String(text.dropLast()) : text
        guard let url = URL(string: trimmed), let scheme = url.scheme?.lowercased(), let host = url.host, !host.isEmpty else {
            throw FieldError(field, "\"\(text)\" is not an absolute URL")
        }
        let loopback = Configuration.isLoopback(host)
        guard scheme == "https" || (scheme == "http" && loopback) else {
            throw FieldError(field, "must use https (plain http is allowed only to loopback), got \"\(text)\"")
        }
        return trimmed
    }

    /// Whether `host` is this machine: `localhost`, `::1`, or an IPv4 literal in 127.0.0.0/8
    /// (four decimal octets). A name that merely starts with `127.` (`127.0.0.1.nip.io`) is
    /// somebody else's host.
    static func isLoopback(_ host: String) -> Bool {
        let name = host.lowercased()
        if name == "localhost" || name == "::1" || name == "[::1]" { return true }
        let octets = name.split(separator: ".", omittingEmptySubsequences: false)
        guard octets.count == 4 else { return false }
        let values = octets.map { octet -> Int? in
            guard (1...3).contains(octet.count), octet.allSatisfy({ $0.isASCII && $0.isNumber }) else { return nil }
            return Int(octet).flatMap { $0 <= 255 ? $0 : nil }
        }
        return values.allSatisfy { $0 != nil } && values[0] == 127
    }
}
