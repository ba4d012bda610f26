import SehatSupport
import Foundation
import SehatFHIR
import SehatJSON
import XCTest

@testable import SehatSandbox

final class SandboxTests: XCTestCase {
    static let now = try! FHIRDateTime.parse("2026-01-10T10:00:00Z")
    let clock = Locked(SandboxTests.now)
    var sandbox: Sandbox!
    var client: SandboxClient!
    /// Where the sandbox keeps resources (the disk test runs the others on disk).
    var storage = Sandbox.Storage.memory

    private func start(_ mode: Sandbox.Mode = .satusehat, seed: [JSON] = []) throws {
        sandbox?.stop()
        var configuration = Sandbox.Configuration()
        configuration.mode = mode
        configuration.storage = storage
        configuration.resources = seed
        let clock = self.clock
        configuration.now = { clock.withLock { $0 } }
        sandbox = try Sandbox(configuration: configuration)
        client = SandboxClient(sandbox: sandbox)
    }

    override func tearDown() { sandbox?.stop() }

    let org = "10000004"
    static let patientSeed = try! JSON.parse(#"{"resourceType":"Patient","id":"P02478375538","identifier":[{"system":"https://fhir.kemkes.go.id/id/nik","value":"3171022309900001"}],"name":[{"text":"Budi"}]}"#)

    private func encounter(_ value: String = "ENC-1", org: String = "10000004", status: String = "finished") -> String {
        """
        {"resourceType":"Encounter","identifier":[{"system":"http://sys-ids.kemkes.go.id/encounter/\(org)","value":"\(value)"}],
         "status":"\(status)","class":{"system":"http://terminology.hl7.org/CodeSystem/v3-ActCode","code":"AMB"},
         "subject":{"reference":"Patient/P02478375538"},"participant":[{"individual":{"reference":"Practitioner/N1"}}],
         "period":{"start":"2026-01-10T02:00:00+00:00","end":"2026-01-10T03:00:00+00:00"},
         "location":[{"location":{"reference":"Organization/10000004"}}],
         "statusHistory":[{"status":"arrived","period":{"start":"2026-01-10T02:00:00+00:00"}}],
         "serviceProvider":{"reference":"Organization/\(org)"}}
        """
    }

    /// N1 serves at the visit's location: SATUSEHAT's prerequisite for an AMB Encounter there.
    private var roleSeed: JSON {
        try! JSON.parse(#"{"resourceType":"PractitionerRole","id":"R1","practitioner":{"reference":"Practitioner/N1"},"organization":{"reference":"Organization/10000004"},"location":[{"reference":"Organization/10000004"}]}"#)
    }

    private var practitionerSeed: JSON { try! JSON.parse(#"{"resourceType":"Practitioner","id":"N1","identifier":[{"system":"https://fhir.kemkes.go.id/id/nik","value":"3171021505800003"}]}"#) }

    func testTokenFieldsAreStringsAndBadCredentialsLockTheClientOut() async throws {
        try start()
        let good = try await client.token()
        XCTAssertEqual(good.status, 200)
        XCTAssertEqual(good.json?["expires_in"], "3599")
        XCTAssertEqual(good.json?["token_type"], "BearerToken")
        XCTAssertNotNil(good.json?["issued_at"]?.stringValue)
        let bad = try await client.token(secret: "wrong")
        XCTAssertEqual(bad.status, 401)
        XCTAssertEqual(bad.json?["issue"]?[0]?["severity"], "invalid")
        let locked = try await client.token()
        XCTAssertEqual(locked.status, 429, "one request per minute after a failure")
        XCTAssertEqual(locked.headers["retry-after"], "60")
        clock.withLock { $0 = $0.addingTimeInterval(61) }
        let after = try await client.token()
        XCTAssertEqual(after.status, 200)
    }

    func testFHIRNeedsAValidUnexpiredToken() async throws {
        try start()
        let none = try await client.call("GET", sandbox.fhirBaseURL + "/Patient?identifier=x|y")
        XCTAssertEqual(none.status, 401)
        XCTAssertEqual(none.json?.value(at: "fault.detail.errorcode"), "keymanagement.service.invalid_access_token")
        let token = try await client.accessToken()
        let ok = try await client.call("GET", sandbox.fhirBaseURL + "/Patient?identifier=x|y", token: token)
        XCTAssertEqual(ok.status, 200)
        XCTAssertEqual(ok.json?["total"], 0)
        XCTAssertNil(ok.json?["entry"])
        sandbox.expireTokens()
        let expired = try await client.call("GET", sandbox.fhirBaseURL + "/Patient?identifier=x|y", token: token)
        XCTAssertEqual(expired.status, 401)
        XCTAssertEqual(expired.json?.value(at: "fault.faultstring"), "Access Token expired")
    }

    func testCreateAnswersLikeSATUSEHATAndDuplicatesAreRefused() async throws {
        try start(seed: [SandboxTests.patientSeed, practitionerSeed, roleSeed])
        let token = try await client.accessToken()
        let created = try await client.call("POST", sandbox.fhirBaseURL + "/Encounter", body: encounter(), token: token)
        XCTAssertEqual(created.status, 201, created.body)
        let id = try XCTUnwrap(created.json?["id"]?.stringValue)
        XCTAssertEqual(UUID(uuidString: id)?.uuidString.lowercased(), id)
        XCTAssertTrue(created.headers["location"]?.hasSuffix("/Encounter/\(id)/_history/1") == true, "\(created.headers)")
        XCTAssertEqual(created.headers["etag"], "W/\"1\"")
        XCTAssertEqual(created.json?.value(at: "meta.versionId"), "1")
        let again = try await client.call("POST", sandbox.fhirBaseURL + "/Encounter", body: encounter(), token: token)
        XCTAssertEqual(again.status, 400)
        XCTAssertEqual(again.json?["issue"]?[0]?["code"], "duplicate")
        let found = try await client.call("GET", sandbox.fhirBaseURL + "/Encounter?identifier=http://sys-ids.kemkes.go.id/encounter/10000004|ENC-1", token: token)
        XCTAssertEqual(found.json?["total"], 1)
        XCTAssertEqual(found.json?["entry"]?[0]?["resource"]?["id"]?.stringValue, id)
        XCTAssertEqual(found.json?["entry"]?[0]?.value(at: "search.mode"), "match")
    }

    func testSATUSEHATRulesAreEnforced() async throws {
        try start(seed: [SandboxTests.patientSeed, practitionerSeed, roleSeed])
        let token = try await client.accessToken()
        let wrongOrg = try await client.call("POST", sandbox.fhirBaseURL + "/Encounter", body: encounter(org: "999"), token: token)
        XCTAssertEqual(wrongOrg.status, 400)
        XCTAssertTrue(wrongOrg.body.contains("Wrong organization ID provided by system URL"))
        XCTAssertTrue(wrongOrg.body.contains("(RuleNumber: 10117)"))
        let danglingRef = try await client.call("POST", sandbox.fhirBaseURL + "/Encounter",
                                                body: encounter().replacingOccurrences(of: "Patient/P02478375538", with: "Patient/nope"), token: token)
        XCTAssertEqual(danglingRef.status, 400)
        XCTAssertTrue(danglingRef.body.contains("Reference Patient/nope does not exist"))
        let future = try await client.call("POST", sandbox.fhirBaseURL + "/Encounter",
                                           body: encounter().replacingOccurrences(of: "2026-01-10T03:00:00+00:00", with: "2026-01-11T03:00:00+00:00"), token: token)
        XCTAssertEqual(future.status, 400)
        XCTAssertTrue(future.body.contains("in the future"))
        var missing = try JSON.parse(encounter())
        missing["statusHistory"] = nil
        let noHistory = try await client.call("POST", sandbox.fhirBaseURL + "/Encounter", body: missing.text, token: token)
        XCTAssertTrue(noHistory.body.contains("statusHistory"), noHistory.body)
        XCTAssertEqual(sandbox.counts()["Encounter"], nil)
    }

    func testUpdateBumpsTheVersionAndFinishedIsFinal() async throws {
        try start(seed: [SandboxTests.patientSeed, practitionerSeed, roleSeed])
        let token = try await client.accessToken()
        let created = try await client.call("POST", sandbox.fhirBaseURL + "/Encounter", body: encounter(), token: token)
        var json = try XCTUnwrap(created.json)
        let id = json["id"]!.stringValue!
        json["status"] = "in-progress"
        let back = try await client.call("PUT", sandbox.fhirBaseURL + "/Encounter/\(id)", body: json.text, token: token)
        XCTAssertEqual(back.status, 400)
        json["status"] = "finished"
        let same = try await client.call("PUT", sandbox.fhirBaseURL + "/Encounter/\(id)", body: json.text, token: token)
        XCTAssertEqual(same.status, 200, same.body)
        XCTAssertEqual(same.headers["etag"], "W/\"2\"")
        let missing = try await client.call("PUT", sandbox.fhirBaseURL + "/Encounter/nope", body: json.text, token: token)
        XCTAssertEqual(missing.status, 404)
    }

    /// Versions: `If-Match` naming an older version is a 412 and changes nothing; any record —
    /// a finished visit too — can be withdrawn as entered-in-error by an update.
    func testIfMatchGuardsUpdatesAndRecordsCanBeEnteredInError() async throws {
        try start(seed: [SandboxTests.patientSeed, practitionerSeed, roleSeed])
        let token = try await client.accessToken()
        let created = try await client.call("POST", sandbox.fhirBaseURL + "/Encounter", body: encounter(), token: token)
        var json = try XCTUnwrap(created.json)
        let id = json["id"]!.stringValue!
        let url = sandbox.fhirBaseURL + "/Encounter/\(id)"
        XCTAssertEqual(created.headers["etag"], "W/\"1\"")
        let first = try await client.call("PUT", url, body: json.text, token: token, headers: ["If-Match": "W/\"1\""])
        XCTAssertEqual(first.status, 200, first.body)
        XCTAssertEqual(first.json?.value(at: "meta.versionId")?.stringValue, "2")
        let stale = try await client.call("PUT", url, body: json.text, token: token, headers: ["If-Match": "W/\"1\""])
        XCTAssertEqual(stale.status, 412, stale.body)
        XCTAssertTrue(stale.body.contains("conflict"), stale.body)
        let current = try await client.call("GET", url, token: token)
        XCTAssertEqual(current.json?.value(at: "meta.versionId")?.stringValue, "2", "a refused update changes nothing")
        // In a transaction, a stale request.ifMatch refuses the whole bundle with 412.
        json["id"] = .string(id)
        let bundle = #"{"resourceType":"Bundle","type":"transaction","entry":[{"resource":\#(json.text),"request":{"method":"PUT","url":"Encounter/\#(id)","ifMatch":"W/\"1\""}}]}"#
        let refused = try await client.call("POST", sandbox.fhirBaseURL, body: bundle, token: token)
        XCTAssertEqual(refused.status, 412, refused.body)
        // Withdrawn: the finished visit becomes entered-in-error (it cannot go back to in-progress).
        json["status"] = "entered-in-error"
        let withdrawn = try await client.call("PUT", url, body: json.text, token: token, headers: ["If-Match": "\"2\""])
        XCTAssertEqual(withdrawn.status, 200, withdrawn.body)
        XCTAssertEqual(withdrawn.headers["etag"], "W/\"3\"")
    }

    func testTransactionsAreAtomicWithURNReferences() async throws {
        try start(seed: [SandboxTests.patientSeed, practitionerSeed, roleSeed])
        let token = try await client.accessToken()
        let condition = #"{"resourceType":"Condition","identifier":[{"system":"http://sys-ids.kemkes.go.id/condition/10000004","value":"C1"}],"clinicalStatus":{"coding":[{"code":"active"}]},"category":[{"coding":[{"code":"encounter-diagnosis"}]}],"code":{"coding":[{"system":"http://hl7.org/fhir/sid/icd-10","code":"J06.9"}]},"subject":{"reference":"Patient/P02478375538"},"encounter":{"reference":"urn:uuid:e1"}}"#
        func bundle(_ entries: [(String, String)]) -> String {
            "{\"resourceType\":\"Bundle\",\"type\":\"transaction\",\"entry\":[" + entries.map { url, resource in
                "{\"fullUrl\":\"\(url)\",\"resource\":\(resource),\"request\":{\"method\":\"POST\",\"url\":\"\(resource.contains("\"Encounter\"") ? "Encounter" : "Condition")\"}}"
            }.joined(separator: ",") + "]}"
        }
        let good = try await client.call("POST", sandbox.fhirBaseURL, body: bundle([("urn:uuid:e1", encounter()), ("urn:uuid:c1", condition)]), token: token)
        XCTAssertEqual(good.status, 200, good.body)
        let entries = try XCTUnwrap(good.json?["entry"]?.arrayValue)
        XCTAssertEqual(entries.map { $0.value(at: "response.status")?.stringValue }, ["201 Created", "201 Created"])
        let encounterID = try XCTUnwrap(entries[0].value(at: "response.resourceID")?.stringValue)
        XCTAssertEqual(entries[0].value(at: "response.resourceType"), "Encounter")
        XCTAssertEqual(sandbox.resources(ofType: "Condition").first?.value(at: "encounter.reference")?.stringValue, "Encounter/\(encounterID)")
        // A duplicate inside a bundle rejects the whole bundle with a top-level OperationOutcome.
        let replay = try await client.call("POST", sandbox.fhirBaseURL,
                                           body: bundle([("urn:uuid:e2", encounter("ENC-2")), ("urn:uuid:c1", condition.replacingOccurrences(of: "urn:uuid:e1", with: "urn:uuid:e2"))]),
                                           token: token)
        XCTAssertEqual(replay.status, 400)
        XCTAssertEqual(replay.json?["resourceType"], "OperationOutcome")
        XCTAssertEqual(replay.json?["issue"]?[0]?["code"], "duplicate")
        XCTAssertEqual(sandbox.counts()["Encounter"], 1, "nothing of the rejected bundle was stored")
    }

    /// On disk the sandbox judges by the same rules: creates, duplicates, searches, versions,
    /// atomic transactions and references, roles; its scratch file goes with it.
    func testOnDiskTheSameRulesHoldAndTheFileGoesWithTheSandbox() async throws {
        let directory = NSTemporaryDirectory() + "sandbox-disk-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        storage = .disk(directory: directory)
        try await testCreateAnswersLikeSATUSEHATAndDuplicatesAreRefused()
        try await testIfMatchGuardsUpdatesAndRecordsCanBeEnteredInError()
        try await testTransactionsAreAtomicWithURNReferences()
        try await testAVisitNeedsItsPractitionersRoleAtTheLocation()
        try await testFHIRModeKeepsReferencesButNotSATUSEHATRules()
        func scratchFiles() throws -> Int { try FileManager.default.contentsOfDirectory(atPath: directory).filter { $0.hasSuffix(".db") }.count }
        XCTAssertEqual(try scratchFiles(), 1, "each sandbox replaced took its file with it")
        // Stopping removes it at once, though the server's threads may still hold the sandbox.
        sandbox.stop()
        XCTAssertEqual(try scratchFiles(), 0)
    }

    func testFHIRModeKeepsReferencesButNotSATUSEHATRules() async throws {
        try start(.fhir, seed: [SandboxTests.patientSeed, practitionerSeed, roleSeed])
        let token = try await client.accessToken()
        let eob = #"{"resourceType":"ExplanationOfBenefit","identifier":[{"system":"https://example.org","value":"same"}],"patient":{"reference":"Patient/P02478375538"}}"#
        for _ in 0..<2 {
            let created = try await client.call("POST", sandbox.fhirBaseURL + "/ExplanationOfBenefit", body: eob, token: token)
            XCTAssertEqual(created.status, 201, "a plain FHIR server does not enforce identifier uniqueness")
        }
        let old = try await client.call("POST", sandbox.fhirBaseURL + "/Encounter",
                                        body: encounter().replacingOccurrences(of: "encounter/10000004", with: "encounter/999")
                                            .replacingOccurrences(of: "2026-01-10", with: "1975-01-10"), token: token)
        XCTAssertEqual(old.status, 201, old.body)
        let dangling = try await client.call("POST", sandbox.fhirBaseURL + "/Observation",
                                             body: #"{"resourceType":"Observation","subject":{"reference":"Patient/nope"}}"#, token: token)
        XCTAssertEqual(dangling.status, 400)
        let conditional = try await client.call("POST", sandbox.fhirBaseURL + "/Observation",
                                                body: #"{"resourceType":"Observation","performer":[{"reference":"Practitioner?identifier=https%3A%2F%2Ffhir.kemkes.go.id%2Fid%2Fnik%7C3171021505800003"}]}"#, token: token)
        XCTAssertEqual(conditional.status, 201, conditional.body)
        XCTAssertEqual(conditional.json?["performer"]?[0]?["reference"], "Practitioner/N1")
    }

    func testFaultsFollowThePlan() async throws {
        try start()
        let token = try await client.accessToken()
        var plan = FaultPlan()
        plan.statusRates[503] = 1
        sandbox.setFaults(plan)
        let unavailable = try await client.call("GET", sandbox.fhirBaseURL + "/Patient", token: token)
        XCTAssertEqual(unavailable.status, 503)
        XCTAssertEqual(unavailable.headers["content-type"], "text/plain")
        sandbox.setFaults(try FaultPlan(spec: "429=1,retry-after=7"))
        let throttled = try await client.call("GET", sandbox.fhirBaseURL + "/Patient", token: token)
        XCTAssertEqual(throttled.status, 429)
        XCTAssertEqual(throttled.headers["retry-after"], "7")
        sandbox.setFaults(try FaultPlan(spec: "drop=1"))
        do {
            _ = try await client.call("GET", sandbox.fhirBaseURL + "/Patient", token: token)
            XCTFail("a dropped connection must fail")
        } catch {}
        XCTAssertEqual(sandbox.requestLog().last?.fault, "drop")
        XCTAssertThrowsError(try FaultPlan(spec: "418=0.5"))
        XCTAssertThrowsError(try FaultPlan(spec: "500=0.7,503=0.5"))
        XCTAssertEqual(try FaultPlan(spec: "500=0.1,drop=0.2").decide(0.25), .drop)
    }

    /// `ratelimit=N`: the platform's own budget, said on every answer (seeds/000 §3.4) and
    /// enforced with 429 and `Retry-After` until the window resets.
    func testTheRateLimitIsSaidOnEveryAnswerAndEnforced() async throws {
        try start()
        let token = try await client.accessToken()
        sandbox.setFaults(try FaultPlan(spec: "ratelimit=2,ratelimit-window=30"))
        let reset = String(Int64(SandboxTests.now.timeIntervalSince1970) + 30)
        for left in ["1", "0"] {
            let answer = try await client.call("GET", sandbox.fhirBaseURL + "/Patient", token: token)
            XCTAssertEqual(answer.status, 200)
            XCTAssertEqual(answer.headers["x-ratelimit-limit"], "2")
            XCTAssertEqual(answer.headers["x-ratelimit-remaining"], left)
            XCTAssertEqual(answer.headers["x-ratelimit-reset"], reset)
        }
        let throttled = try await client.call("GET", sandbox.fhirBaseURL + "/Patient", token: token)
        XCTAssertEqual(throttled.status, 429)
        XCTAssertEqual(throttled.headers["retry-after"], "30")
        clock.withLock { $0 = SandboxTests.now.addingTimeInterval(30) }
        let next = try await client.call("GET", sandbox.fhirBaseURL + "/Patient", token: token)
        XCTAssertEqual(next.status, 200, "a new window")
        XCTAssertEqual(next.headers["x-ratelimit-remaining"], "1")
        XCTAssertThrowsError(try FaultPlan(spec: "ratelimit-window=0"), "a window is at least a second")
        XCTAssertEqual(try FaultPlan(spec: "ratelimit=5,ratelimit-window=10").description, "ratelimit=5,ratelimit-window=10")
    }

    func testCommitThenDropStoresTheResourceButAnswersNothing() async throws {
        try start(seed: [SandboxTests.patientSeed, practitionerSeed, roleSeed])
        let token = try await client.accessToken()
        sandbox.setFaults(try FaultPlan(spec: "commit-drop=1"))
        do {
            // A new session: on Linux a POST dropped on a reused keep-alive connection is only
            // noticed at the request timeout (docs/design-notes.md); a fresh one fails at once.
            _ = try await SandboxClient(sandbox: sandbox).call("POST", sandbox.fhirBaseURL + "/Encounter", body: encounter(), token: token)
            XCTFail("the answer must be lost")
        } catch {}
        XCTAssertEqual(sandbox.counts()["Encounter"], 1, "the server committed before dropping the connection")
    }
}

extension SandboxTests {
    /// Testers change faults, expire tokens and read state over HTTP while it runs.
    func testTheAdminAPIChangesFaultsAtRuntime() async throws {
        try start()
        let token = try await client.accessToken()
        let admin = sandbox.adminToken
        for (method, path) in [("POST", "/admin/faults"), ("GET", "/admin/state"), ("GET", "/admin/requests"), ("POST", "/admin/seed")] {
            let anonymous = try await client.call(method, sandbox.rootURL + path, body: method == "POST" ? "503=1" : nil, contentType: "text/plain")
            XCTAssertEqual(anonymous.status, 401, "\(method) \(path) without the admin token")
            let wrong = try await client.call(method, sandbox.rootURL + path, body: method == "POST" ? "503=1" : nil, token: "not-the-token")
            XCTAssertEqual(wrong.status, 401, "\(method) \(path) with a wrong token")
        }
        XCTAssertTrue(sandbox.faults().isQuiet, "an unauthenticated request changed nothing")
        let set = try await client.call("POST", sandbox.rootURL + "/admin/faults", body: "503=1", token: admin, contentType: "text/plain")
        XCTAssertEqual(set.status, 200)
        let refused = try await client.call("GET", sandbox.fhirBaseURL + "/Patient", token: token)
        XCTAssertEqual(refused.status, 503)
        let bad = try await client.call("POST", sandbox.rootURL + "/admin/faults", body: "999=1", token: admin, contentType: "text/plain")
        XCTAssertEqual(bad.status, 400)
        _ = try await client.call("POST", sandbox.rootURL + "/admin/faults", body: "", token: admin, contentType: "text/plain")
        let healed = try await client.call("GET", sandbox.fhirBaseURL + "/Patient", token: token)
        XCTAssertEqual(healed.status, 200)
        let expire = try await client.call("POST", sandbox.rootURL + "/admin/expire-tokens", token: admin)
        XCTAssertEqual(expire.status, 200)
        let expired = try await client.call("GET", sandbox.fhirBaseURL + "/Patient", token: token)
        XCTAssertEqual(expired.status, 401)
        let seeded = try await client.call("POST", sandbox.rootURL + "/admin/seed", body: "[\(SandboxTests.patientSeed.text)]", token: admin, contentType: "application/json")
        XCTAssertEqual(seeded.status, 200)
        let state = try await client.call("GET", sandbox.rootURL + "/admin/state", token: admin)
        XCTAssertEqual(state.json?.value(at: "counts.Patient")?.intValue, 1)
        let requests = try await client.call("GET", sandbox.rootURL + "/admin/requests", token: admin)
        XCTAssertEqual(requests.json?.arrayValue?.compactMap { $0["status"]?.intValue }.suffix(1), [401])
    }

    /// A clinic visit whose practitioner has no PractitionerRole at its location is refused.
    func testAVisitNeedsItsPractitionersRoleAtTheLocation() async throws {
        try start(seed: [SandboxTests.patientSeed, practitionerSeed])
        let token = try await client.accessToken()
        let refused = try await client.call("POST", sandbox.fhirBaseURL + "/Encounter", body: encounter(), token: token)
        XCTAssertEqual(refused.status, 400)
        XCTAssertTrue(refused.body.contains("RuleNumber: 10401"), refused.body)
    }
}
