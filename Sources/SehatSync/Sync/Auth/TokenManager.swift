import Foundation
import SehatFHIR
import SehatJSON

/// Why no token could be had.
public struct AuthError: Error, Sendable, CustomStringConvertible {
    /// What the token endpoint said.
    public let message: String
    /// When asking again is allowed (SATUSEHAT allows one request a minute after a failure).
    public let retryAt: Date?
    /// The endpoint answered and refused (a 4xx other than 429): the credentials or the
    /// configuration are wrong, and waiting will not fix it.
    public var refused = false
    /// The message.
    public var description: String { message }
}

/// One OAuth2 client-credentials token shared by every request: fetched once, refreshed
/// before it expires (not per request), never fetched twice at once, and never asked for
/// during the lock-out that follows bad credentials.
actor TokenManager {
    private let authURL: String
    private let clientID: String
    private let secret: @Sendable () throws -> String
    private let transport: any HTTPTransport
    private let clock: any WallClock
    private let timeout: TimeInterval

    private var current: (token: String, refreshAt: Date)?
    private var inFlight: Task<String, Error>?
    private var blockedUntil: Date?
    /// Whether the block follows a refusal (bad credentials) rather than a 429.
    private var blockRefused = false
    /// How many tokens were fetched (for tests and the report).
    private(set) var fetches = 0

    init(authURL: String, clientID: String, secret: @escaping @Sendable () throws -> String, transport: any HTTPTransport,
         clock: any WallClock, timeout: TimeInterval) {
        self.authURL = authURL
        self.clientID = clientID
        self.secret = secret
        self.transport = transport
        self.clock = clock
        self.timeout = timeout
    }

    /// A valid token, fetching one only when there is none or it is about to expire.
    func token() async throws -> String {
        if let current, clock.now() < current.refreshAt { return current.token }
        if let inFlight { return try await inFlight.value }
        if let blockedUntil, clock.now() < blockedUntil {
            throw AuthError(message: "the token endpoint refused these credentials; not asking again before \(FHIRDateTime.format(blockedUntil))",
                            retryAt: blockedUntil, refused: blockRefused)
        }
        let task = Task { try await self.fetch() }
        inFlight = task
        defer { inFlight = nil }
        return try await task.value
    }

    /// Forgets `token` after the server refused it (a 401), so the next call fetches anew.
    func invalidate(_ token: String) {
        if current?.token == token { current = nil }
    }

    private func fetch() async throws -> String {
        let secret = try self.secret()
        func encode(_ text: String) -> String {
            text.addingPercentEncoding(withAllowedCharacters: .alphanumerics.union(CharacterSet(charactersIn: "-._~"))) ?? text
        }
        let separator = authURL.contains("?") ? "&" : "?"
        let call = HTTPCall(
            method: "POST", url: authURL + separator + "grant_type=client_credentials",
            headers: ["Content-Type": "application/x-www-form-urlencoded", "X-Request-ID": UUID().uuidString.lowercased()],
            // `grant_type` in the form body (RFC 6749 §4.4.2) and in the query string (SATUSEHAT).
            body: Array("grant_type=client_credentials&client_id=\(encode(clientID))&client_secret=\(encode(secret))".utf8), timeout: timeout)
        let answer = try await transport.send(call)
        fetches += 1
        let now = clock.now()
        if (300..<400).contains(answer.status) || answer.status == 511
            || ((200..<300).contains(answer.status) && (try? JSON.parse(bytes: answer.body))?["access_token"] == nil) {
            // A captive portal's page or redirect: the link is not really up.
            throw TransportFailure(kind: .notTheReceiver, code: answer.status,
                                   message: "captive portal or proxy answered for the token endpoint: \(answer.status) \(answer.headers["content-type"] ?? "")")
        }
        guard answer.status == 200, let json = try? JSON.parse(bytes: answer.body),
            let token = json["access_token"]?.stringValue, !token.isEmpty
        else {
            let wait = answer.retryAfter ?? 60
            if [400, 401, 403, 429].contains(answer.status) {
                blockedUntil = now.addingTimeInterval(wait)
                blockRefused = answer.status != 429
            }
            throw AuthError(message: "the token endpoint answered \(answer.status): \(answer.text.prefix(300))",
                            retryAt: blockedUntil, refused: (400..<500).contains(answer.status) && answer.status != 429)
        }
        // SATUSEHAT sends every field as a string ("3599"); accept numbers too.
        // A lifetime that is not a number from 1 s to a day is not believed: the token is
        // used for the default hour and asked for again when the server refuses it.
        let stated = Double(json["expires_in"]?.stringValue ?? json["expires_in"]?.numberText ?? "") ?? 3600
        let lifetime = stated.isFinite && (1...86_400).contains(stated) ? stated : 3600
        let margin = min(300, lifetime / 10)
        current = (token, now.addingTimeInterval(lifetime - margin))
        return token
    }
}
