import Foundation
import SehatFHIR
import SehatJSON

/// What one HTTP attempt meant, as `sync_log.outcome` keeps it.
enum AttemptNote: String, Sendable, CaseIterable {
    // The search before re-sending an item whose earlier outcome is unknown.
    case foundAfterUnknownOutcome = "found_after_unknown_outcome"
    case absentSending = "absent_sending"
    case checkFailed = "check_failed"
    // A single request.
    case created, found, done
    case notRegistered = "not_registered"
    case ambiguous
    case noIDInAnswer = "no_id_in_answer"
    case alreadyReceived = "already_received"
    case refused
    case ruleViolation = "rule_violation"
    case notFoundChecking = "not_found_checking"
    case permanent, transient
    case noAnswer = "no_answer"
    case notTheReceiver = "not_the_receiver"
    /// Nothing was sent: the device was offline.
    case offline
    /// Nothing was sent: the endpoint's circuit was open.
    case circuitOpen = "circuit_open"
    /// Nothing was sent: no token could be had.
    case noToken = "no_token"
    case duplicate
    case adoptedDuplicate = "adopted_duplicate"
    case duplicateFound = "duplicate_found"
    case duplicateNotFound = "duplicate_not_found"
    // A transaction bundle.
    case bundleCreated = "bundle_created"
    case bundleMalformedAnswer = "bundle_malformed_answer"
    case bundleDuplicate = "bundle_duplicate"
    case bundleRefusedSendingSingly = "bundle_refused_sending_singly"
    case packRefusedSplitting = "pack_refused_splitting"
    case bundleTransient = "bundle_transient"
    case bundleNoAnswer = "bundle_no_answer"
    case searchedAfterDuplicate = "searched_after_duplicate"
    // An update refused with 412, and the read of the server's version that follows.
    case versionMismatch = "version_mismatch"
    case ownVersionFound = "own_version_found"
    case ownEarlierVersionFound = "own_earlier_version_found"
    case versionConflict = "version_conflict"
}

extension AttemptNote {
    /// The note of an attempt nothing answered, saying why: so a person (`outbox why`) can
    /// tell an open circuit from a device that was offline.
    static func unanswered(_ attempt: Attempt, bundle: Bool = false) -> AttemptNote {
        switch attempt.outcome {
        case .circuitOpen: return .circuitOpen
        case .authFailed: return .noToken
        case .transportFailed(let failure) where failure.kind == .offline: return .offline
        case .transportFailed(let failure) where failure.kind == .notTheReceiver: return .notTheReceiver
        default: return bundle ? .bundleNoAnswer : .noAnswer
        }
    }
}

/// One sync-log line: the attempt and what it meant for the item.
struct LogLine: Sendable {
    let itemID: Int64
    let attempt: Attempt
    let note: AttemptNote
    let error: String?
}

/// Stage 4 — read: what an attempt's answer means for each item it carried. Pure functions of
/// the attempt, the items and the time; each answer body is parsed once.
struct AnswerReader: Sendable {
    let backoff: Backoff

    /// The outcome of a search by business identifier.
    enum Search: Equatable {
        /// The server id, and the server's version when the resource names one.
        case found(String, version: String?)
        case absent
        /// The search itself failed (no answer, an error status).
        case failed
    }

    /// What a single request's answer means: a result, or "the server says duplicate: search
    /// the identifier and adopt what is found" (`searchForDuplicate`).
    enum Single {
        case result(ItemResult, AttemptNote)
        case searchForDuplicate(refusal: String)
        /// An update refused with 412: read the server's version to tell a lost answer of our
        /// own (the server holds what was sent) from someone else's change (a conflict).
        case readServerVersion(refusal: String)
    }

    /// What a bundle's answer means.
    enum Bundle {
        case results([ItemResult], AttemptNote, error: String?)
        /// Some entries exist already (an earlier answer was lost): search each create.
        case searchForDuplicates(refusal: String)

        /// Why the server refused the bundle as a whole (its items are to go on alone, or it
        /// named a duplicate), or nil when it did not.
        var refusal: String? {
            switch self {
            case .searchForDuplicates(let refusal): return refusal
            case .results(let results, _, let error):
                guard results.contains(where: { if case .sendSingly = $0 { return true } else { return false } }) else { return nil }
                return error ?? "bundle refused"
            }
        }
    }

    // MARK: Searches

    /// A search's answer: the first resource found, none, or a failed search.
    func search(_ attempt: Attempt) -> Search {
        guard let answer = attempt.answer, (200..<300).contains(answer.status) else { return .failed }
        guard let json = try? JSON.parse(bytes: answer.body), json["resourceType"]?.stringValue == "Bundle" else { return .failed }
        guard let first = Self.searchResources(json).first, let id = first["id"]?.stringValue else { return .absent }
        return .found(id, version: Self.version(of: first))
    }

    /// After a duplicate answer, the search that adopts the existing resource.
    func adoption(_ search: Attempt, refusal: String, for item: ClaimedItem, now: Date) -> (ItemResult, AttemptNote) {
        switch self.search(search) {
        case .found(let id, let version): return (.completed(serverID: id, version: version), .duplicateFound)
        case .absent:
            let message = "the server reports a duplicate but no resource has this identifier: \(refusal)"
            return (.failed(message, Self.failure(search, .duplicate, message)), .duplicateNotFound)
        case .failed: return (retry(search, item, now: now), .duplicateNotFound)
        }
    }

    // MARK: Single requests

    /// What a single request's attempt means for its item.
    func single(_ attempt: Attempt, for item: ClaimedItem, now: Date) -> Single {
        guard let answer = attempt.answer else { return .result(retry(attempt, item, now: now), .unanswered(attempt)) }
        if attempt.notTheReceiver != nil { return .result(retry(attempt, item, now: now), .notTheReceiver) }
        let json = try? JSON.parse(bytes: answer.body)
        if let violations = Self.ruleViolations(json) {
            // SATUSEHAT's other refusal form, whatever the status: 20002 means it exists already.
            let text = Self.describe(violations)
            if violations.contains(where: { $0.rule == Self.duplicateRule }), item.operation == .create, item.identifier != nil {
                return .searchForDuplicate(refusal: text)
            }
            let message = "\(answer.status): \(text)"
            return .result(.failed(message, Self.failure(attempt, .client, message)), .ruleViolation)
        }
        switch answer.status {
        case 200..<300:
            switch item.operation {
            case .lookup:
                let (result, note) = lookup(json, attempt, item, now: now)
                return .result(result, note)
            case .create:
                guard let id = json?["id"]?.stringValue ?? Self.id(fromLocation: answer.headers["location"]) else {
                    return .result(.retry(delay: backoff.delay(afterAttempt: item.attempts + 1), unknownOutcome: true, counts: true,
                                          error: "the answer carried no id", failure: Self.failure(attempt, .unknown, "the answer carried no id")),
                                   .noIDInAnswer)
                }
                return .result(.completed(serverID: id, version: Self.version(of: answer, json)), .created)
            case .update where item.target == .satusehat:
                return .result(.completed(serverID: nil, version: Self.version(of: answer, json)), .done)
            case .update, .notify:
                return .result(.completed(serverID: nil, version: nil), .done)
            }
        case 409 where item.operation == .notify:
            return .result(.completed(serverID: nil, version: nil), .alreadyReceived)
        case 412 where item.operation == .update && item.target == .satusehat && item.serverID != nil:
            return .readServerVersion(refusal: "\(answer.status): \(Self.problem(answer, json))")
        case 400, 404, 409, 412, 422:
            let problem = Self.problem(answer, json)
            if item.operation == .create, Self.isDuplicate(answer, json), item.identifier != nil {
                return .searchForDuplicate(refusal: problem)
            }
            let message = "\(answer.status): \(problem)"
            if answer.status == 404 || Self.hasIssue("not-found", json), item.operation != .lookup {
                return .result(.recheckDependencies(message, Self.failure(attempt, .notFound, message),
                                                    delay: backoff.delay(afterAttempt: item.attempts + 1)), .notFoundChecking)
            }
            return .result(.failed(message, Self.failure(attempt, .client, message)), .refused)
        case 405, 410, 501:
            let message = "\(answer.status): \(Self.problem(answer, json)) — the server will never accept this request"
            return .result(.dead(message, Self.failure(attempt, .unknown, message)), .permanent)
        default:
            return .result(retry(attempt, item, now: now), .transient)
        }
    }

    /// A lookup's searchset: one match is the person (done, with their id); none means they
    /// must be registered first (held); several is for a person to sort out on the server.
    func lookup(_ searchset: JSON?, _ attempt: Attempt, _ item: ClaimedItem, now: Date) -> (ItemResult, AttemptNote) {
        guard let searchset, searchset["resourceType"]?.stringValue == "Bundle" else { return (retry(attempt, item, now: now), .transient) }
        let found = Self.searchResources(searchset)
        let ids = found.compactMap { $0["id"]?.stringValue }
        if ids.count == 1 { return (.completed(serverID: ids[0], version: Self.version(of: found[0])), .found) }
        if ids.isEmpty { return (.held(.registrationRequired), .notRegistered) }
        let message = "\(ids.count) \(item.resourceType ?? "resources") share this identifier; resolve it on the server"
        return (.failed(message, Self.failure(attempt, .client, message)), .ambiguous)
    }

    /// A batch of lookups (in `items` order): each entry's searchset is read as a single
    /// lookup's; an entry the server failed goes again; a server that refuses the batch as a
    /// whole (it takes no batches) gets each lookup alone from then on.
    func searches(_ attempt: Attempt, items: [ClaimedItem], now: Date) -> [(ItemResult, AttemptNote)] {
        guard let answer = attempt.answer, attempt.notTheReceiver == nil else {
            return items.map { (retry(attempt, $0, now: now), attempt.notTheReceiver == nil ? .unanswered(attempt) : .notTheReceiver) }
        }
        let json = try? JSON.parse(bytes: answer.body)
        switch answer.status {
        case 200..<300:
            let entries = json?["entry"]?.arrayValue ?? []
            guard json?["type"]?.stringValue == "batch-response", entries.count == items.count else {
                let message = "batch answer has \(entries.count) entries for \(items.count)"
                return items.map { (counted($0, retryAfter: nil, unknownOutcome: false, error: message, failure: Self.failure(attempt, .unknown, message)),
                                    .bundleMalformedAnswer) }
            }
            return zip(items, entries).map { item, entry in
                let status = entry.value(at: "response.status")?.stringValue.flatMap { Int($0.prefix(3)) } ?? 0
                guard (200..<300).contains(status) else {
                    let message = "the search in the batch answered \(status)"
                    return (counted(item, retryAfter: nil, unknownOutcome: false, error: message,
                                    failure: Self.failure(attempt, FailureClass.of(status: status), message)), .transient)
                }
                return lookup(entry["resource"], attempt, item, now: now)
            }
        case 400, 404, 405, 409, 422, 501:
            let message = "batch of searches refused (\(answer.status)): \(Self.problem(answer, json)); each lookup goes alone"
            return items.map { _ in (.sendSingly(message, Self.failure(attempt, .client, message)), .bundleRefusedSendingSingly) }
        default:
            return items.map { (retry(attempt, $0, now: now), .bundleTransient) }
        }
    }

    // MARK: Bundles

    /// What a transaction bundle's attempt means for each of its items (in `items` order).
    func bundle(_ attempt: Attempt, items: [ClaimedItem], plans: [BundleEntryPlan], now: Date) -> Bundle {
        guard let answer = attempt.answer else {
            return .results(items.map { retry(attempt, $0, now: now) }, .unanswered(attempt, bundle: true), error: Self.describe(attempt))
        }
        if let foreign = attempt.notTheReceiver {
            return .results(items.map { retry(attempt, $0, now: now) }, .notTheReceiver, error: foreign)
        }
        let json = try? JSON.parse(bytes: answer.body)
        if let violations = Self.ruleViolations(json) {
            let text = Self.describe(violations)
            if violations.contains(where: { $0.rule == Self.duplicateRule }) { return .searchForDuplicates(refusal: text) }
            let message = "bundle refused (\(answer.status)): \(text)"
            let record = Self.failure(attempt, .client, message)
            return .results(items.map { _ in .sendSingly(message, record) }, .bundleRefusedSendingSingly, error: text)
        }
        switch answer.status {
        case 200..<300:
            let entries = json?["entry"]?.arrayValue ?? []
            guard entries.count == plans.count else {
                let message = "bundle answer has \(entries.count) entries for \(plans.count)"
                return .results(items.map { _ in .retry(delay: 0, unknownOutcome: true, counts: true, error: message,
                                                        failure: Self.failure(attempt, .unknown, message)) },
                                .bundleMalformedAnswer, error: nil)
            }
            var ids: [Int64: (id: String?, version: String?)] = [:]
            for (plan, entry) in zip(plans, entries) {
                let location = entry.value(at: "response.location")?.stringValue
                let id = entry.value(at: "response.resourceID")?.stringValue ?? Self.id(fromLocation: location)
                let version = Self.version(etag: entry.value(at: "response.etag")?.stringValue) ?? Self.version(fromLocation: location)
                    ?? entry["resource"].flatMap(Self.version(of:))
                for itemID in plan.itemIDs { ids[itemID] = (id, version) }
            }
            return .results(items.map { item in
                let entry = ids[item.id]
                return entry?.id == nil && item.operation == .create
                    ? .retry(delay: 0, unknownOutcome: true, counts: true, error: "bundle entry without an id", failure: nil)
                    : .completed(serverID: entry?.id ?? nil, version: entry?.version ?? nil)
            }, .bundleCreated, error: nil)
        case 400, 404, 409, 412, 422:
            let problem = Self.problem(answer, json)
            if Self.isDuplicate(answer, json) { return .searchForDuplicates(refusal: problem) }
            // Find the bad resource: its group goes one request at a time.
            let message = "bundle refused (\(answer.status)): \(problem)"
            let record = Self.failure(attempt, answer.status == 404 ? .notFound : .client, message)
            return .results(items.map { _ in .sendSingly(message, record) }, .bundleRefusedSendingSingly, error: problem)
        default:
            return .results(items.map { retry(attempt, $0, now: now) }, .bundleTransient, error: Self.describe(attempt))
        }
    }

    /// After a bundle was refused as a duplicate, one create's search. A create the search
    /// does not find goes on alone, where a duplicate it cannot be adopted from is a refusal
    /// for a person — never back into a bundle the server refuses again.
    func bundleAdoption(_ search: Attempt, refusal: String, for item: ClaimedItem, now: Date) -> ItemResult {
        switch self.search(search) {
        case .found(let id, let version): return .completed(serverID: id, version: version)
        case .absent:
            let message = "bundle refused as duplicate, and this resource is not on the server: sending it alone (\(refusal))"
            return .sendSingly(message, Self.failure(search, .duplicate, message))
        case .failed: return retry(search, item, now: now)
        }
    }

    // MARK: Versions

    /// After a 412, the read of the server's version. The server holding exactly what was sent
    /// means our own earlier attempt went through and its answer was lost: done. The server
    /// holding one of the device's earlier versions (`earlier`, as they were sent) means an
    /// earlier update of ours went through unrecorded: send again, based on it. Anything else is
    /// someone else's change: a conflict, with both versions kept for a person.
    func versionCheck(_ read: Attempt, sent: HTTPCall, earlier: [JSON] = [], refusal: String, for item: ClaimedItem, now: Date)
        -> (ItemResult, AttemptNote)
    {
        guard let answer = read.answer, read.notTheReceiver == nil, (200..<300).contains(answer.status),
              let server = try? JSON.parse(bytes: answer.body), server["resourceType"]?.stringValue == item.resourceType
        else { return (retry(read, item, now: now), .checkFailed) }
        let version = Self.version(of: answer, server)
        let ours = sent.body.flatMap { try? JSON.parse(bytes: $0) } ?? .null
        if Self.sameContent(ours, server) { return (.completed(serverID: nil, version: version), .ownVersionFound) }
        if earlier.contains(where: { Self.sameContent($0, server) }) { return (.rebase(version: version, delay: backoff.delay(afterAttempt: item.attempts + 1)), .ownEarlierVersionFound) }
        let message = "\(refusal) — the server has version \(version ?? "?") and this update was based on \(item.serverVersion ?? "?"): "
            + "both versions are kept; choose one with `outbox resolve`"
        return (.conflict(VersionConflict(basedOn: item.serverVersion, serverVersion: version, sentResource: ours, serverResource: server),
                          Self.failure(read, .client, message)), .versionConflict)
    }

    /// Whether two versions of a resource say the same, whatever the member order and the
    /// server's own bookkeeping (`meta`: version, last updated).
    static func sameContent(_ a: JSON, _ b: JSON) -> Bool {
        var (a, b) = (a, b)
        a["meta"] = nil
        b["meta"] = nil
        return a.keyOrdered == b.keyOrdered
    }

    /// The version an answer names: the resource's `meta.versionId`, else its `ETag`, else
    /// the `_history/{vid}` of its `Location`.
    static func version(of answer: HTTPAnswer, _ resource: JSON?) -> String? {
        resource.flatMap(version(of:)) ?? version(etag: answer.headers["etag"]) ?? version(fromLocation: answer.headers["location"])
    }

    /// A resource's `meta.versionId`.
    static func version(of resource: JSON) -> String? {
        resource.value(at: "meta.versionId")?.stringValue.flatMap { $0.isEmpty ? nil : $0 }
    }

    /// `W/"3"` or `"3"` → `3`.
    static func version(etag: String?) -> String? {
        guard var tag = etag?.trimmingCharacters(in: .whitespaces), !tag.isEmpty else { return nil }
        if tag.hasPrefix("W/") { tag.removeFirst(2) }
        if tag.count >= 2, tag.hasPrefix("\""), tag.hasSuffix("\"") { tag = String(tag.dropFirst().dropLast()) }
        return tag.isEmpty ? nil : tag
    }

    /// `…/Type/id/_history/3` → `3`.
    static func version(fromLocation location: String?) -> String? {
        guard let parts = location?.split(separator: "/"), let history = parts.firstIndex(of: "_history"), history + 1 < parts.count else { return nil }
        return String(parts[history + 1])
    }

    // MARK: Retries

    /// A failure that may pass: offline attempts do not count; unknown outcomes search first;
    /// an open circuit waits for its probe without counting.
    func retry(_ attempt: Attempt, _ item: ClaimedItem, now: Date) -> ItemResult {
        switch attempt.outcome {
        case .circuitOpen(let open):
            return .retry(delay: max(0, open.until.timeIntervalSince(now)), unknownOutcome: false, counts: false,
                          error: open.description, failure: nil)
        case .authFailed(let auth):
            let wait = auth.retryAt.map { max(0, $0.timeIntervalSince(now)) }
            return .retry(delay: wait ?? backoff.delay(afterAttempt: item.attempts + 1), unknownOutcome: false, counts: false, error: auth.message,
                          failure: Self.failure(attempt, .auth, auth.message))
        case .transportFailed(let transport):
            // Offline attempts neither count nor log an error: the device was simply not connected.
            guard transport.kind == .outcomeUnknown else {
                return .retry(delay: backoff.delay(afterAttempt: item.attempts + 1), unknownOutcome: false, counts: false,
                              error: transport.description, failure: nil)
            }
            return counted(item, retryAfter: nil, unknownOutcome: true, error: transport.description,
                           failure: Self.failure(attempt, .transient, transport.description))
        case .answered(let answer):
            if let foreign = attempt.notTheReceiver {
                // Not the receiver: as if offline — not counted, nothing logged as its error.
                return .retry(delay: backoff.delay(afterAttempt: item.attempts + 1), unknownOutcome: false, counts: false, error: foreign, failure: nil)
            }
            let message = Self.describe(attempt)
            return counted(item, retryAfter: answer.retryAfter, unknownOutcome: false, error: message,
                           failure: Self.failure(attempt, FailureClass.of(status: answer.status), message))
        }
    }

    /// A counted retry. Webhooks to the emergency service follow their own schedule
    /// (seeds/000: 1, 2, 4, 8, 16, 32 s, at most 6 retries, then the dead-letter queue, where
    /// they stay until a person revives them); everything else backs off with full jitter,
    /// escalating after max retries but never giving up.
    private func counted(_ item: ClaimedItem, retryAfter: TimeInterval?, unknownOutcome: Bool, error: String, failure: FailureRecord) -> ItemResult {
        guard item.target == .emergency else {
            return .retry(delay: backoff.delay(afterAttempt: item.attempts + 1, retryAfter: retryAfter), unknownOutcome: unknownOutcome,
                          counts: true, error: error, failure: failure)
        }
        let retriesSoFar = item.attempts
        guard retriesSoFar < item.maxRetries else {
            let schedule = (0..<item.maxRetries).map { String(1 << $0) }.joined(separator: ", ")
            return .dead("dead-lettered after \(item.maxRetries) retries (\(schedule) s): \(error)", failure)
        }
        return .retry(delay: Double(1 << retriesSoFar), unknownOutcome: unknownOutcome, counts: true, error: error, failure: failure)
    }

    // MARK: Reading bodies

    /// SATUSEHAT's rule number for "Found duplicate": the resource exists and is adopted.
    static let duplicateRule = "20002"

    /// One violated rule, as SATUSEHAT's bare-array refusals carry it.
    struct RuleViolation: Equatable {
        let rule: String
        let message: String
    }

    /// `[{"ruleNumber": "20002", "message": "…"}, …]` (SATUSEHAT.md, "How refusals really
    /// arrive"), or nil when the body is anything else.
    static func ruleViolations(_ json: JSON?) -> [RuleViolation]? {
        guard let items = json?.arrayValue, !items.isEmpty else { return nil }
        let violations = items.compactMap { item -> RuleViolation? in
            guard let rule = item["ruleNumber"]?.stringValue ?? item["ruleNumber"]?.numberText else { return nil }
            return RuleViolation(rule: rule, message: item["message"]?.stringValue ?? "")
        }
        return violations.count == items.count ? violations : nil
    }

    private static func describe(_ violations: [RuleViolation]) -> String {
        violations.map { "\($0.message) (RuleNumber: \($0.rule))" }.joined(separator: "; ")
    }

    static func failure(_ attempt: Attempt, _ category: FailureClass, _ message: String) -> FailureRecord {
        FailureRecord(category: category, status: attempt.status, message: message, url: attempt.call.url, requestID: attempt.requestID)
    }

    private static func searchResources(_ bundle: JSON) -> [JSON] {
        (bundle["entry"]?.arrayValue ?? []).compactMap { $0["resource"] }.filter { $0["id"]?.stringValue != nil }
    }

    /// `…/Type/id/_history/vid` or `Type/id` → `id`.
    static func id(fromLocation location: String?) -> String? {
        guard let location else { return nil }
        var parts = location.split(separator: "/").map(String.init)
        if let history = parts.firstIndex(of: "_history") { parts = Array(parts[..<history]) }
        return parts.count >= 2 ? parts.last : nil
    }

    private static func hasIssue(_ code: String, _ json: JSON?) -> Bool {
        (json?["issue"]?.arrayValue ?? []).contains { $0["code"]?.stringValue == code }
    }

    private static func isDuplicate(_ answer: HTTPAnswer, _ json: JSON?) -> Bool {
        if let violations = ruleViolations(json) { return violations.contains { $0.rule == duplicateRule } }
        return json == nil ? answer.text.lowercased().contains("duplicate") : hasIssue("duplicate", json)
    }

    /// The OperationOutcome's texts (with their paths), or the body's start.
    static func problem(_ answer: HTTPAnswer, _ json: JSON?) -> String {
        if let violations = ruleViolations(json) { return describe(violations) }
        guard let issues = json?["issue"]?.arrayValue else { return String(answer.text.prefix(300)) }
        return issues.map { issue in
            let text = issue.value(at: "details.text")?.stringValue ?? issue["diagnostics"]?.stringValue ?? issue["code"]?.stringValue ?? "?"
            let paths = (issue["expression"]?.arrayValue ?? []).compactMap(\.stringValue)
            return paths.isEmpty ? text : "\(text) [\(paths.joined(separator: ", "))]"
        }.joined(separator: "; ")
    }

    /// How an attempt failed, in a line.
    static func describe(_ attempt: Attempt) -> String {
        switch attempt.outcome {
        case .circuitOpen(let open): return open.description
        case .authFailed(let auth): return auth.message
        case .transportFailed(let failure): return failure.description
        case .answered(let answer): return "\(answer.status): \(problem(answer, try? JSON.parse(bytes: answer.body)))"
        }
    }
}
