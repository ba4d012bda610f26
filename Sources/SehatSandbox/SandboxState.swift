import Foundation
import SehatJSON

/// Everything the sandbox knows, mutated only under its lock (one request at a time, which
/// also makes every transaction bundle trivially atomic).
struct SandboxState {
    static let fhirPrefix = "/fhir-r4/v1"
    static let tokenPath = "/oauth2/v1/accesstoken"

    let mode: Sandbox.Mode
    let clients: [String: Sandbox.Client]
    let tokenTTL: Int
    let oauth: Sandbox.OAuthStyle
    let lockout: TimeInterval
    let now: @Sendable () -> Date
    let keepBodies: Bool
    let requestLogLimit: Int
    let unknownCodes: Set<String>
    var faults: FaultPlan
    var random: SeededGenerator
    var rootURL = ""
    var store: SandboxStore
    var tokens: [String: (client: String, expires: Date)] = [:]
    var lockedUntil: [String: Date] = [:]
    var log: [RequestRecord] = []
    /// Emergency notifications by `event_id`, and their arrival order.
    var emergencyEvents: [String: JSON] = [:]
    var emergencyOrder: [String] = []
    var emergencyStatusUpdates: [(String, JSON)] = []
    /// References to resources the server did not have, seen in any request (refused or not).
    var referenceViolations: [String] = []
    /// The health-workforce registry served as KKI and SISDMK.
    var workforce: WorkforceRegistry
    /// The current rate-limit window (`ratelimit=N`): when it resets, and what is left of it.
    var rateWindow: (resetAt: Date, remaining: Int)?

    init(configuration: Sandbox.Configuration) throws {
        mode = configuration.mode
        clients = Dictionary(configuration.clients.map { ($0.clientID, $0) }, uniquingKeysWith: { $1 })
        tokenTTL = configuration.tokenTTL
        oauth = configuration.oauth
        lockout = configuration.lockout
        now = configuration.now
        keepBodies = configuration.keepBodies
        requestLogLimit = max(1, configuration.requestLogLimit)
        store = try SandboxStore(storage: configuration.storage)
        unknownCodes = configuration.unknownCodes
        faults = configuration.faults
        workforce = WorkforceRegistry(configuration.registry)
        random = SeededGenerator(seed: configuration.randomSeed)
        for org in Set(configuration.clients.map(\.orgID)) {
            store.put("Organization", org, .obj(["resourceType": "Organization", "id": .string(org), "active": true,
                                                 "name": .string("Organization \(org)")]), version: 1)
        }
        try seed(configuration.resources)
    }

    // MARK: Seeding and admin

    mutating func seed(_ resources: [JSON]) throws {
        for resource in resources {
            guard let type = resource["resourceType"]?.stringValue else { throw SeedError(reason: "a seed resource has no resourceType") }
            let id = resource["id"]?.stringValue ?? newID(for: type)
            var json = resource
            json["id"] = .string(id)
            store.put(type, id, stamped(json, version: 1), version: 1)
        }
    }

    func allResources(ofType type: String?) -> [JSON] {
        store.ids(ofType: type).compactMap { store.read($0.type, $0.id)?.json }
    }

    mutating func expireTokens() {
        let past = now().addingTimeInterval(-1)
        for key in tokens.keys { tokens[key]?.expires = past }
    }

    mutating func admin(_ request: HTTPRequest) -> HTTPResponse {
        switch (request.method, request.path) {
        case ("GET", "/admin/state"):
            return .json(200, JSON.obj([
                "mode": .string(mode.rawValue), "faults": .string(faults.description),
                "counts": .object(store.counts.sorted { $0.key < $1.key }.map { JSON.Member($0.key, .int($0.value)) }),
                "requests": .int(log.count),
            ]).prettyText, contentType: "application/json")
        case ("GET", "/admin/resources"):
            return .json(200, JSON.array(allResources(ofType: request.queryValue("type"))).text, contentType: "application/json")
        case ("GET", "/admin/requests"):
            return .json(200, JSON.array(log.map { record in
                .obj(["method": .string(record.method), "path": .string(record.path), "query": .string(record.query),
                      "status": record.status.map(JSON.int) ?? .null, "request_id": record.requestID.map(JSON.string) ?? .null,
                      "fault": .string(record.fault)])
            }).text, contentType: "application/json")
        case ("GET", "/admin/faults"):
            return .text(200, faults.description)
        case ("POST", "/admin/faults"):
            do {
                faults = try FaultPlan(spec: request.bodyText)
                return .text(200, faults.description)
            } catch {
                return .text(400, "\(error)")
            }
        case ("POST", "/admin/expire-tokens"):
            expireTokens()
            return .text(200, "expired \(tokens.count) tokens")
        case ("POST", "/admin/registry"):
            do {
                return .text(200, try workforce.apply(admin: try JSON.parse(bytes: request.body), now: now()))
            } catch {
                return .text(400, "\(error)")
            }
        case ("POST", "/admin/seed"):
            do {
                guard let list = try JSON.parse(bytes: request.body).arrayValue else { return .text(400, "expected a JSON array of resources") }
                try seed(list)
                return .text(200, "seeded \(list.count) resources")
            } catch {
                return .text(400, "\(error)")
            }
        default:
            return .text(404, "admin endpoints: GET /admin/state, /admin/resources[?type=T], /admin/requests, /admin/faults; POST /admin/faults, /admin/expire-tokens, /admin/seed, /admin/registry")
        }
    }

    // MARK: Captive portal

    /// A Wi-Fi login page in front of everything (the `captive` fault): logged, never served
    /// by the sandbox itself.
    mutating func captivePortal(_ request: HTTPRequest) -> HTTPResponse? {
        guard faults.captiveStatus != 0 else { return nil }
        logRequest(request, status: faults.captiveStatus, fault: "captive", withBody: false)
        let page = "<html><head><title>WiFi.id</title></head><body><form action=\"/login\">Masuk untuk melanjutkan</form></body></html>"
        if faults.captiveStatus == 302 {
            return HTTPResponse(status: 302, headers: [("Location", "http://login.portal.invalid/?continue=\(request.path)"),
                                                      ("Content-Type", "text/html")], body: Array(page.utf8))
        }
        return HTTPResponse(status: 200, headers: [("Content-Type", "text/html; charset=utf-8")], body: Array(page.utf8))
    }

    // MARK: OAuth2

    /// The token endpoint; `style` overrides the configured one (the registry sources speak RFC 6749).
    mutating func token(_ request: HTTPRequest, style: Sandbox.OAuthStyle? = nil) -> HTTPResponse {
        let oauth = style ?? self.oauth
        let form = Dictionary(request.bodyText.split(separator: "&").map { pair -> (String, String) in
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            return (String(parts[0]).queryDecoded, parts.count > 1 ? String(parts[1]).queryDecoded : "")
        }, uniquingKeysWith: { $1 })
        let grant = oauth == .standard ? form["grant_type"] : request.queryValue("grant_type")
        guard request.method == "POST", grant == "client_credentials" else {
            if oauth == .standard {
                return .json(400, #"{"error":"unsupported_grant_type","error_description":"grant_type must be client_credentials, in the form body"}"#,
                             contentType: "application/json")
            }
            return .json(400, OperationOutcome.json([Issue(code: "invalid", text: "grant_type must be client_credentials", severity: "invalid")]).text)
        }
        let clientID = form["client_id"] ?? ""
        let time = now()
        if let until = lockedUntil[clientID], time < until {
            let wait = Int(until.timeIntervalSince(time).rounded(.up))
            recordAuth(request, status: 429)
            return .json(429, OperationOutcome.json([Issue(code: "throttled", text: "Too many failed attempts: try again in \(wait) s", severity: "invalid")]).text,
                         headers: [("Retry-After", String(wait))])
        }
        guard let client = clients[clientID], client.secret == form["client_secret"] else {
            lockedUntil[clientID] = time.addingTimeInterval(lockout)
            recordAuth(request, status: 401)
            if oauth == .standard { return .json(401, #"{"error":"invalid_client"}"#, contentType: "application/json") }
            return .json(401, OperationOutcome.json([Issue(code: "invalid", text: "Invalid client credentials", severity: "invalid")]).text)
        }
        let token = randomToken()
        tokens[token] = (clientID, time.addingTimeInterval(TimeInterval(tokenTTL)))
        recordAuth(request, status: 200)
        if oauth == .standard {
            return .json(200, JSON.obj(["access_token": .string(token), "token_type": "bearer", "expires_in": .int(tokenTTL)]).text,
                         contentType: "application/json")
        }
        return .json(200, JSON.obj([
            "refresh_token_expires_in": "0", "api_product_list": "[api-satusehat-sandbox]", "organization_name": .string("Organization \(client.orgID)"),
            "developer.email": "sandbox@localhost", "token_type": "BearerToken",
            "issued_at": .string(String(Int64(time.timeIntervalSince1970 * 1000))), "client_id": .string(clientID),
            "access_token": .string(token), "application_name": "sehat-sandbox", "scope": "", "expires_in": .string(String(tokenTTL)),
            "refresh_count": "0", "status": "approved",
        ]).text, contentType: "application/json")
    }

    private mutating func recordAuth(_ request: HTTPRequest, status: Int) {
        logRequest(request, status: status, fault: "pass", withBody: false)
    }

    private mutating func randomToken() -> String {
        (0..<4).map { _ in String(random.next(), radix: 36) }.joined()
    }

    // MARK: Faults

    mutating func drawFault() -> (FaultPlan.Decision, Int) {
        guard !faults.isQuiet else { return (.pass, 0) }
        let draw = Double(random.next() >> 11) / Double(1 << 53)
        return (faults.decide(draw), faults.latencyMilliseconds)
    }

    // MARK: Ids and metadata

    mutating func newID(for type: String) -> String {
        switch type {
        case "Patient": return "P" + String(format: "%011llu", random.next() % 100_000_000_000)
        case "Practitioner": return "1000" + String(format: "%07llu", random.next() % 10_000_000)
        default:
            var bytes = (0..<16).map { _ in UInt8(truncatingIfNeeded: random.next()) }
            bytes[6] = (bytes[6] & 0x0F) | 0x40
            bytes[8] = (bytes[8] & 0x3F) | 0x80
            let digits = Array("0123456789abcdef".utf8)
            let hex = String(decoding: bytes.flatMap { [digits[Int($0 >> 4)], digits[Int($0 & 0x0F)]] }, as: UTF8.self)
            let parts = [hex.prefix(8), hex.dropFirst(8).prefix(4), hex.dropFirst(12).prefix(4), hex.dropFirst(16).prefix(4), hex.dropFirst(20)]
            return parts.joined(separator: "-")
        }
    }

    /// The resource with `id` first and `meta.versionId` / `meta.lastUpdated` set (tags kept).
    func stamped(_ json: JSON, version: Int) -> JSON {
        var meta = json["meta"] ?? .object([])
        meta["versionId"] = .string(String(version))
        meta["lastUpdated"] = .string(SatusehatRuleBook.stamp(now()))
        var members: [JSON.Member] = [JSON.Member("resourceType", json["resourceType"] ?? .null)]
        if let id = json["id"] { members.append(JSON.Member("id", id)) }
        members.append(JSON.Member("meta", meta))
        members += (json.members ?? []).filter { !["resourceType", "id", "meta"].contains($0.key) }
        return .object(members)
    }
}

struct SeedError: Error, CustomStringConvertible {
    let reason: String
    var description: String { "seed: \(reason)" }
}
