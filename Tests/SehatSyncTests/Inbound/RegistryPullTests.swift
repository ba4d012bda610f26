import Foundation
import SehatJSON
import SehatSandbox
import SehatStore
import SehatSupport
import XCTest

@testable import SehatSync

/// A clinic with the sandbox's registry behind both sources.
struct RegistryClinic {
    let clinic: TestClinic
    let sandbox: Sandbox
    var client: SehatClient { clinic.client }

    init(people: Int, badRowRate: Double = 0, faults: FaultPlan = FaultPlan(), name: String = #function) throws {
        clinic = try TestClinic(register: false, name: name)
        var configuration = Sandbox.Configuration()
        configuration.registry.people = people
        configuration.registry.badRowRate = badRowRate
        configuration.faults = faults
        let clock = clinic.clock
        configuration.now = { clock.now() }
        sandbox = try Sandbox(configuration: configuration)
        try "sandbox-secret\n".write(toFile: clinic.directory + "/registry-secret", atomically: true, encoding: .utf8)
        for (source, url) in [(RegistrySource.kki, sandbox.kkiURL), (.sisdmk, sandbox.sisdmkURL)] {
            try client.setRegistrySource(RegistrySourceSettings(source: source, baseURL: url, authURL: url + "/oauth/token", clientID: "sandbox-client",
                                                                clientSecretFile: clinic.directory + "/registry-secret"))
        }
    }

    func puller(transport: (any HTTPTransport)? = nil, pageSize: Int = 500) -> RegistryPuller {
        RegistryPuller(client: client, transport: transport, sleeper: ClockSleeper(clock: clinic.clock), pageSize: pageSize, timeout: 5)
    }

    /// Every entry as comparable text (what the registry holds, not when it was pulled).
    func registry() throws -> [String] {
        try client.registryEntries(limit: 1_000_000).map { e in
            [e.strNumber ?? "-", e.nik, e.name, e.birthPlace, e.birthDate ?? "-", e.profession ?? "-", e.strStatus?.rawValue ?? "-",
             e.strValidUntil ?? "-", e.facilityCode ?? "-", e.sources.map(\.rawValue).joined(separator: "+")].joined(separator: "|")
        }.sorted()
    }

    func stop() {
        sandbox.stop()
        clinic.remove()
    }
}

/// A transport that lets a test break the link or the token endpoint mid-pull.
final class Interceptor: HTTPTransport {
    let inner = URLSessionTransport()
    let pageRequests = Locked(0)
    let tokenRequests = Locked(0)
    /// Decides per page request (1-based): nil sends it; an answer or error replaces it.
    let onPage: @Sendable (Int) -> Result<HTTPAnswer, TransportFailure>?
    let onToken: @Sendable (Int) -> HTTPAnswer?

    init(onPage: @escaping @Sendable (Int) -> Result<HTTPAnswer, TransportFailure>? = { _ in nil },
         onToken: @escaping @Sendable (Int) -> HTTPAnswer? = { _ in nil }) {
        (self.onPage, self.onToken) = (onPage, onToken)
    }

    func send(_ call: HTTPCall) async throws -> HTTPAnswer {
        if call.url.contains("/oauth/token") {
            let n = tokenRequests.withLock { $0 += 1; return $0 }
            if let answer = onToken(n) { return answer }
        } else {
            let n = pageRequests.withLock { $0 += 1; return $0 }
            switch onPage(n) {
            case .success(let answer)?: return answer
            case .failure(let failure)?: throw failure
            case nil: break
            }
        }
        return try await inner.send(call)
    }
}

final class RegistryPullTests: XCTestCase {
    func testAFullPullOfTenThousandRowsInPagesThenOnlyWhatChanged() async throws {
        let setup = try RegistryClinic(people: 10_000)
        defer { setup.stop() }
        let report = try await setup.puller().pull(.kki)
        XCTAssertEqual(report.status, .completed)
        XCTAssertEqual([report.pages, report.fetched, report.inserted, report.updated, report.rejected], [20, 10_000, 10_000, 0, 0])
        XCTAssertFalse(report.alert)
        XCTAssertEqual(try setup.client.registryCount(), 10_000)
        let requests = setup.sandbox.requestLog().filter { $0.path.hasSuffix("/practitioners") }
        XCTAssertEqual(requests.count, 20)
        XCTAssertTrue(requests.allSatisfy { $0.requestID?.hasPrefix(report.traceID) == true }, "X-Request-ID carries the batch's trace id")
        XCTAssertFalse(requests[0].query.contains("updated_since"), "the first pull asks for everything")

        // Nothing changed: the next pull asks since the latest updated_at, and changes nothing.
        let again = try await setup.puller().pull(.kki)
        XCTAssertEqual(again.status, .completed)
        XCTAssertEqual(again.inserted + again.updated, 0)
        XCTAssertLessThanOrEqual(again.fetched, 1)
        XCTAssertTrue(setup.sandbox.requestLog().last?.query.contains("updated_since=2025-12-01T02:46:39") == true, setup.sandbox.requestLog().last?.query ?? "")

        // One person's STR is revoked: only that row comes, and that entry changes.
        let nik = setup.sandbox.registryPeople()[42].nik
        setup.clinic.clock.advance(by: 60)
        setup.sandbox.changeRegistry { registry, now in registry.change(nik: nik, at: now) { $0.strStatus = "revoked" } }
        let changed = try await setup.puller().pull(.kki)
        XCTAssertEqual([changed.fetched, changed.updated, changed.unchanged, changed.inserted], [2, 1, 1, 0],
                       "the row at the watermark comes again (updated_since is inclusive) and changes nothing")
        XCTAssertEqual(try setup.client.registryEntries(nik: nik).map(\.strStatus), [.revoked])
        XCTAssertEqual(try setup.client.pullHistory(source: .kki).map(\.status), [.completed, .completed, .completed])
        let metrics = try setup.client.metrics()
        for line in ["sehat_registry_entries 10000", "sehat_pull_batches_total{source=\"kki\",status=\"completed\"} 3",
                     "sehat_pull_rows_total{source=\"kki\",outcome=\"inserted\"} 10000", "sehat_pull_rows_total{source=\"kki\",outcome=\"updated\"} 1"] {
            XCTAssertTrue(metrics.contains(line), line)
        }
        XCTAssertTrue(metrics.contains("sehat_pull_last_completed_timestamp_seconds{source=\"kki\"} 17"), metrics)
    }

    func testBadRowsAreRecordedAndTheBatchGoesOn() async throws {
        for (rate, expectAlert) in [(0.05, false), (0.3, true)] {
            let setup = try RegistryClinic(people: 1_000, badRowRate: rate)
            defer { setup.stop() }
            let report = try await setup.puller(pageSize: 128).pull(.kki)
            let broken = setup.sandbox.registryPeople().filter { !$0.brokenIn.isEmpty }.count
            XCTAssertEqual(report.status, .completed, "\(rate)")
            XCTAssertEqual(report.rejected, broken, "\(rate)")
            XCTAssertEqual(report.inserted, 1_000 - broken, "\(rate): the good rows are stored")
            XCTAssertEqual(report.alert, expectAlert, "\(rate): \(report.failureRate)")
            let rejections = try setup.client.pullRejections(traceID: report.traceID, limit: 10_000)
            XCTAssertEqual(rejections.count, broken)
            XCTAssertEqual(Set(rejections.map(\.field)), ["nik", "birth_date", "name"])
            XCTAssertTrue(rejections.allSatisfy { $0.rowKey.hasPrefix("STR 33") && !$0.reason.isEmpty })
            let alerts = try setup.client.database.read { try $0.scalar("SELECT count(*) FROM alerts WHERE kind = 'pull'").int }
            XCTAssertEqual(alerts, expectAlert ? 1 : 0)
        }
    }

    func testKKIAndSISDMKDescribingTheSamePeopleMergeWhateverTheOrder() async throws {
        let first = try RegistryClinic(people: 300)
        defer { first.stop() }
        let kki = try await first.puller().pull(.kki)
        let sisdmk = try await first.puller().pull(.sisdmk)
        XCTAssertEqual([kki.inserted, sisdmk.inserted, sisdmk.updated], [300, 0, 200], "SISDMK's 200 people are KKI's, by STR or the fallback")
        XCTAssertEqual(try first.client.registryCount(), 300)
        let people = first.sandbox.registryPeople()
        let noSTR = try XCTUnwrap(people.first { $0.inSISDMK && !$0.sisdmkSTR })
        let merged = try XCTUnwrap(try first.client.registryEntries(nik: noSTR.nik).first)
        XCTAssertEqual(merged.sources, [.kki, .sisdmk], "SISDMK's row without an STR matched by NIK, name and birth place")
        XCTAssertEqual(merged.strNumber, noSTR.str)
        XCTAssertEqual(merged.facilityCode, noSTR.facilityCode)
        XCTAssertEqual(merged.strStatus?.rawValue, noSTR.strStatus)

        let second = try RegistryClinic(people: 300)
        defer { second.stop() }
        _ = try await second.puller().pull(.sisdmk)
        _ = try await second.puller().pull(.kki)
        XCTAssertEqual(try second.registry(), try first.registry(), "the same registry in either order")
    }

    func testAnSTRSharedByTwoPeopleFallsBackToNIKNameAndBirthPlace() async throws {
        let setup = try RegistryClinic(people: 20)
        defer { setup.stop() }
        let original = setup.sandbox.registryPeople()[1]
        var impostor = original
        impostor.nik = "3201999999999999"
        impostor.name = "Joko Widodo 999"
        impostor.birthPlace = "Solo"
        setup.sandbox.changeRegistry { registry, _ in registry.add(impostor) }
        _ = try await setup.puller().pull(.kki)
        let holders = try setup.client.registryEntries(str: original.str)
        XCTAssertEqual(Set(holders.map(\.nik)), [original.nik, impostor.nik], "two people, two entries")
        // SISDMK lists both with the shared STR: each joins its own entry by NIK, name and birth place.
        let sisdmk = try await setup.puller().pull(.sisdmk)
        XCTAssertEqual(sisdmk.inserted, 0)
        for nik in [original.nik, impostor.nik] {
            XCTAssertEqual(try setup.client.registryEntries(nik: nik).map(\.sources), [[.kki, .sisdmk]], nik)
        }
        XCTAssertEqual(try setup.client.registryCount(), 21)
    }

    func testAnExpiredTokenIsRefreshedMidPull() async throws {
        let setup = try RegistryClinic(people: 1_000)
        defer { setup.stop() }
        let sandbox = setup.sandbox
        let transport = Interceptor(onPage: { n in
            if n == 3 { sandbox.expireTokens() }
            return nil
        })
        let report = try await setup.puller(transport: transport, pageSize: 100).pull(.kki)
        XCTAssertEqual(report.status, .completed)
        XCTAssertEqual(report.inserted, 1_000)
        XCTAssertEqual(transport.tokenRequests.withLock { $0 }, 2, "one refresh")
        XCTAssertEqual(transport.pageRequests.withLock { $0 }, 11, "the refused page was asked again once")
    }

    func testARefusedRefreshStopsWithAnAlertAndTheNextPullResumes() async throws {
        let setup = try RegistryClinic(people: 1_000)
        defer { setup.stop() }
        let sandbox = setup.sandbox
        let refused = Interceptor(onPage: { n in
            if n == 4 { sandbox.expireTokens() }
            return nil
        }, onToken: { n in n > 1 ? HTTPAnswer(status: 401, body: Array(#"{"error":"invalid_client"}"#.utf8)) : nil })
        let stopped = try await setup.puller(transport: refused, pageSize: 100).pull(.kki)
        XCTAssertEqual(stopped.status, .stopped)
        XCTAssertEqual(stopped.reason, .authRefused)
        XCTAssertTrue(stopped.alert)
        XCTAssertEqual(stopped.inserted, 300)
        let resumed = try await setup.puller(pageSize: 100).pull(.kki)
        XCTAssertEqual(resumed.status, .completed)
        XCTAssertEqual(resumed.inserted, 700, "resumed at the first page not taken")
        XCTAssertEqual(try setup.client.pullHistory(source: .kki).first?.resumes, stopped.traceID)
        XCTAssertEqual(try setup.client.registryCount(), 1_000)
    }

    func testASourceDownForGoodIsTriedThreeTimesThenStopsAndResumesLater() async throws {
        let setup = try RegistryClinic(people: 1_000)
        defer { setup.stop() }
        let down = Interceptor(onPage: { n in n >= 3 ? .failure(TransportFailure(kind: .offline, code: -1009, message: "offline")) : nil })
        let before = setup.clinic.clock.now()
        let stopped = try await setup.puller(transport: down, pageSize: 250).pull(.kki)
        XCTAssertEqual(stopped.status, .stopped)
        XCTAssertEqual(stopped.reason, .unreachable)
        XCTAssertTrue(stopped.alert)
        XCTAssertEqual(down.pageRequests.withLock { $0 }, 5, "two pages, then three tries of the third")
        XCTAssertEqual(setup.clinic.clock.now().timeIntervalSince(before), 3, accuracy: 0.001, "backoff 1 s, then 2 s")
        XCTAssertEqual(try setup.client.registryCount(), 500, "the cache keeps what was taken")
        let resumed = try await setup.puller(pageSize: 250).pull(.kki)
        XCTAssertEqual([resumed.pages, resumed.inserted], [2, 500])
        XCTAssertEqual(try setup.client.registryCount(), 1_000)
        let alerts = try setup.client.database.read { try $0.scalar("SELECT count(*) FROM alerts WHERE kind = 'pull'").int }
        XCTAssertEqual(alerts, 1)
    }

    func testAPageThatIsNotTheSourcesShapeIsRetriedThenStops() async throws {
        let setup = try RegistryClinic(people: 10)
        defer { setup.stop() }
        let portal = Interceptor(onPage: { _ in .success(HTTPAnswer(status: 200, headers: ["content-type": "text/html"], body: Array("<html>login</html>".utf8))) })
        let stopped = try await setup.puller(transport: portal).pull(.kki)
        XCTAssertEqual(stopped.reason, .malformedPage)
        XCTAssertEqual(portal.pageRequests.withLock { $0 }, 3)
        XCTAssertEqual(try setup.client.registryCount(), 0)
    }
}
