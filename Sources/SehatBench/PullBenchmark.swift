import Foundation
import SehatSupport
import SehatFHIR
import SehatJSON
import SehatStore
import SehatSandbox
import SehatSync

/// `sehat bench pull`: a full KKI pull of N practitioners from the in-process sandbox on
/// loopback, beside a baseline that fetches the same pages and upserts each row with one
/// statement of its own (its own transaction), as a naive importer would.
package enum PullBenchmark {
    /// The figures of one run.
    package struct Result {
        /// Practitioners pulled, and rows a page.
        package let rows: Int
        package let pageSize: Int
        /// Wall time of the pull.
        package let seconds: Double
        /// Rows per second.
        package var rowsPerSecond: Double { seconds > 0 ? Double(rows) / seconds : 0 }
        /// The process's resident memory at its highest during the pull, above where it started (MB).
        package let peakExtraMB: Double
        /// The baseline's rows and wall time.
        package let baselineRows: Int
        package let baselineSeconds: Double
        package var baselineRowsPerSecond: Double { baselineSeconds > 0 ? Double(baselineRows) / baselineSeconds : 0 }
    }

    /// Runs both sides against one in-process sandbox; `progress` hears each side's result.
    package static func run(rows: Int, pageSize: Int, baselineRows: Int, directory: String, progress: (String) -> Void) throws -> Result {
        var configuration = Sandbox.Configuration()
        configuration.registry.people = rows
        let sandbox = try Sandbox(configuration: configuration)
        defer { sandbox.stop() }
        let secret = directory + "/registry-secret"
        try "sandbox-secret\n".write(toFile: secret, atomically: true, encoding: .utf8)

        let client = try SehatClient(path: directory + "/pull.db")
        try client.configure(Configuration(orgID: SampleClinic.orgID, clientID: "c", clientSecretFile: secret))
        try client.setRegistrySource(RegistrySourceSettings(source: .kki, baseURL: sandbox.kkiURL, authURL: sandbox.kkiURL + "/oauth/token",
                                                            clientID: "sandbox-client", clientSecretFile: secret))
        let puller = RegistryPuller(client: client, pageSize: pageSize)
        let before = residentMB()
        let peak = Locked(before)
        let sampling = Locked(true)
        let sampler = Thread {
            while sampling.withLock({ $0 }) {
                let now = residentMB()
                peak.withLock { $0 = max($0, now) }
                Thread.sleep(forTimeInterval: 0.005)
            }
        }
        sampler.start()
        let start = DispatchTime.now().uptimeNanoseconds
        let report = try waitFor { try await puller.pull(.kki, full: true) }
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        sampling.withLock { $0 = false }
        guard report.status == .completed, report.inserted == rows else {
            throw SyncBenchmark.BenchError(message: "the pull did not take every row: \(report.status.rawValue), \(report.inserted) of \(rows)")
        }
        progress(String(format: "sdk: %d rows in %.2f s", rows, seconds))

        let baseline = try baselineSide(rows: min(baselineRows, rows), pageSize: pageSize, url: sandbox.kkiURL, directory: directory)
        progress(String(format: "baseline: %d rows in %.2f s", baseline.rows, baseline.seconds))
        return Result(rows: rows, pageSize: pageSize, seconds: seconds, peakExtraMB: peak.withLock { $0 } - before,
                      baselineRows: baseline.rows, baselineSeconds: baseline.seconds)
    }

    /// The same pages over the same loopback, each row upserted by one statement in its own transaction.
    private static func baselineSide(rows: Int, pageSize: Int, url: String, directory: String) throws -> (rows: Int, seconds: Double) {
        let database = try Database(path: directory + "/baseline.db")
        try database.write {
            try $0.executeScript("""
                CREATE TABLE IF NOT EXISTS practitioners (str_number TEXT PRIMARY KEY, nik TEXT NOT NULL, name TEXT NOT NULL, birth_place TEXT,
                    birth_date TEXT, profession TEXT, str_status TEXT, str_valid_until TEXT, updated_at TEXT);
                """)
        }
        let transport = URLSessionTransport()
        func fetch(_ call: HTTPCall) throws -> [UInt8] {
            try waitFor { try await transport.send(call).body }
        }
        let token = try JSON.parse(bytes: try fetch(HTTPCall(
            method: "POST", url: url + "/oauth/token", headers: ["Content-Type": "application/x-www-form-urlencoded"],
            body: Array("grant_type=client_credentials&client_id=sandbox-client&client_secret=sandbox-secret".utf8))))["access_token"]?.stringValue ?? ""
        let start = DispatchTime.now().uptimeNanoseconds
        var cursor: String?
        var taken = 0
        repeat {
            let page = try JSON.parse(bytes: try fetch(HTTPCall(
                method: "GET", url: url + "/practitioners?limit=\(pageSize)" + (cursor.map { "&cursor=\($0)" } ?? ""),
                headers: ["Authorization": "Bearer \(token)"])))
            for row in page["data"]?.arrayValue ?? [] where taken < rows {
                func text(_ key: String) -> SQLValue { row[key]?.stringValue.map(SQLValue.text) ?? .null }
                try database.write {
                    try $0.execute("""
                        INSERT INTO practitioners VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(str_number) DO UPDATE SET nik = excluded.nik,
                            name = excluded.name, birth_place = excluded.birth_place, birth_date = excluded.birth_date, profession = excluded.profession,
                            str_status = excluded.str_status, str_valid_until = excluded.str_valid_until, updated_at = excluded.updated_at
                        """, [text("str_number"), text("nik"), text("name"), text("birth_place"), text("birth_date"), text("profession"),
                              text("str_status"), text("str_valid_until"), text("updated_at")])
                }
                taken += 1
            }
            cursor = page["next_cursor"]?.stringValue
        } while cursor != nil && taken < rows
        return (taken, Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
    }

    /// This process's resident set (MB), from /proc.
    static func residentMB() -> Double {
        guard let statm = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8),
            let pages = statm.split(separator: " ").dropFirst().first.flatMap({ Double($0) })
        else { return 0 }
        return pages * Double(sysconf(Int32(_SC_PAGESIZE))) / 1_048_576
    }
}
