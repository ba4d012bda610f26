import SehatSupport
import Foundation
import SehatJSON

/// A stand-in for SATUSEHAT on 127.0.0.1, as faithful as SATUSEHAT.md allows: OAuth2 client
/// credentials with string-valued fields and a lock-out after bad credentials; FHIR create,
/// read, update, search and atomic transaction bundles under `/fhir-r4/v1`; the platform's
/// rules (existing references, duplicate identifiers, RuleNumber 10117, Encounter fields,
/// UTC date-times); fault injection; and an admin API for tests.
///
///     let sandbox = try Sandbox(configuration: .init())
///     print(sandbox.fhirBaseURL)   // http://127.0.0.1:PORT/fhir-r4/v1
///     sandbox.stop()
public final class Sandbox: Sendable {
    /// `satusehat` enforces SATUSEHAT's extra rules; `fhir` is a plain FHIR R4 server: same
    /// auth, ids, references and transactions, no identifier-system, statusHistory or date
    /// rules, and no duplicate rejection.
    public enum Mode: String, Sendable, CaseIterable {
        case satusehat
        case fhir
    }

    /// How a token endpoint expects to be asked and answers.
    public enum OAuthStyle: String, Sendable, CaseIterable {
        /// SATUSEHAT's gateway: `?grant_type=client_credentials`, string fields.
        case satusehat
        /// RFC 6749 §4.4: `grant_type` in the form body, a standard JSON answer.
        case standard
    }

    /// A registered client: its credentials and the Organization they are bound to.
    public struct Client: Sendable {
        /// The OAuth2 client id.
        public var clientID: String
        /// Its secret.
        public var secret: String
        /// The organization it is bound to.
        public var orgID: String
        /// A client the token endpoint accepts.
        public init(clientID: String, secret: String, orgID: String) {
            (self.clientID, self.secret, self.orgID) = (clientID, secret, orgID)
        }
    }

    /// Where the sandbox keeps resources.
    public enum Storage: Sendable, Equatable {
        /// Parsed, in memory: the fastest, and as big as what it was sent.
        case memory
        /// In a temporary SQLite file in `directory` (the system's temporary folder when nil),
        /// deleted when the sandbox goes: memory stays flat however many resources arrive.
        case disk(directory: String?)
    }

    /// How the sandbox behaves.
    public struct Configuration: Sendable {
        /// SATUSEHAT rules, or a plain FHIR server.
        public var mode: Mode = .satusehat
        /// The port (0: ephemeral).
        public var port: UInt16 = 0
        /// Clients the token endpoint accepts.
        public var clients = [Client(clientID: "sandbox-client", secret: "sandbox-secret", orgID: "10000004")]
        /// Seconds a token lives (`expires_in`).
        public var tokenTTL: Int = 3599
        /// How the token endpoint behaves: SATUSEHAT's way (`grant_type` in the query string,
        /// every field a string) or RFC 6749's (`grant_type` in the form body, `expires_in` a
        /// number, `{"error": …}` refusals).
        public var oauth: OAuthStyle = .satusehat
        /// Seconds a client waits after bad credentials before it may ask again.
        public var lockout: TimeInterval = 60
        /// Faults injected into answers.
        public var faults = FaultPlan()
        /// Seed for the fault draws, so a run can be replayed.
        public var randomSeed: UInt64 = 119
        /// Resources present from the start (Patients and Practitioners by NIK, seed data).
        public var resources: [JSON] = []
        /// Keep the body of every FHIR request received (for tests that validate what was sent).
        public var keepBodies = false
        /// The token `/admin/*` requires (`Authorization: Bearer TOKEN`); a fresh random one
        /// unless set. `sehat sandbox` prints it at start.
        public var adminToken = Sandbox.randomAdminToken()
        /// The most requests the log keeps; older ones are forgotten first.
        public var requestLogLimit = 100_000
        /// Where it keeps what it is sent: in memory, or in a temporary file for a run that
        /// sends more than memory should hold.
        public var storage = Storage.memory
        /// Connection limits: idle timeout, connections at once, request sizes.
        public var limits = HTTPServer.Limits()
        /// Codes its terminology does not know (a KFA code, an ICD-10 code…): a resource coding
        /// one of them is refused, as SATUSEHAT refuses an unknown KFA code.
        public var unknownCodes: Set<String> = []
        /// The workforce registry served as KKI (`/kki`) and SISDMK (`/sisdmk`).
        public var registry = WorkforceRegistry.Configuration()
        /// The sandbox's clock (date-time rules, token expiry, lock-outs).
        public var now: @Sendable () -> Date = { Date() }
        /// The defaults.
        public init() {}
    }

    private let server: HTTPServer
    private let state: Locked<SandboxState>
    /// Which rules it judges by.
    public let mode: Mode
    /// The token its admin API requires (`Authorization: Bearer …`).
    public let adminToken: String

    /// The port it listens on.
    public var port: UInt16 { server.port }
    /// Its root URL.
    public var rootURL: String { "http://127.0.0.1:\(port)" }
    /// The FHIR base (`…/fhir-r4/v1`).
    public var fhirBaseURL: String { rootURL + SandboxState.fhirPrefix }
    /// The token endpoint.
    public var authURL: String { rootURL + SandboxState.tokenPath }
    /// The emergency service's API root (`POST {root}/api/emergency/notify`).
    public var emergencyURL: String { rootURL }

    /// Starts a sandbox on loopback.
    public init(configuration: Configuration) throws {
        let state = Locked(try SandboxState(configuration: configuration))
        self.state = state
        self.mode = configuration.mode
        let token = configuration.adminToken
        self.adminToken = token
        server = try HTTPServer(port: configuration.port, limits: configuration.limits, gate: { head in Sandbox.admit(head, adminToken: token) }) { request in
            Sandbox.handle(request, state: state)
        }
        let base = rootURL
        state.withLock { $0.rootURL = base }
    }

    /// Stops it.
    /// Stops it; a scratch file it kept resources in (`Storage.disk`) is removed now, not
    /// when the server's last thread lets go of it.
    public func stop() {
        server.stop()
        state.withLock { $0.store.discardScratch() }
    }

    // MARK: What tests and testers read and change

    /// Every stored resource of a type (all types when nil), in creation order.
    public func resources(ofType type: String? = nil) -> [JSON] {
        state.withLock { $0.allResources(ofType: type) }
    }

    /// Resource counts by type.
    public func counts() -> [String: Int] { state.withLock { $0.store.counts } }

    /// Every request received, in order.
    public func requestLog() -> [RequestRecord] { state.withLock { $0.log } }

    /// Emergency notifications received, once each, in arrival order.
    public func emergencyNotifications() -> [JSON] { state.withLock { s in s.emergencyOrder.compactMap { s.emergencyEvents[$0] } } }

    /// Status updates received (`PUT /api/emergency/{id}/status`): the id and the body.
    public func emergencyStatusUpdates() -> [(String, JSON)] { state.withLock { $0.emergencyStatusUpdates } }

    /// Every reference to a resource the server did not have, seen in any request.
    public func referenceViolations() -> [String] { state.withLock { $0.referenceViolations } }

    /// Replaces the fault plan.
    public func setFaults(_ faults: FaultPlan) { state.withLock { $0.faults = faults } }
    /// The fault plan.
    public func faults() -> FaultPlan { state.withLock { $0.faults } }

    /// The KKI API root (`{root}/kki`: `/practitioners`, `/oauth/token`).
    public var kkiURL: String { rootURL + SandboxState.kkiPrefix }
    /// The SISDMK API root (`{root}/sisdmk`: `/tenaga-kesehatan`, `/oauth/token`).
    public var sisdmkURL: String { rootURL + SandboxState.sisdmkPrefix }

    /// The registry's people as the sandbox holds them.
    public func registryPeople() -> [WorkforceRegistry.Person] { state.withLock { $0.workforce.people } }

    /// Changes the registry between pulls (add, change or break people).
    public func changeRegistry(_ body: (inout WorkforceRegistry, Date) -> Void) {
        state.withLock { state in body(&state.workforce, state.now()) }
    }

    /// Someone else's update of a stored resource (another system, another clinic): the change
    /// applied and its version bumped, as a PUT by another client would. Returns the new
    /// version, or nil when there is no such resource.
    @discardableResult
    public func changeResource(_ type: String, _ id: String, _ change: (inout JSON) -> Void) -> Int? {
        state.withLock { state in
            guard let stored = state.store.read(type, id) else { return nil }
            var json = stored.json
            change(&json)
            state.store.put(type, id, state.stamped(json, version: stored.version + 1), version: stored.version + 1)
            return stored.version + 1
        }
    }

    /// Expires every token now: the next FHIR call answers 401.
    public func expireTokens() { state.withLock { $0.expireTokens() } }

    /// Adds resources (keeping their ids when they have one).
    public func seed(_ resources: [JSON]) throws { try state.withLock { try $0.seed(resources) } }

    /// A Patient or Practitioner known by NIK, for seeding.
    ///
    ///     Sandbox.person("Patient", nik: "3171022309900001", name: "Budi Santoso")
    public static func person(_ type: String, nik: String, name: String, id: String? = nil) -> JSON {
        .obj([
            "resourceType": .string(type), "id": id.map(JSON.string),
            "identifier": [.obj(["system": .string("https://fhir.kemkes.go.id/id/nik"), "value": .string(nik)])],
            "active": true, "name": [.obj(["text": .string(name)])],
        ])
    }

    /// A fresh admin token: 128 random bits in hex.
    public static func randomAdminToken() -> String {
        var generator = SystemRandomNumberGenerator()
        return (0..<2).map { _ in String(format: "%016llx", generator.next() as UInt64) }.joined()
    }

    // MARK: Routing

    /// The admin API answers only its token, checked before a body is read: an unauthenticated
    /// client cannot make the sandbox hold its upload, nor change its faults.
    static func admit(_ head: HTTPRequestParser.Head, adminToken: String) -> HTTPResponse? {
        guard head.path.hasPrefix("/admin/") || head.path == "/admin" else { return nil }
        guard let given = head.headers["authorization"], given == "Bearer " + adminToken else {
            return .text(401, "the admin API needs the token printed when the sandbox started: Authorization: Bearer TOKEN",
                         headers: [("WWW-Authenticate", "Bearer realm=\"sandbox-admin\"")])
        }
        return nil
    }

    static func handle(_ request: HTTPRequest, state: Locked<SandboxState>) -> HTTPDisposition {
        if request.path.hasPrefix("/admin/") { return .respond(state.withLock { $0.admin(request) }) }
        if let portal = state.withLock({ $0.captivePortal(request) }) { return .respond(portal) }
        if request.path == SandboxState.tokenPath { return .respond(state.withLock { $0.token(request) }) }
        // The APIs the fault plan applies to, each with its handler.
        let serve: (inout SandboxState, FaultPlan.Decision) -> HTTPDisposition
        if request.path == SandboxState.fhirPrefix || request.path.hasPrefix(SandboxState.fhirPrefix + "/") {
            serve = { $0.fhir(request, fault: $1) }
        } else if request.path.hasPrefix(SandboxState.emergencyPrefix) {
            serve = { $0.emergency(request, fault: $1) }
        } else if SandboxState.isRegistry(request.path) {
            serve = { $0.registry(request, fault: $1) }
        } else {
            return .respond(.text(404, "no such endpoint: \(request.method) \(request.path)"))
        }
        let (decision, latency) = state.withLock { $0.drawFault() }
        if latency > 0 { Thread.sleep(forTimeInterval: Double(latency) / 1000) }
        return state.withLock { serve(&$0, decision) }
    }
}

/// One request as the sandbox saw it.
public struct RequestRecord: Sendable {
    /// The request's method.
    public let method: String
    /// Its path.
    public let path: String
    /// Its query string.
    public let query: String
    /// The status answered (nil: none).
    public let status: Int?
    /// Its `X-Request-ID`.
    public let requestID: String?
    /// What the fault plan did: `pass`, `status`, `drop` or `commit-drop`.
    public let fault: String
    /// The request body, when the sandbox keeps bodies.
    public var body: String? = nil
    /// When it arrived, by the sandbox's clock.
    public var at: Date? = nil
    /// Its `If-Match` header (the version an update was based on), when it had one.
    public var ifMatch: String? = nil
}
