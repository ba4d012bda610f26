import Foundation
import SehatSupport
import SehatBench
import SehatSandbox
import SehatSync

/// `sehat sandbox`: the SATUSEHAT stand-in in the foreground.
enum SandboxCommand {
    static let sandbox = Command(
        words: ["sandbox"],
        summary: "Run the SATUSEHAT sandbox (and the emergency service) on 127.0.0.1 until Ctrl-C.",
        options: [
            OptionSpec(name: "port", value: "P", help: "Port to listen on (default: any free port)"),
            OptionSpec(name: "mode", value: "satusehat|fhir", help: "SATUSEHAT's rules (default) or a plain FHIR R4 server"),
            OptionSpec(name: "seed", value: "FILE", help: "A JSON array of resources present from the start (Patients and Practitioners by NIK, …)"),
            OptionSpec(name: "patients", value: "NIK,…", help: "Patients known by NIK"),
            OptionSpec(name: "practitioners", value: "NIK,…", help: "Practitioners known by NIK"),
            OptionSpec(name: "client-id", value: "ID", help: "The client id it accepts (default sandbox-client)"),
            OptionSpec(name: "client-secret", value: "SECRET", help: "The client secret it accepts (default sandbox-secret)"),
            OptionSpec(name: "org-id", value: "ID", help: "The Organization the client is bound to (default 10000004)"),
            OptionSpec(name: "token-ttl", value: "S", help: "Token lifetime in seconds (default 3599)"),
            OptionSpec(name: "oauth", value: "satusehat|standard", help: "Token endpoint: SATUSEHAT's (grant_type in the query) or RFC 6749's (in the form body)"),
            OptionSpec(name: "registry", value: "N", help: "Serve a generated workforce registry of N practitioners as KKI and SISDMK (default 0)"),
            OptionSpec(name: "registry-bad", value: "RATE", help: "Share of registry rows served malformed, 0-1 (default 0)"),
            OptionSpec(name: "admin-token", value: "TOKEN", help: "The token /admin/* requires (default: a fresh random one, printed at start)"),
            OptionSpec(name: "idle-timeout", value: "S", help: "Seconds an idle connection stays open (default 30)"),
            OptionSpec(name: "faults", value: "SPEC", help: "Faults to inject, e.g. 500=0.05,503=0.05,429=0.05,drop=0.02,commit-drop=0.02,latency=50 (rule-array=200: refusals as SATUSEHAT's rule-violation arrays; ratelimit=N[,ratelimit-window=S]: a budget of N FHIR requests per S seconds, said in X-RateLimit-* headers, 429 once spent; captive=200|302: a login page in front)"),
        ],
        details: """
            The admin API needs the token printed at start:
              curl -H "Authorization: Bearer TOKEN" -X POST --data '503=0.2' http://127.0.0.1:PORT/admin/faults
            Read its state: GET /admin/state, /admin/resources?type=Encounter, /admin/requests; POST /admin/expire-tokens.
            Change the registry between pulls: POST /admin/registry {"op": "add", "count": N} | {"op": "change", "nik": …, "str_status": …} |
            {"op": "break", "nik": …}. The fault plan applies to KKI and SISDMK too.
            It keeps the last 100,000 requests (bodies are not kept), serves at most 256 connections at once,
            and refuses bodies over 64 MiB.
            """
    ) { invocation in
        var configuration = Sandbox.Configuration()
        configuration.port = UInt16(try invocation.int("port", default: 0, range: 0...65_535) ?? 0)
        configuration.mode = try invocation.choice("mode", Sandbox.Mode.self) ?? .satusehat
        configuration.tokenTTL = try invocation.int("token-ttl", default: 3599, range: 1...86_400) ?? 3599
        configuration.oauth = try invocation.choice("oauth", Sandbox.OAuthStyle.self) ?? .satusehat
        configuration.clients = [Sandbox.Client(clientID: invocation.value("client-id") ?? "sandbox-client",
                                                secret: invocation.value("client-secret") ?? "sandbox-secret",
                                                orgID: invocation.value("org-id") ?? SampleClinic.orgID)]
        if let spec = invocation.value("faults") { configuration.faults = try FaultPlan(spec: spec) }
        if let token = invocation.value("admin-token") {
            guard token.count >= 16, token.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "-._~".contains($0)) }) else {
                throw UsageError(message: "--admin-token must be at least 16 letters, digits or -._~", command: nil)
            }
            configuration.adminToken = token
        }
        configuration.limits.idleSeconds = try invocation.int("idle-timeout", default: 30, range: 1...3600) ?? 30
        configuration.registry.people = try invocation.int("registry", default: 0, range: 0...10_000_000) ?? 0
        configuration.registry.badRowRate = try invocation.double("registry-bad", range: 0...1) ?? 0
        if let path = invocation.value("seed") {
            guard let list = try JSON.parse(readDocument(path, maxBytes: InputLimits.bundleBytes)).arrayValue else { throw FieldError("seed", "\(path) must hold a JSON array of resources") }
            configuration.resources += list
        }
        for (option, type) in [("patients", "Patient"), ("practitioners", "Practitioner")] {
            for nik in (invocation.value(option) ?? "").split(separator: ",").map(String.init) {
                try SatusehatRules.checkNIK(nik, field: option)
                configuration.resources.append(Sandbox.person(type, nik: nik, name: "\(type) \(nik.suffix(4))"))
            }
        }
        let sandbox = try Sandbox(configuration: configuration)
        Output.line("SATUSEHAT sandbox (\(configuration.mode.rawValue) mode) listening on 127.0.0.1:\(sandbox.port)")
        Output.line("  FHIR base:       \(sandbox.fhirBaseURL)")
        Output.line("  token endpoint:  \(sandbox.authURL)")
        Output.line("  emergency root:  \(sandbox.emergencyURL)")
        Output.line("  KKI:             \(sandbox.kkiURL)   (token: \(sandbox.kkiURL)/oauth/token; \(configuration.registry.people) practitioners)")
        Output.line("  SISDMK:          \(sandbox.sisdmkURL)   (token: \(sandbox.sisdmkURL)/oauth/token)")
        Output.line("  admin:           \(sandbox.rootURL)/admin/state")
        Output.line("  admin token:     \(sandbox.adminToken)   (Authorization: Bearer …)")
        Output.line("  client:          \(configuration.clients[0].clientID) / org \(configuration.clients[0].orgID); faults: \(configuration.faults)")
        let signal = waitForTerminationSignal()
        sandbox.stop()
        Output.note("stopped (signal \(signal))")
        return 0
    }
}
