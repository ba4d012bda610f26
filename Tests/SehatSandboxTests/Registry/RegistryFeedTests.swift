import Foundation
import SehatJSON
import SehatSandbox
import XCTest

/// The sandbox's KKI and SISDMK as the contract describes them: tokens, paging, the
/// `updated_since` filter, and the admin call that changes, adds and breaks rows.
final class RegistryFeedTests: XCTestCase {
    var sandbox: Sandbox!
    var client: SandboxClient!
    override func tearDown() { sandbox?.stop() }

    private func start(people: Int) throws {
        var configuration = Sandbox.Configuration()
        configuration.registry.people = people
        sandbox = try Sandbox(configuration: configuration)
        client = SandboxClient(sandbox: sandbox)
    }

    private func token(_ root: String) async throws -> String {
        let answer = try await client.call("POST", root + "/oauth/token", body: "grant_type=client_credentials&client_id=sandbox-client&client_secret=sandbox-secret",
                                           contentType: "application/x-www-form-urlencoded")
        XCTAssertEqual(answer.status, 200)
        XCTAssertNotNil(answer.json?["expires_in"]?.intValue, "RFC 6749: expires_in is a number")
        return try XCTUnwrap(answer.json?["access_token"]?.stringValue)
    }

    func testKKIPagesByCursorAndSISDMKByPageNumber() async throws {
        try start(people: 25)
        let anonymous = try await client.call("GET", sandbox.kkiURL + "/practitioners?limit=10")
        XCTAssertEqual(anonymous.status, 401)
        let kki = try await token(sandbox.kkiURL)
        var cursor: String?
        var rows: [JSON] = []
        repeat {
            let page = try await client.call("GET", sandbox.kkiURL + "/practitioners?limit=10" + (cursor.map { "&cursor=\($0)" } ?? ""), token: kki)
            XCTAssertEqual(page.status, 200)
            rows += page.json?["data"]?.arrayValue ?? []
            cursor = page.json?["next_cursor"]?.stringValue
        } while cursor != nil
        XCTAssertEqual(rows.count, 25)
        XCTAssertEqual(Set(rows.compactMap { $0["nik"]?.stringValue }).count, 25)
        XCTAssertEqual(rows[0].members?.map(\.key), ["str_number", "nik", "name", "birth_place", "birth_date", "profession", "str_status",
                                                     "str_valid_until", "updated_at"])

        let sisdmk = try await token(sandbox.sisdmkURL)
        let first = try await client.call("GET", sandbox.sisdmkURL + "/tenaga-kesehatan?page=1&per_page=10", token: sisdmk)
        XCTAssertEqual(first.json?.value(at: "meta.total")?.intValue, 17, "two in three people are in SISDMK")
        XCTAssertEqual(first.json?["data"]?[0]?.members?.map(\.key),
                       ["nik", "nama", "tempat_lahir", "tanggal_lahir", "jenis_nakes", "str", "fasyankes", "updated_at"])
        let bad = try await client.call("GET", sandbox.sisdmkURL + "/tenaga-kesehatan?page=0&per_page=10", token: sisdmk)
        XCTAssertEqual(bad.status, 400)
    }

    func testTheAdminAPIChangesAddsAndBreaksRowsBetweenPulls() async throws {
        try start(people: 10)
        let kki = try await token(sandbox.kkiURL)
        let since = "2030-01-01T00:00:00Z"
        let none = try await client.call("GET", sandbox.kkiURL + "/practitioners?updated_since=\(since)", token: kki)
        XCTAssertEqual(none.json?["data"]?.arrayValue?.count, 0)
        let admin = sandbox.adminToken
        let nik = sandbox.registryPeople()[2].nik
        for body in [#"{"op": "change", "nik": "\#(nik)", "str_status": "revoked"}"#, #"{"op": "add", "count": 3}"#,
                     #"{"op": "break", "nik": "\#(sandbox.registryPeople()[4].nik)"}"#] {
            let answer = try await client.call("POST", sandbox.rootURL + "/admin/registry", body: body, token: admin, contentType: "application/json")
            XCTAssertEqual(answer.status, 200, answer.body)
        }
        let refused = try await client.call("POST", sandbox.rootURL + "/admin/registry", body: #"{"op": "explode"}"#, token: admin, contentType: "application/json")
        XCTAssertEqual(refused.status, 400)
        XCTAssertEqual(sandbox.registryPeople().count, 13)
        XCTAssertEqual(sandbox.registryPeople()[2].strStatus, "revoked")
        // Changed rows carry the sandbox's now as updated_at: they come first in a pull since then.
        let changed = try await client.call("GET", sandbox.kkiURL + "/practitioners?updated_since=2026-01-01T00:00:00Z", token: kki)
        XCTAssertEqual(changed.json?["data"]?.arrayValue?.count, 5, "the change, the break and the three added")
    }
}
