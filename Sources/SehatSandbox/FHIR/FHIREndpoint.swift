import Foundation
import SehatJSON

/// The `/fhir-r4/v1` API: authentication, faults, then create / read / update / search /
/// transaction with SATUSEHAT's rules.
extension SandboxState {
    mutating func fhir(_ request: HTTPRequest, fault: FaultPlan.Decision) -> HTTPDisposition {
        let client: Sandbox.Client
        switch authenticate(request) {
        case .failure(let refusal):
            logRequest(request, status: refusal.response.status, fault: "pass")
            return .respond(refusal.response)
        case .success(let found):
            client = found
        }
        guard faults.rateLimit > 0 else { return applying(fault, to: request) { $0.route(request, client: client) } }
        // The platform's own budget (seeds/000 §3.4): said on every answer, enforced with 429.
        let now = self.now()
        var window = rateWindow ?? (now.addingTimeInterval(Double(faults.rateLimitWindow)), faults.rateLimit)
        if window.resetAt <= now { window = (now.addingTimeInterval(Double(faults.rateLimitWindow)), faults.rateLimit) }
        let spent = window.remaining <= 0
        if !spent { window.remaining -= 1 }
        rateWindow = window
        let reset = String(Int64(window.resetAt.timeIntervalSince1970.rounded(.up)))
        let budget = [("X-RateLimit-Limit", String(faults.rateLimit)), ("X-RateLimit-Remaining", String(window.remaining)), ("X-RateLimit-Reset", reset)]
        if spent {
            logRequest(request, status: 429, fault: "ratelimit")
            let wait = max(1, Int(window.resetAt.timeIntervalSince(now).rounded(.up)))
            return .respond(.json(429, OperationOutcome.json([Issue(code: "throttled", text: "Rate limit exceeded")]).text,
                                  headers: [("Retry-After", String(wait))] + budget))
        }
        switch applying(fault, to: request, process: { $0.route(request, client: client) }) {
        case .respond(var response):
            response.headers += budget
            return .respond(response)
        case .drop:
            return .drop
        }
    }

    /// Runs `process` under the fault plan's decision and logs the request once: an injected
    /// status or a drop skips processing; commit-then-drop processes and then drops the answer.
    mutating func applying(_ fault: FaultPlan.Decision, to request: HTTPRequest, process: (inout SandboxState) -> HTTPResponse) -> HTTPDisposition {
        switch fault {
        case .status(let status):
            logRequest(request, status: status, fault: "status")
            return .respond(SandboxState.faultResponse(status, retryAfter: faults.retryAfterSeconds))
        case .drop:
            logRequest(request, status: nil, fault: "drop")
            return .drop
        case .pass, .commitThenDrop:
            let response = process(&self)
            logRequest(request, status: response.status, fault: fault == .commitThenDrop ? "commit-drop" : "pass")
            return fault == .commitThenDrop ? .drop : .respond(response)
        }
    }

    /// Logs a request; its body only when the sandbox keeps bodies and `withBody` (never the
    /// token endpoint's form, which carries the client secret).
    mutating func logRequest(_ request: HTTPRequest, status: Int?, fault: String, withBody: Bool = true) {
        log.append(RequestRecord(method: request.method, path: request.path,
                                 query: request.query.map { "\($0.name)=\($0.value)" }.joined(separator: "&"),
                                 status: status, requestID: request.headers["x-request-id"], fault: fault,
                                 body: keepBodies && withBody && !request.body.isEmpty ? request.bodyText : nil, at: now(),
                                 ifMatch: request.headers["if-match"]))
        // Bounded: past the limit the oldest tenth is forgotten at once (amortized O(1)).
        if log.count > requestLogLimit { log.removeFirst(max(1, log.count - requestLogLimit + requestLogLimit / 10)) }
    }

    func authenticate(_ request: HTTPRequest) -> Result<Sandbox.Client, Refusal> {
        func fault(_ text: String, _ code: String) -> Refusal {
            Refusal(response: .json(401, #"{"fault":{"faultstring":"\#(text)","detail":{"errorcode":"keymanagement.service.\#(code)"}}}"#,
                                        contentType: "application/json"))
        }
        guard let header = request.headers["authorization"], header.hasPrefix("Bearer ") else {
            return .failure(fault("Invalid Access Token", "invalid_access_token"))
        }
        guard let token = tokens[String(header.dropFirst(7))], let client = clients[token.client] else {
            return .failure(fault("Invalid Access Token", "invalid_access_token"))
        }
        guard now() < token.expires else { return .failure(fault("Access Token expired", "access_token_expired")) }
        return .success(client)
    }

    static func faultResponse(_ status: Int, retryAfter: Int) -> HTTPResponse {
        switch status {
        case 429:
            return .json(429, OperationOutcome.json([Issue(code: "throttled", text: "Too many requests")]).text,
                         headers: [("Retry-After", String(retryAfter))])
        case 500:
            return .json(500, OperationOutcome.json([Issue(code: "exception", text: "Internal server error")]).text)
        default:
            return .text(status, HTTPResponse.reason(status))
        }
    }

    // MARK: Routing

    mutating func route(_ request: HTTPRequest, client: Sandbox.Client) -> HTTPResponse {
        let parts = request.path.dropFirst(SandboxState.fhirPrefix.count).split(separator: "/").map(String.init)
        switch (request.method, parts.count) {
        case ("POST", 0): return transaction(request.body, client: client)
        case ("POST", 1): return create(parts[0], body: request.body, client: client)
        case ("GET", 1): return search(parts[0], request.query)
        case ("GET", 2), ("GET", 4): return read(parts[0], parts[1])
        case ("PUT", 2): return update(parts[0], parts[1], body: request.body, ifMatch: request.headers["if-match"], client: client)
        default: return outcome(405, [Issue(code: "not-supported", text: "\(request.method) \(request.path) is not supported")])
        }
    }

    /// A refusal: an OperationOutcome, or — when the fault plan asks for SATUSEHAT's other form —
    /// a bare array of rule violations with the plan's status (200 or 400).
    private func outcome(_ status: Int, _ issues: [Issue]) -> HTTPResponse {
        if faults.ruleArrayStatus > 0, status == 400 || status == 422 {
            return .json(faults.ruleArrayStatus, RuleViolations.json(issues).text, contentType: "application/json")
        }
        return .json(status, OperationOutcome.json(issues).text)
    }

    private func parse(_ body: [UInt8]) -> Result<JSON, Refusal> {
        do {
            return .success(try JSON.parse(bytes: body))
        } catch {
            return .failure(Refusal(response: outcome(400, [Issue(code: "structure", text: "\(error)")])))
        }
    }

    private func read(_ type: String, _ id: String) -> HTTPResponse {
        guard let stored = store.read(type, id) else { return outcome(404, [Issue(code: "not-found", text: "\(type)/\(id) not found")]) }
        return .json(200, stored.json.text, headers: headers(type, id, stored))
    }

    private func headers(_ type: String, _ id: String, _ stored: SandboxStore.Stored) -> [(String, String)] {
        [("Location", "\(rootURL)\(SandboxState.fhirPrefix)/\(type)/\(id)/_history/\(stored.version)"), ("ETag", "W/\"\(stored.version)\""),
         ("Last-Modified", stored.json.value(at: "meta.lastUpdated")?.stringValue ?? "")]
    }

    // MARK: Create and update

    private mutating func create(_ type: String, body: [UInt8], client: Sandbox.Client) -> HTTPResponse {
        var json: JSON
        switch parse(body) {
        case .failure(let failure): return failure.response
        case .success(let parsed): json = parsed
        }
        guard json["resourceType"]?.stringValue == type else {
            return outcome(400, [Issue(code: "invalid", text: "resourceType must be \(type)", expression: "resourceType")])
        }
        let id = newID(for: type)
        json["id"] = .string(id)
        var issues: [Issue] = []
        json = resolveConditional(json, issues: &issues)
        issues += validate(json, type: type, client: client, replacing: nil, bundle: BundleContext())
        guard issues.isEmpty else { return outcome(400, issues) }
        let stored = SandboxStore.Stored(json: stamped(json, version: 1), version: 1)
        store.put(type, id, stored.json, version: 1)
        return .json(201, stored.json.text, headers: headers(type, id, stored))
    }

    private mutating func update(_ type: String, _ id: String, body: [UInt8], ifMatch: String?, client: Sandbox.Client) -> HTTPResponse {
        var json: JSON
        switch parse(body) {
        case .failure(let failure): return failure.response
        case .success(let parsed): json = parsed
        }
        guard let old = store.read(type, id) else { return outcome(404, [Issue(code: "not-found", text: "\(type)/\(id) not found")]) }
        if let ifMatch, let conflict = SandboxState.versionConflict(ifMatch, current: old.version, at: "\(type)/\(id)") {
            return outcome(412, [conflict])
        }
        guard json["resourceType"]?.stringValue == type, json["id"]?.stringValue == id else {
            return outcome(400, [Issue(code: "invalid", text: "the body must be a \(type) with id \(id)", expression: "id")])
        }
        var issues: [Issue] = []
        json = resolveConditional(json, issues: &issues)
        issues += validate(json, type: type, client: client, replacing: old.json, bundle: BundleContext())
        guard issues.isEmpty else { return outcome(400, issues) }
        let stored = SandboxStore.Stored(json: stamped(json, version: old.version + 1), version: old.version + 1)
        store.put(type, id, stored.json, version: stored.version)
        return .json(200, stored.json.text, headers: headers(type, id, stored))
    }

    // MARK: Search

    private func search(_ type: String, _ query: [(name: String, value: String)]) -> HTTPResponse {
        var candidates: [String]? = nil
        func narrow(_ ids: [String]) { candidates = candidates.map { current in current.filter(ids.contains) } ?? ids }
        for (name, value) in query {
            switch name {
            case "identifier":
                if let bar = value.firstIndex(of: "|") {
                    narrow(store.ids(type: type, identifier: String(value[..<bar]), String(value[value.index(after: bar)...])))
                } else {
                    narrow(allIDs(type).filter { id in SandboxStore.identifiers(of: store.read(type, id)!.json).contains { $0.1 == value } })
                }
            case "_tag":
                let bar = value.firstIndex(of: "|")
                narrow(store.ids(type: type, tag: bar.map { String(value[..<$0]) } ?? "", bar.map { String(value[value.index(after: $0)...]) } ?? value))
            case "_id":
                narrow(store.exists(type, value) ? [value] : [])
            case "subject", "patient", "encounter":
                let element = name == "patient" ? "subject" : name
                let wanted = value.contains("/") ? value : (name == "encounter" ? "Encounter/\(value)" : value)
                narrow(allIDs(type).filter { id in
                    guard let reference = store.read(type, id)!.json.value(at: "\(element).reference")?.stringValue else { return false }
                    return reference == wanted || reference.hasSuffix("/\(value)")
                })
            case "_count", "_format":
                continue
            default:
                return outcome(400, [Issue(code: "not-supported", text: "search parameter \(name) is not supported by the sandbox")])
            }
        }
        let ids = candidates ?? allIDs(type)
        let bundle = JSON.obj([
            "resourceType": "Bundle", "type": "searchset", "total": .int(ids.count),
            "link": [.obj(["relation": "self", "url": .string("\(rootURL)\(SandboxState.fhirPrefix)/\(type)")])],
            "entry": ids.isEmpty ? nil : .array(ids.compactMap { id in
                store.read(type, id).map { stored in
                    .obj(["fullUrl": .string("\(rootURL)\(SandboxState.fhirPrefix)/\(type)/\(id)"), "resource": stored.json,
                          "search": .obj(["mode": "match"])])
                }
            }),
        ])
        return .json(200, bundle.text)
    }

    private func allIDs(_ type: String) -> [String] {
        store.ids(ofType: type).map(\.id)
    }

    // MARK: Transactions

    private mutating func transaction(_ body: [UInt8], client: Sandbox.Client) -> HTTPResponse {
        let bundle: JSON
        switch parse(body) {
        case .failure(let failure): return failure.response
        case .success(let parsed): bundle = parsed
        }
        if bundle["resourceType"]?.stringValue == "Bundle", bundle["type"]?.stringValue == "batch" { return batch(bundle) }
        guard bundle["resourceType"]?.stringValue == "Bundle", bundle["type"]?.stringValue == "transaction" else {
            return outcome(400, [Issue(code: "invalid", text: "POST to the base takes a Bundle of type transaction or batch", expression: "Bundle.type")])
        }
        let entries = bundle["entry"]?.arrayValue ?? []
        var context = BundleContext()
        var planned: [(method: String, type: String, id: String, json: JSON, ifMatch: String?)] = []
        var conflicts: [Issue] = []
        var issues: [Issue] = []
        // Ids first, so that entries may reference each other by urn:uuid.
        for (index, entry) in entries.enumerated() {
            let method = entry.value(at: "request.method")?.stringValue ?? ""
            let url = entry.value(at: "request.url")?.stringValue ?? ""
            let path = url.split(separator: "?")[0].split(separator: "/").map(String.init)
            guard let resource = entry["resource"], let type = resource["resourceType"]?.stringValue else {
                issues.append(Issue(code: "invalid", text: "entry \(index) has no resource", expression: "Bundle.entry[\(index)]"))
                continue
            }
            let id: String
            switch (method, path.count) {
            case ("POST", 1) where path[0] == type: id = newID(for: type)
            case ("PUT", 2) where path[0] == type: id = path[1]
            default:
                issues.append(Issue(code: "not-supported", text: "entry \(index): \(method) \(url) is not supported in a transaction",
                                    expression: "Bundle.entry[\(index)].request"))
                continue
            }
            if let fullUrl = entry["fullUrl"]?.stringValue { context.urls[fullUrl] = "\(type)/\(id)" }
            context.known.insert("\(type)/\(id)")
            planned.append((method, type, id, resource, entry.value(at: "request.ifMatch")?.stringValue))
        }
        guard issues.isEmpty else { return outcome(400, issues) }
        var resolved: [(method: String, type: String, id: String, json: JSON)] = []
        for (index, entry) in planned.enumerated() {
            var json = entry.json
            json["id"] = .string(entry.id)
            var entryIssues: [Issue] = []
            json = json.replacingReferences { text in
                guard case .urn(let urn) = ReferenceText(text) else { return nil }
                guard let target = context.urls[urn] else {
                    entryIssues.append(Issue(code: "not-found", text: "\(urn) is not the fullUrl of any entry", expression: "Bundle.entry[\(index)]"))
                    return nil
                }
                return target
            }
            json = resolveConditional(json, issues: &entryIssues)
            let current = entry.method == "PUT" ? store.read(entry.type, entry.id) : nil
            let old = current?.json
            if entry.method == "PUT", old == nil {
                entryIssues.append(Issue(code: "not-found", text: "\(entry.type)/\(entry.id) not found"))
            }
            if let ifMatch = entry.ifMatch, let current, let conflict = SandboxState.versionConflict(ifMatch, current: current.version, at: "\(entry.type)/\(entry.id)") {
                conflicts.append(conflict)
            }
            entryIssues += validate(json, type: entry.type, client: client, replacing: old, bundle: context)
            issues += entryIssues.map { issue in
                var issue = issue
                issue.expression = "Bundle.entry[\(index)].resource" + (issue.expression.map { "." + $0 } ?? "")
                return issue
            }
            for (system, value) in SandboxStore.identifiers(of: json) { context.identifiers.insert("\(entry.type)|\(system)|\(value)") }
            resolved.append((entry.method, entry.type, entry.id, json))
        }
        // Atomic: one bad entry rejects the whole bundle, with a top-level OperationOutcome;
        // a version conflict is a 412 for the whole bundle.
        guard conflicts.isEmpty else { return outcome(412, conflicts) }
        guard issues.isEmpty else { return outcome(400, issues) }
        var responses: [JSON] = []
        for entry in resolved {
            let version = (store.read(entry.type, entry.id)?.version ?? 0) + 1
            let json = stamped(entry.json, version: version)
            store.put(entry.type, entry.id, json, version: version)
            responses.append(.obj([
                "response": .obj([
                    "status": .string(entry.method == "POST" ? "201 Created" : "200 OK"),
                    "location": .string("\(entry.type)/\(entry.id)/_history/\(version)"), "etag": .string("W/\"\(version)\""),
                    "lastModified": json.value(at: "meta.lastUpdated") ?? .null,
                    "resourceType": .string(entry.type), "resourceID": .string(entry.id),
                ]),
            ]))
        }
        return .json(200, JSON.obj(["resourceType": "Bundle", "type": "transaction-response", "entry": .array(responses)]).text)
    }

    /// A batch of searches (`GET Type?params` entries): each answered on its own, in a
    /// `batch-response` whose entries carry the searchset or the refusal. The sandbox takes
    /// only searches in a batch; anything else is refused as a whole.
    private func batch(_ bundle: JSON) -> HTTPResponse {
        let entries = bundle["entry"]?.arrayValue ?? []
        var answers: [JSON] = []
        for (index, entry) in entries.enumerated() {
            let url = entry.value(at: "request.url")?.stringValue ?? ""
            guard entry.value(at: "request.method")?.stringValue == "GET",
                let type = url.split(separator: "?", maxSplits: 1).first.map(String.init), !type.contains("/"), !type.isEmpty
            else {
                return outcome(400, [Issue(code: "not-supported", text: "entry \(index): the sandbox takes only searches (GET Type?…) in a batch",
                                           expression: "Bundle.entry[\(index)].request")])
            }
            let queryText = url.split(separator: "?", maxSplits: 1).dropFirst().first.map(String.init) ?? ""
            let query = queryText.split(separator: "&").map { pair -> (name: String, value: String) in
                let parts = pair.split(separator: "=", maxSplits: 1)
                return (String(parts[0]).queryDecoded, parts.count > 1 ? String(parts[1]).queryDecoded : "")
            }
            let answer = search(type, query)
            let json = (try? JSON.parse(bytes: answer.body)) ?? .null
            answers.append(.obj(["resource": json, "response": .obj(["status": .string("\(answer.status) \(HTTPResponse.reason(answer.status))")])]))
        }
        return .json(200, JSON.obj(["resourceType": "Bundle", "type": "batch-response", "entry": .array(answers)]).text)
    }

    // MARK: Rules

    /// An `If-Match` (`W/"3"` or `"3"`) that does not name the current version: someone else
    /// changed the resource since the client read it.
    static func versionConflict(_ ifMatch: String, current: Int, at what: String) -> Issue? {
        var text = ifMatch.trimmingCharacters(in: .whitespaces)
        if text.hasPrefix("W/") { text.removeFirst(2) }
        text = text.trimmingCharacters(in: CharacterSet(charactersIn: "\""))
        guard text != String(current) else { return nil }
        return Issue(code: "conflict", text: "\(what) is at version \(current), not \(ifMatch) (If-Match): it changed since it was read")
    }

    /// Resolves `Type?identifier=system|value` references by search (exactly one match).
    private func resolveConditional(_ json: JSON, issues: inout [Issue]) -> JSON {
        let store = self.store  // the closure captures the store alone, not the whole state (a copy per call showed in profiles)
        return json.replacingReferences { reference in
            guard case .search(let type, let system, let value) = ReferenceText(reference) else { return nil }
            guard let value else {
                issues.append(Issue(code: "not-supported", text: "conditional reference \(reference) must search by identifier"))
                return nil
            }
            let matches = store.ids(type: type, identifier: system ?? "", value)
            guard matches.count == 1 else {
                issues.append(Issue(code: matches.isEmpty ? "not-found" : "multiple-matches",
                                    text: "conditional reference \(reference) matched \(matches.count) resources"))
                return nil
            }
            return "\(type)/\(matches[0])"
        }
    }

    /// Every rule a stored resource must pass; `replacing` is the current version on update.
    private mutating func validate(_ json: JSON, type: String, client: Sandbox.Client, replacing old: JSON?, bundle: BundleContext) -> [Issue] {
        var issues: [Issue] = []
        for coding in json["code"]?["coding"]?.arrayValue ?? [] {
            if let code = coding["code"]?.stringValue, unknownCodes.contains(code) {
                issues.append(Issue(code: "code-invalid", text: "\(type).code: \(code) (\(coding["system"]?.stringValue ?? "")) is not a known code", expression: "code"))
            }
        }
        let id = json["id"]?.stringValue ?? ""
        for site in json.referenceTexts() {
            switch ReferenceText(site.text) {
            case .local(let targetType, let targetID):
                if !store.exists(targetType, targetID) && !bundle.known.contains("\(targetType)/\(targetID)") {
                    issues.append(.rule(10_000, "Reference \(targetType)/\(targetID) does not exist", at: site.path, code: "not-found"))
                    referenceViolations.append("\(type) → \(targetType)/\(targetID)")
                }
            case .urn(let urn):
                issues.append(.rule(10_000, "\(urn) can only be used inside a transaction bundle", at: site.path, code: "not-found"))
            case .search, .other:
                break
            }
        }
        guard mode == .satusehat else { return issues }
        let rules = SatusehatRuleBook(now: now())
        for problem in rules.problems(json) {
            issues.append(.rule(10_001, "\(type).\(problem.path) \(problem.text)", at: problem.path, code: "required"))
        }
        for problem in rules.numberedProblems(json) {
            issues.append(.rule(problem.rule, problem.text, at: problem.path, code: "required"))
        }
        // SATUSEHAT's prerequisites (SATUSEHAT.md): a clinic visit's practitioner serves at its
        // polyclinic through a PractitionerRole, created before the visit.
        if type == "Encounter", json.value(at: "class.code")?.stringValue == "AMB",
            let practitioner = json["participant"]?[0]?.value(at: "individual.reference")?.stringValue,
            let location = json["location"]?[0]?.value(at: "location.reference")?.stringValue,
            !store.hasRole(practitioner: practitioner, location: location)
        {
            issues.append(.rule(10_401, "\(practitioner) has no PractitionerRole at \(location)", at: "participant[0].individual", code: "business-rule"))
        }
        for (system, value) in SandboxStore.identifiers(of: json) {
            if system.hasPrefix("http://sys-ids.kemkes.go.id/") {
                let parts = system.dropFirst("http://sys-ids.kemkes.go.id/".count).split(separator: "/")
                if parts.count >= 2, parts[1] != client.orgID {
                    issues.append(.rule(10_117, "Wrong organization ID provided by system URL \(system)", at: "identifier", code: "value"))
                }
            }
            // A prescription's identifier is shared by its items (each also has its own
            // prescription-item identifier, which is unique): SATUSEHAT.md, "Medication and dispensing".
            if system.hasPrefix("http://sys-ids.kemkes.go.id/prescription/") { continue }
            let others = store.ids(type: type, identifier: system, value).filter { $0 != id }
            if !others.isEmpty || bundle.identifiers.contains("\(type)|\(system)|\(value)") {
                issues.append(Issue(code: "duplicate", text: "Found duplicate resource \(type) with identifier \(system)|\(value)", expression: "identifier"))
            }
        }
        // A finished visit is final, except that it can be withdrawn (entered-in-error), as any record can.
        if type == "Encounter", old?["status"]?.stringValue == "finished", !["finished", "entered-in-error"].contains(json["status"]?.stringValue ?? "") {
            issues.append(.rule(10_002, "a finished Encounter cannot change status", at: "status", code: "business-rule"))
        }
        return issues
    }
}

/// What a transaction bundle adds to the store's view while it is checked.
struct BundleContext {
    /// fullUrl → `Type/id`.
    var urls: [String: String] = [:]
    /// `Type/id` of every entry.
    var known = Set<String>()
    /// `Type|system|value` of entries checked so far (duplicates inside the bundle).
    var identifiers = Set<String>()
}

/// An answer that ends a request early (bad token, unparseable body).
struct Refusal: Error {
    let response: HTTPResponse
}
