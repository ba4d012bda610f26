import Foundation
import SehatFHIR

/// One unit through the stages, in a straight line:
///
///     settle unknown outcomes (search) → build → upload → read → adopt duplicates (search)
///       / tell a lost answer from a conflict (read after 412) → consolidate
///
/// The fetch stage has claimed the unit and resolved everything it needs; building and
/// reading are pure, uploading touches no database, and the consolidator writes every
/// result in one transaction at the end.
struct UnitPipeline: Sendable {
    let builder: RequestBuilder
    let uploader: Uploader
    let reader: AnswerReader
    let consolidator: ResultConsolidator
    let clock: any WallClock

    /// What one unit did.
    struct Outcome: Sendable {
        var requests = 0
        var completed = 0
        var offline = false
        /// The token endpoint refused (bad credentials or configuration), when it did.
        var authRefusal: String?
        /// Something other than the receiver answered (a captive portal, a proxy), when it did.
        var notTheReceiver: String?
    }

    /// The results and log lines a unit collects on its way.
    private struct Run {
        var results: [(item: ClaimedItem, result: ItemResult)] = []
        var log: [LogLine] = []
        var outcome = Outcome()

        mutating func sent(_ attempt: Attempt) {
            outcome.requests += 1
            outcome.offline = outcome.offline || attempt.wasOffline || attempt.notTheReceiver != nil
            outcome.notTheReceiver = outcome.notTheReceiver ?? attempt.notTheReceiver
            if case .authFailed(let error) = attempt.outcome, error.refused { outcome.authRefusal = error.message }
        }

        mutating func note(_ item: ClaimedItem, _ attempt: Attempt, _ note: AttemptNote, _ error: String?) {
            log.append(LogLine(itemID: item.id, attempt: attempt, note: note, error: error))
        }

        func isSettled(_ item: ClaimedItem) -> Bool { results.contains { $0.item.id == item.id } }
    }

    /// Returns claimed items that could not be read to pending, marked to search first.
    func release(_ ids: [Int64]) {
        consolidator.release(ids, now: clock.now())
    }

    func process(_ unit: WorkUnit, traceID: String = "-") async -> Outcome {
        var run = Run()
        // 1. Items whose earlier attempt may have reached the server: search before re-sending.
        var found: [String: (id: String, version: String?)] = [:]
        var absent: Set<Int64> = []
        var setAside: Set<Int> = []
        /// Items that go again later: those a search found absent need no search then.
        func goAgain(_ items: [ClaimedItem], _ retry: ItemResult) {
            for item in items where !run.isSettled(item) {
                guard absent.contains(item.id), case .retry(let delay, _, _, _, _) = retry else { run.results.append((item, retry)); continue }
                run.results.append((item, .confirmedAbsent(delay: delay)))
            }
        }
        checking: for (index, part) in unit.parts.enumerated() {
            for item in part where item.needsCheck && item.operation == .create {
                guard let call = builder.search(item) else { continue }
                let attempt = await uploader.send(call, lane: item.lane)
                run.sent(attempt)
                switch reader.search(attempt) {
                case .found(let serverID, let version):
                    run.results.append((item, .completed(serverID: serverID, version: version)))
                    run.note(item, attempt, .foundAfterUnknownOutcome, nil)
                    if let resourceID = item.resourceID { found[resourceID] = (serverID, version) }
                case .absent:
                    absent.insert(item.id)
                    run.note(item, attempt, .absentSending, nil)
                case .failed:
                    let retry = reader.retry(attempt, item, now: clock.now())
                    run.note(item, attempt, .checkFailed, AnswerReader.describe(attempt))
                    guard attempt.answer != nil, attempt.notTheReceiver == nil else {
                        // Nothing reached the server (offline, an open circuit): the whole unit goes again later.
                        goAgain(unit.items, retry)
                        return consolidate(run, traceID: traceID)
                    }
                    // The server failed this search: this group goes again later; the others go on.
                    goAgain(part, retry)
                    setAside.insert(index)
                    continue checking
                }
            }
        }
        let parts = unit.parts.enumerated().filter { !setAside.contains($0.offset) }
            .map { $0.element.filter { !run.isSettled($0) }.map { $0.knowing(found) } }.filter { !$0.isEmpty }
        if !parts.isEmpty {
            // 2–5. Build, upload, read (and adopt duplicates).
            if unit.kind == .searches, parts.joined().count > 1 {
                await sendSearches(Array(parts.joined()), &run)
            } else if unit.kind == .bundle || parts[0][0].createsSelfReference {
                await sendBundle(parts, &run)
            } else {
                await sendSingle(parts[0][0], &run)
            }
        }
        return consolidate(run, traceID: traceID)
    }

    private func sendSingle(_ item: ClaimedItem, _ run: inout Run) async {
        let call: HTTPCall
        do {
            call = try builder.single(item)
        } catch {
            run.results.append((item, .retry(delay: reader.backoff.delay(afterAttempt: item.attempts + 1), unknownOutcome: false, counts: false,
                                             error: "\(error)", failure: nil)))
            return
        }
        let attempt = await uploader.send(call, to: item.target, lane: item.lane)
        run.sent(attempt)
        switch reader.single(attempt, for: item, now: clock.now()) {
        case .result(let result, let note):
            run.results.append((item, result))
            run.note(item, attempt, note, result.errorText)
        case .searchForDuplicate(let refusal):
            run.note(item, attempt, .duplicate, refusal)
            guard let search = builder.search(item) else {
                run.results.append((item, .retry(delay: 0, unknownOutcome: false, counts: false, error: refusal, failure: nil)))
                return
            }
            let searched = await uploader.send(search, lane: item.lane)
            run.sent(searched)
            let (result, note) = reader.adoption(searched, refusal: refusal, for: item, now: clock.now())
            run.results.append((item, result))
            run.note(item, searched, note, result.errorText)
        case .readServerVersion(let refusal):
            run.note(item, attempt, .versionMismatch, refusal)
            guard let read = builder.read(item) else {
                run.results.append((item, .retry(delay: 0, unknownOutcome: false, counts: false, error: refusal, failure: nil)))
                return
            }
            let answered = await uploader.send(read, lane: item.lane)
            run.sent(answered)
            let earlier = item.earlierVersions.compactMap { builder.sentForm($0, of: item) }
            let (result, note) = reader.versionCheck(answered, sent: call, earlier: earlier, refusal: refusal, for: item, now: clock.now())
            run.results.append((item, result))
            run.note(item, answered, note, result.errorText)
        }
    }

    /// Lookups in one batch of searches: each read as a single lookup's answer.
    private func sendSearches(_ items: [ClaimedItem], _ run: inout Run) async {
        let call: HTTPCall
        do {
            call = try builder.searches(items)
        } catch {
            for item in items { run.results.append((item, .retry(delay: 0, unknownOutcome: false, counts: false, error: "\(error)", failure: nil))) }
            return
        }
        let attempt = await uploader.send(call, lane: items[0].lane)
        run.sent(attempt)
        for (item, (result, note)) in zip(items, reader.searches(attempt, items: items, now: clock.now())) {
            run.results.append((item, result))
            run.note(item, attempt, note, result.errorText)
        }
    }

    /// A transaction bundle of one group, or of several packed together. A packed bundle the
    /// server refuses (or calls a duplicate) is split in halves, each sent on, until the group
    /// at fault is alone — then it goes on as any group does — so the others are not held back.
    private func sendBundle(_ parts: [[ClaimedItem]], _ run: inout Run) async {
        let items = parts.flatMap { $0 }
        let call: HTTPCall
        let plans: [BundleEntryPlan]
        do {
            (call, plans) = try builder.bundle(items)
        } catch {
            for item in items { run.results.append((item, .retry(delay: 0, unknownOutcome: false, counts: false, error: "\(error)", failure: nil))) }
            return
        }
        let attempt = await uploader.send(call, lane: items[0].lane)
        run.sent(attempt)
        let answer = reader.bundle(attempt, items: items, plans: plans, now: clock.now())
        if parts.count > 1, let refusal = answer.refusal {
            for item in items { run.note(item, attempt, .packRefusedSplitting, refusal) }
            let half = parts.count / 2
            for side in [Array(parts[..<half]), Array(parts[half...])] {
                if side.count == 1, side[0].count == 1, !side[0][0].createsSelfReference {
                    await sendSingle(side[0][0], &run)
                } else {
                    await sendBundle(side, &run)
                }
            }
            return
        }
        switch answer {
        case .results(let results, let note, let error):
            for (item, result) in zip(items, results) {
                run.results.append((item, result))
                run.note(item, attempt, note, error)
            }
        case .searchForDuplicates(let refusal):
            // Some entries exist already (an earlier answer was lost): adopt them, resend the rest.
            for item in items { run.note(item, attempt, .bundleDuplicate, refusal) }
            for item in items {
                guard item.operation == .create, let search = builder.search(item) else {
                    run.results.append((item, .retry(delay: 0, unknownOutcome: false, counts: false, error: "bundle refused as duplicate", failure: nil)))
                    continue
                }
                let searched = await uploader.send(search, lane: item.lane)
                run.sent(searched)
                run.note(item, searched, .searchedAfterDuplicate, nil)
                run.results.append((item, reader.bundleAdoption(searched, refusal: refusal, for: item, now: clock.now())))
            }
        }
    }

    /// Stage 5: everything the unit learned, in one transaction.
    private func consolidate(_ run: Run, traceID: String) -> Outcome {
        var outcome = run.outcome
        do {
            try consolidator.apply(run.results, log: run.log, now: clock.now(), traceID: traceID)
            outcome.completed = run.results.filter { $0.result.isCompleted }.count
        } catch {
            // The outcome could not be stored (disk full, say): release the items, marked to
            // search before they are sent again. If even that fails, recovery does it.
            consolidator.release(run.results.map(\.item.id), now: clock.now())
        }
        return outcome
    }
}
