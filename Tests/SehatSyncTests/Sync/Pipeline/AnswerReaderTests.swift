import Foundation
import SehatFHIR
import SehatJSON
import XCTest

@testable import SehatSync

/// Stage 4 alone: what an answer means, as a pure function of the attempt and the items.
final class AnswerReaderTests: XCTestCase {
    let reader = AnswerReader(backoff: Backoff(initial: 1, cap: 60))
    let now = TestClinic.now

    private func read(_ attempt: Attempt, _ item: ClaimedItem = Fake.item(1)) -> (ItemResult, AttemptNote)? {
        guard case .result(let result, let note) = reader.single(attempt, for: item, now: now) else { return nil }
        return (result, note)
    }

    func testACreatedResourceCompletesWithItsServerID() throws {
        let (result, note) = try XCTUnwrap(read(Fake.attempt(201, #"{"resourceType":"Observation","id":"srv-1"}"#)))
        guard case .completed(let id, let version) = result else { return XCTFail("\(result)") }
        XCTAssertEqual(id, "srv-1")
        XCTAssertNil(version, "the answer named no version")
        XCTAssertEqual(note, .created)
        // The id may come from the Location header alone.
        let located = try XCTUnwrap(read(Fake.attempt(201, "", headers: ["location": Fake.base + "/Observation/srv-2/_history/1"])))
        let fromLocation = located.0
        guard case .completed(let id2, let version2) = fromLocation else { return XCTFail("\(fromLocation)") }
        XCTAssertEqual(id2, "srv-2")
        XCTAssertEqual(version2, "1", "the version from the Location's _history")
    }

    /// An attempt nothing answered is logged with why: `outbox why` tells an open circuit
    /// from a device that was offline from a request whose answer never came.
    func testAnUnansweredAttemptIsLoggedWithWhy() {
        let circuit = Attempt(call: HTTPCall(method: "POST", url: Fake.base + "/Observation"), requestID: "-",
                              outcome: .circuitOpen(CircuitOpen(endpoint: "satusehat", until: Date())), milliseconds: 0)
        XCTAssertEqual(AttemptNote.unanswered(circuit), .circuitOpen)
        XCTAssertEqual(AttemptNote.unanswered(Fake.failed(.offline)), .offline)
        XCTAssertEqual(AttemptNote.unanswered(Fake.failed(.notTheReceiver)), .notTheReceiver)
        XCTAssertEqual(AttemptNote.unanswered(Fake.failed(.outcomeUnknown)), .noAnswer)
        XCTAssertEqual(AttemptNote.unanswered(Fake.failed(.outcomeUnknown), bundle: true), .bundleNoAnswer)
        XCTAssertEqual(read(circuit)?.1, .circuitOpen)
        XCTAssertEqual(read(Fake.failed(.offline))?.1, .offline)
    }

    func testASuccessWithoutAnIDIsAnUnknownOutcome() throws {
        let (result, note) = try XCTUnwrap(read(Fake.attempt(200, #"{"resourceType":"Observation"}"#)))
        guard case .retry(_, let unknown, let counts, _, _) = result else { return XCTFail("\(result)") }
        XCTAssertTrue(unknown, "the next attempt searches first")
        XCTAssertTrue(counts)
        XCTAssertEqual(note, .noIDInAnswer)
        // A login page is not the server's answer at all: as if offline, not counted.
        let (portal, portalNote) = try XCTUnwrap(read(Fake.attempt(200, "<html>login</html>")))
        guard case .retry(_, false, false, _, nil) = portal else { return XCTFail("\(portal)") }
        XCTAssertEqual(portalNote, .notTheReceiver)
    }

    func testADuplicateAsksForASearchAndTheSearchAdopts() throws {
        let refusal = #"{"resourceType":"OperationOutcome","issue":[{"severity":"error","code":"duplicate","details":{"text":"Found duplicate resource"}}]}"#
        guard case .searchForDuplicate(let problem) = reader.single(Fake.attempt(400, refusal), for: Fake.item(1), now: now) else {
            return XCTFail("a duplicate must be searched")
        }
        XCTAssertEqual(problem, "Found duplicate resource")
        let found = Fake.attempt(200, #"{"resourceType":"Bundle","type":"searchset","total":1,"entry":[{"resource":{"resourceType":"Observation","id":"srv-7"}}]}"#)
        let (adopted, note) = reader.adoption(found, refusal: problem, for: Fake.item(1), now: now)
        guard case .completed(let id, _) = adopted else { return XCTFail("\(adopted)") }
        XCTAssertEqual(id, "srv-7")
        XCTAssertEqual(note, .duplicateFound)
        let empty = Fake.attempt(200, #"{"resourceType":"Bundle","type":"searchset","total":0}"#)
        guard case .failed(_, let record) = reader.adoption(empty, refusal: problem, for: Fake.item(1), now: now).0 else { return XCTFail() }
        XCTAssertEqual(record.category, .duplicate)
    }

    func testA412OnAnUpdateIsReadAgainToTellALostAnswerFromSomeoneElsesChange() throws {
        var update = Fake.item(2, .update, resource: .obj(["resourceType": "Observation", "status": "final"]), serverID: "o-9")
        update.serverVersion = "1"
        let refused = Fake.attempt(412, #"{"resourceType":"OperationOutcome","issue":[{"code":"conflict","diagnostics":"version 2, not 1"}]}"#)
        guard case .readServerVersion(let refusal) = reader.single(refused, for: update, now: now) else { return XCTFail("a 412 is read again") }
        XCTAssertTrue(refusal.hasPrefix("412: "), refusal)
        let sent = HTTPCall(method: "PUT", url: Fake.base + "/Observation/o-9", body: Array(#"{"resourceType":"Observation","id":"o-9","status":"final"}"#.utf8))
        // The server holds what was sent (member order and meta aside): ours, the answer was lost.
        let ours = Fake.attempt(200, #"{"resourceType":"Observation","id":"o-9","meta":{"versionId":"2"},"status":"final"}"#)
        guard case (.completed(nil, "2"), .ownVersionFound) = reader.versionCheck(ours, sent: sent, refusal: refusal, for: update, now: now) else {
            return XCTFail("our own version is done")
        }
        // Anything else is someone else's: a conflict with both versions.
        let theirs = Fake.attempt(200, #"{"resourceType":"Observation","id":"o-9","meta":{"versionId":"3"},"status":"amended"}"#, headers: ["etag": "W/\"3\""])
        let (result, note) = reader.versionCheck(theirs, sent: sent, refusal: refusal, for: update, now: now)
        guard case .conflict(let conflict, let record) = result else { return XCTFail("\(result)") }
        XCTAssertEqual(note, .versionConflict)
        XCTAssertEqual(conflict.basedOn, "1")
        XCTAssertEqual(conflict.serverVersion, "3")
        XCTAssertEqual(conflict.serverResource["status"]?.stringValue, "amended")
        XCTAssertEqual(conflict.sentResource["status"]?.stringValue, "final")
        XCTAssertEqual(record.category, .client)
        // A read that fails settles nothing: the update goes again later.
        guard case (.retry, .checkFailed) = reader.versionCheck(Fake.failed(.offline), sent: sent, refusal: refusal, for: update, now: now) else {
            return XCTFail()
        }
        // A create's 412 is a plain refusal.
        guard case .result(.failed, _)? = Optional(reader.single(refused, for: Fake.item(3), now: now)) else { return XCTFail() }
    }

    func testVersionsAreReadFromMetaETagOrLocation() {
        XCTAssertEqual(AnswerReader.version(etag: #"W/"12""#), "12")
        XCTAssertEqual(AnswerReader.version(etag: #""abc""#), "abc")
        XCTAssertNil(AnswerReader.version(etag: #"W/"""#))
        XCTAssertNil(AnswerReader.version(etag: nil))
        XCTAssertEqual(AnswerReader.version(fromLocation: "https://x/fhir/Observation/o1/_history/4"), "4")
        XCTAssertNil(AnswerReader.version(fromLocation: "Observation/o1"))
        let answer = HTTPAnswer(status: 200, headers: ["etag": #"W/"5""#, "location": "Observation/o1/_history/6"])
        XCTAssertEqual(AnswerReader.version(of: answer, try? JSON.parse(#"{"meta":{"versionId":"7"}}"#)), "7", "meta first")
        XCTAssertEqual(AnswerReader.version(of: answer, nil), "5", "then the ETag")
    }

    func testRefusalsAreClassified() throws {
        let outcome = #"{"resourceType":"OperationOutcome","issue":[{"code":"required","details":{"text":"Observation.code is required (RuleNumber: 10001)"},"expression":["code"]}]}"#
        guard case .failed(let message, let record)? = read(Fake.attempt(422, outcome))?.0 else { return XCTFail() }
        XCTAssertEqual(message, "422: Observation.code is required (RuleNumber: 10001) [code]")
        XCTAssertEqual(record.category, .client)
        XCTAssertEqual(record.requestID, "req-1")
        guard case .recheckDependencies? = read(Fake.attempt(404, ""))?.0 else { return XCTFail("404 checks dependencies") }
        guard case .dead? = read(Fake.attempt(405, ""))?.0 else { return XCTFail("405 is permanent") }
        guard case .retry(let delay, _, true, _, let failure)? = read(Fake.attempt(503, "", headers: ["retry-after": "30"]))?.0 else {
            return XCTFail("503 is transient")
        }
        XCTAssertGreaterThanOrEqual(delay, 30, "Retry-After wins when longer")
        XCTAssertEqual(failure?.category, .transient)
    }

    func testALookupThatFindsNoOneHoldsForRegistration() throws {
        let empty = Fake.attempt(200, #"{"resourceType":"Bundle","type":"searchset","total":0}"#)
        guard case .held(let reason)? = read(empty, Fake.item(1, .lookup, type: "Patient"))?.0 else { return XCTFail() }
        XCTAssertEqual(reason, .registrationRequired)
        // A page that is not a search answer is not "nobody": it is tried again.
        guard case .retry? = read(Fake.attempt(200, "<html>login</html>"), Fake.item(1, .lookup, type: "Patient"))?.0 else { return XCTFail() }
    }

    func testOfflineDoesNotCountButAnUnknownOutcomeDoesAndChecksFirst() {
        guard case .retry(_, false, false, _, nil) = reader.retry(Fake.failed(.offline), Fake.item(1), now: now) else { return XCTFail() }
        guard case .retry(_, true, true, _, let failure) = reader.retry(Fake.failed(.outcomeUnknown), Fake.item(1), now: now) else { return XCTFail() }
        XCTAssertEqual(failure?.category, .transient)
    }

    func testEmergencyWebhooksFollowTheirScheduleThenDeadLetter() {
        var delays: [TimeInterval] = []
        for attempts in 0..<6 {
            guard case .retry(let delay, _, true, _, _) = reader.retry(Fake.attempt(503, ""), Fake.item(1, .notify, attempts: attempts, maxRetries: 6, target: .emergency), now: now)
            else { return XCTFail("retry \(attempts)") }
            delays.append(delay)
        }
        XCTAssertEqual(delays, [1, 2, 4, 8, 16, 32])
        guard case .dead(let reason, _) = reader.retry(Fake.attempt(503, ""), Fake.item(1, .notify, attempts: 6, maxRetries: 6, target: .emergency), now: now)
        else { return XCTFail() }
        XCTAssertTrue(reason.hasPrefix("dead-lettered after 6 retries (1, 2, 4, 8, 16, 32 s)"), reason)
    }

    func testABundleAnswerCompletesEachItemFromItsEntry() throws {
        let items = [Fake.item(1, type: "Encounter"), Fake.item(2, .update, type: "Encounter"), Fake.item(3)]
        let plans = [BundleEntryPlan(resourceID: "local-1", itemIDs: [1, 2]), BundleEntryPlan(resourceID: "local-3", itemIDs: [3])]
        let answer = #"{"resourceType":"Bundle","type":"transaction-response","entry":[{"response":{"status":"201 Created","location":"Encounter/e9/_history/1"}},{"response":{"status":"201","resourceID":"o9"}}]}"#
        guard case .results(let results, .bundleCreated, _) = reader.bundle(Fake.attempt(200, answer), items: items, plans: plans, now: now) else {
            return XCTFail()
        }
        XCTAssertEqual(results.map { result -> String in if case .completed(let id, _) = result { return id ?? "nil" } else { return "-" } }, ["e9", "e9", "o9"])
        XCTAssertEqual(results.map { result -> String in if case .completed(_, let version) = result { return version ?? "nil" } else { return "-" } },
                       ["1", "1", "nil"], "the version from the entry's location")
        // An answer with the wrong number of entries proves nothing: unknown outcome.
        guard case .results(let unknown, .bundleMalformedAnswer, _) = reader.bundle(Fake.attempt(200, #"{"resourceType":"Bundle","type":"transaction-response","entry":[]}"#), items: items, plans: plans, now: now),
            case .retry(_, true, _, _, _) = unknown[0]
        else { return XCTFail() }
        // A refusal sends the group singly; a duplicate asks for searches.
        guard case .results(let singly, .bundleRefusedSendingSingly, _) = reader.bundle(Fake.attempt(400, "{}"), items: items, plans: plans, now: now),
            case .sendSingly = singly[0]
        else { return XCTFail() }
        let duplicate = #"{"resourceType":"OperationOutcome","issue":[{"code":"duplicate"}]}"#
        guard case .searchForDuplicates = reader.bundle(Fake.attempt(400, duplicate), items: items, plans: plans, now: now) else { return XCTFail() }
    }

    /// SATUSEHAT's bare array of rule violations is a refusal whatever the status; 20002 means
    /// the resource exists already and is adopted, for single requests and for bundles.
    func testRuleViolationArraysAreRefusalsAnd20002IsADuplicate() throws {
        let violation = #"[{"ruleNumber": "10031", "message": "Medication.extension MedicationType is required"}]"#
        for status in [200, 400] {
            guard case .failed(let message, let record)? = read(Fake.attempt(status, violation))?.0 else { return XCTFail("\(status)") }
            XCTAssertEqual(message, "\(status): Medication.extension MedicationType is required (RuleNumber: 10031)")
            XCTAssertEqual(record.category, .client)
            XCTAssertEqual(read(Fake.attempt(status, violation))?.1, .ruleViolation)
        }
        let duplicate = #"[{"ruleNumber": 20002, "message": "Found duplicate: Observation OBS-1"}]"#
        guard case .searchForDuplicate(let refusal) = reader.single(Fake.attempt(200, duplicate), for: Fake.item(1), now: now) else {
            return XCTFail("20002 is adopted by a search")
        }
        XCTAssertTrue(refusal.contains("RuleNumber: 20002"), refusal)
        let items = [Fake.item(1), Fake.item(2)]
        let plans = [BundleEntryPlan(resourceID: "local-1", itemIDs: [1]), BundleEntryPlan(resourceID: "local-2", itemIDs: [2])]
        guard case .searchForDuplicates = reader.bundle(Fake.attempt(200, duplicate), items: items, plans: plans, now: now) else {
            return XCTFail("a bundle refused with 20002 searches its creates")
        }
        guard case .results(let results, .bundleRefusedSendingSingly, _) = reader.bundle(Fake.attempt(200, violation), items: items, plans: plans, now: now),
            case .sendSingly = results[0]
        else { return XCTFail("any other violation sends the group singly to find the bad resource") }
    }
}
