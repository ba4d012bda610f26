import Foundation
import SehatFHIR
import SehatStore

/// Sends one unit and records what happened: first it settles any item whose earlier
/// attempt has an unknown outcome (search its business identifier; adopt what is found),
/// then it sends the rest as a bundle or a single request and interprets the answer.
struct UnitSender: Sendable {
    let builder: RequestBuilder
    let uploader: Uploader
    let consolidator: ResultConsolidator
    let backoff: Backoff
    let clock: any WallClock

    struct Outcome: Sendable {
        var requests = 0
        var completed = 0
        var offline = false
        /// The sync run this unit belongs to, for the log.
        var traceID = "-"
    }

    func process(_ unit: WorkUnit, traceID: String = "-") async -> Outcome {
        var outcome = Outcome(traceID: traceID)
        var results: [(item: ClaimedItem, result: ItemResult)] = []
        var log: [LogLine] = []
        var remaining = unit.items

        // 1. Items whose earlier attempt may have reached the server: search before re-sending.
        for item in remaining where item.needsCheck && item.operation == .create {
            guard let call = builder.search(item) else { continue }
            let attempt = await uploader.send(call, lane: item.lane)
            outcome.requests += 1
            switch found(attempt) {
            case .some(.some(let serverID)):
                results.append((item, .completed(serverID: serverID)))
                log.append(LogLine(itemID: item.id, attempt: attempt, outcome: "found after an unknown outcome", error: nil))
            case .some(.none):
                log.append(LogLine(itemID: item.id, attempt: attempt, outcome: "not on the server: sending", error: nil))
            case .none:
                // The check itself failed: try the whole unit again later.
                let failure = retry(attempt, item)
                outcome.offline = outcome.offline || attempt.failure?.kind == .offline
                return finish(outcome, results + remaining.filter { r in !results.contains { $0.item.id == r.id } }.map { ($0, failure) },
                              log + [LogLine(itemID: item.id, attempt: attempt, outcome: "check failed", error: describe(attempt))])
            }
        }
        if !results.isEmpty {
            let settled = Set(results.map(\.item.id))
            remaining.removeAll { settled.contains($0.id) }
            outcome = finish(outcome, results, log)
            results = []
            log = []
        }
        guard !remaining.isEmpty else { return finish(outcome, [], log) }

        // 2. Send (the check's log lines go in with the outcome).
        if unit.kind == .bundle {
            return await sendBundle(remaining, outcome, log: log)
        }
        let item = remaining[0]
        let call: HTTPCall
        do {
            call = try builder.single(item)
        } catch {
            return finish(outcome, [(item, .retry(delay: backoff.delay(afterAttempt: item.attempts + 1), unknownOutcome: false, counts: false,
                                                  error: "\(error)", failure: nil))], log)
        }
        let attempt = await uploader.send(call, to: item.target, lane: item.lane)
        outcome.requests += 1
        outcome.offline = attempt.failure?.kind == .offline
        let (result, note, extra) = await interpret(attempt, item)
        outcome.requests += extra.count
        return finish(outcome, [(item, result)], log + [LogLine(itemID: item.id, attempt: attempt, outcome: note, error: result.errorText)] + extra)
    }

    private func finish(_ outcome: Outcome, _ results: [(item: ClaimedItem, result: ItemResult)], _ log: [LogLine]) -> Outcome {
        var outcome = outcome
        do {
            try consolidator.apply(results, log: log, now: clock.now(), traceID: outcome.traceID)
            outcome.completed += results.filter { if case .completed = $0.result { return true } else { return false } }.count
        } catch {
            // The outcome could not be stored (disk full, say): release the items, marked to
            // search before they are sent again. If even that fails, reopening the store does it.
            consolidator.release(results.map(\.item.id), now: clock.now())
        }
        return outcome
    }

    // MARK: Single requests

    private func interpret(_ attempt: Attempt, _ item: ClaimedItem) async -> (ItemResult, String, [LogLine]) {
        guard let answer = attempt.answer else { return (retry(attempt, item), "no answer", []) }
        switch answer.status {
        case 200..<300:
            switch item.operation {
            case .lookup:
                let ids = searchIDs(answer)
                if ids.count == 1 { return (.completed(serverID: ids[0]), "found", []) }
                if ids.isEmpty {
                    let nik = item.identifier?.value ?? ""
                    let who = item.resourceType == "Patient" ? "patient" : "practitioner"
                    return (.held("registration required: no \(who) with NIK \(maskNIK(nik)) is registered in SATUSEHAT (register them through another channel, e.g. P-Care)"),
                            "not registered", [])
                }
                let message = "\(ids.count) \(item.resourceType ?? "resources") share this identifier; resolve it on the server"
                return (.failed(message, failure(attempt, .client, message)), "ambiguous", [])
            case .create:
                guard let id = createdID(answer) else {
                    return (.retry(delay: backoff.delay(afterAttempt: item.attempts + 1), unknownOutcome: true, counts: true,
                                   error: "the answer carried no id", failure: failure(attempt, .unknown, "the answer carried no id")),
                            "no id in answer", [])
                }
                return (.completed(serverID: id), "created", [])
            case .update, .notify:
                return (.completed(serverID: nil), "done", [])
            }
        case 409 where item.operation == .notify:
            return (.completed(serverID: nil), "already received", [])
        case 400, 404, 409, 412, 422:
            if item.operation == .create, isDuplicate(answer), let call = builder.search(item) {
                let search = await uploader.send(call, lane: item.lane)
                if case .some(.some(let id)) = found(search) {
                    return (.completed(serverID: id), "duplicate: adopted the existing resource",
                            [LogLine(itemID: item.id, attempt: search, outcome: "found the duplicate", error: nil)])
                }
                let message = "the server reports a duplicate but no resource has this identifier: \(problem(answer))"
                return (.failed(message, failure(attempt, .duplicate, message)), "duplicate",
                        [LogLine(itemID: item.id, attempt: search, outcome: "duplicate not found", error: describe(search))])
            }
            let message = "\(answer.status): \(problem(answer))"
            if answer.status == 404 || isNotFound(answer), item.operation != .lookup {
                return (.recheckDependencies(message, failure(attempt, .notFound, message)), "not found: checking dependencies", [])
            }
            return (.failed(message, failure(attempt, .client, message)), "refused", [])
        case 405, 410, 501:
            let message = "\(answer.status): \(problem(answer)) — the server will never accept this request"
            return (.dead(message, failure(attempt, .unknown, message)), "permanent", [])
        default:
            return (retry(attempt, item), "transient", [])
        }
    }

    // MARK: Bundles

    private func sendBundle(_ items: [ClaimedItem], _ start: Outcome, log checks: [LogLine]) async -> Outcome {
        var outcome = start
        let call: HTTPCall
        let plans: [BundleEntryPlan]
        do {
            (call, plans) = try builder.bundle(items)
        } catch {
            return finish(outcome, items.map { ($0, .retry(delay: 0, unknownOutcome: false, counts: false, error: "\(error)", failure: nil)) }, checks)
        }
        let attempt = await uploader.send(call, lane: items[0].lane)
        outcome.requests += 1
        outcome.offline = attempt.failure?.kind == .offline
        func logAll(_ note: String, _ error: String?) -> [LogLine] {
            checks + items.map { LogLine(itemID: $0.id, attempt: attempt, outcome: note, error: error) }
        }
        guard let answer = attempt.answer else {
            return finish(outcome, items.map { ($0, retry(attempt, $0)) }, logAll("bundle: no answer", describe(attempt)))
        }
        switch answer.status {
        case 200..<300:
            let entries = (try? JSON.parse(bytes: answer.body))?["entry"]?.arrayValue ?? []
            guard entries.count == plans.count else {
                let message = "bundle answer has \(entries.count) entries for \(plans.count)"
                return finish(outcome, items.map { ($0, .retry(delay: 0, unknownOutcome: true, counts: true, error: message,
                                                               failure: failure(attempt, .unknown, message))) },
                              logAll("bundle: malformed answer", nil))
            }
            var results: [(item: ClaimedItem, result: ItemResult)] = []
            for (plan, entry) in zip(plans, entries) {
                let id = entry.value(at: "response.resourceID")?.stringValue ?? Self.id(fromLocation: entry.value(at: "response.location")?.stringValue)
                for item in items where plan.itemIDs.contains(item.id) {
                    results.append((item, id == nil && item.operation == .create
                        ? .retry(delay: 0, unknownOutcome: true, counts: true, error: "bundle entry without an id", failure: nil)
                        : .completed(serverID: id)))
                }
            }
            return finish(outcome, results, logAll("bundle: created", nil))
        case 400, 404, 409, 412, 422:
            if isDuplicate(answer) {
                // Some entries exist already (an earlier answer was lost): adopt them, resend the rest.
                var results: [(item: ClaimedItem, result: ItemResult)] = []
                var log = logAll("bundle: duplicate", problem(answer))
                for item in items {
                    guard item.operation == .create, let search = builder.search(item) else {
                        results.append((item, .retry(delay: 0, unknownOutcome: false, counts: false, error: "bundle refused as duplicate", failure: nil)))
                        continue
                    }
                    let found = await uploader.send(search, lane: item.lane)
                    outcome.requests += 1
                    log.append(LogLine(itemID: item.id, attempt: found, outcome: "searched after duplicate", error: nil))
                    switch self.found(found) {
                    case .some(.some(let id)): results.append((item, .completed(serverID: id)))
                    case .some(.none): results.append((item, .retry(delay: 0, unknownOutcome: false, counts: false, error: "bundle refused as duplicate", failure: nil)))
                    case .none: results.append((item, retry(found, item)))
                    }
                }
                return finish(outcome, results, log)
            }
            // Find the bad resource: its group goes one request at a time.
            let message = "bundle refused (\(answer.status)): \(problem(answer))"
            let record = failure(attempt, answer.status == 404 ? .notFound : .client, message)
            return finish(outcome, items.map { ($0, .sendSingly(message, record)) }, logAll("bundle: refused, sending singly", problem(answer)))
        default:
            return finish(outcome, items.map { ($0, retry(attempt, $0)) }, logAll("bundle: transient", describe(attempt)))
        }
    }

    // MARK: Reading answers

    /// A transient failure's retry: offline attempts do not count; unknown outcomes check first.
    private func retry(_ attempt: Attempt, _ item: ClaimedItem) -> ItemResult {
        if let open = attempt.circuitOpen {
            // Not the item's fault: wait for the half-open probe, without counting.
            return .retry(delay: max(0, open.until.timeIntervalSince(clock.now())), unknownOutcome: false, counts: false,
                          error: open.description, failure: nil)
        }
        let retryAfter = attempt.answer?.headers["retry-after"].flatMap(Double.init)
        if let auth = attempt.authFailure {
            let wait = auth.retryAt.map { max(0, $0.timeIntervalSince(clock.now())) }
            return .retry(delay: wait ?? backoff.delay(afterAttempt: item.attempts + 1), unknownOutcome: false, counts: false, error: auth.message,
                          failure: failure(attempt, .auth, auth.message))
        }
        if let transport = attempt.failure {
            // Offline attempts neither count nor log an error: the device was simply not connected.
            let unknown = transport.kind == .outcomeUnknown
            guard unknown else {
                return .retry(delay: backoff.delay(afterAttempt: item.attempts + 1), unknownOutcome: false, counts: false,
                              error: transport.description, failure: nil)
            }
            return counted(item, retryAfter: nil, unknownOutcome: true, error: transport.description,
                           failure: failure(attempt, .transient, transport.description))
        }
        let status = attempt.answer?.status ?? 0
        let message = describe(attempt)
        return counted(item, retryAfter: retryAfter, unknownOutcome: false, error: message,
                       failure: failure(attempt, FailureClass.of(status: status), message))
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

    private func failure(_ attempt: Attempt, _ category: FailureClass, _ message: String) -> FailureRecord {
        FailureRecord(category: category, status: attempt.status, message: message, url: attempt.call.url, requestID: attempt.requestID)
    }

    /// An OperationOutcome that says a referenced resource does not exist.
    private func isNotFound(_ answer: HTTPAnswer) -> Bool {
        guard let json = try? JSON.parse(bytes: answer.body) else { return false }
        return (json["issue"]?.arrayValue ?? []).contains { $0["code"]?.stringValue == "not-found" }
    }

    /// nil: the search failed; `.some(nil)`: nothing found; `.some(id)`: found.
    private func found(_ attempt: Attempt) -> String?? {
        guard let answer = attempt.answer, (200..<300).contains(answer.status) else { return nil }
        return .some(searchIDs(answer).first)
    }

    private func searchIDs(_ answer: HTTPAnswer) -> [String] {
        let bundle = try? JSON.parse(bytes: answer.body)
        return (bundle?["entry"]?.arrayValue ?? []).compactMap { $0["resource"]?["id"]?.stringValue }
    }

    private func createdID(_ answer: HTTPAnswer) -> String? {
        (try? JSON.parse(bytes: answer.body))?["id"]?.stringValue ?? Self.id(fromLocation: answer.headers["location"])
    }

    /// `…/Type/id/_history/vid` or `Type/id` → `id`.
    static func id(fromLocation location: String?) -> String? {
        guard let location else { return nil }
        var parts = location.split(separator: "/").map(String.init)
        if let history = parts.firstIndex(of: "_history") { parts = Array(parts[..<history]) }
        return parts.count >= 2 ? parts.last : nil
    }

    private func isDuplicate(_ answer: HTTPAnswer) -> Bool {
        guard let json = try? JSON.parse(bytes: answer.body) else { return answer.text.lowercased().contains("duplicate") }
        return (json["issue"]?.arrayValue ?? []).contains { $0["code"]?.stringValue == "duplicate" }
    }

    /// The OperationOutcome's texts (with their paths), or the body's start.
    private func problem(_ answer: HTTPAnswer) -> String {
        guard let json = try? JSON.parse(bytes: answer.body), let issues = json["issue"]?.arrayValue else { return String(answer.text.prefix(300)) }
        return issues.map { issue in
            let text = issue.value(at: "details.text")?.stringValue ?? issue["diagnostics"]?.stringValue ?? issue["code"]?.stringValue ?? "?"
            let paths = (issue["expression"]?.arrayValue ?? []).compactMap(\.stringValue)
            return paths.isEmpty ? text : "\(text) [\(paths.joined(separator: ", "))]"
        }.joined(separator: "; ")
    }

    private func describe(_ attempt: Attempt) -> String {
        if let open = attempt.circuitOpen { return open.description }
        if let auth = attempt.authFailure { return auth.message }
        if let failure = attempt.failure { return failure.description }
        guard let answer = attempt.answer else { return "no answer" }
        return "\(answer.status): \(problem(answer))"
    }

}
