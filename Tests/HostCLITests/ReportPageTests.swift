import Foundation
import SehatJSON
import SehatStore
import SehatSupport
import XCTest

/// `sehat report` in a real browser: headless Chromium (Debian's `chromium`, which `.ci/run`
/// installs) renders the page; the rendered DOM must hold the numbers the database holds —
/// counted here with this test's own SQL — in both languages, and the file may reference
/// nothing outside itself.
final class ReportPageTests: XCTestCase {
    var sehat: SehatProcess!

    override func setUpWithError() throws { sehat = try SehatProcess() }
    override func tearDown() { sehat.remove() }

    static let chromium = ["/usr/bin/chromium", "/usr/bin/chromium-browser"].first { FileManager.default.isExecutableFile(atPath: $0) }

    func testTheReportRendersTheDatabasesNumbersInBothLanguages() throws {
        // A clinic morning synced to the sandbox (visits, a panic report, requests), then a
        // visit recorded after it (waiting), and two registry pulls and an alert as the
        // puller and the engine record them.
        let demo = try sehat.run(["demo", "--json"], timeout: 120)
        XCTAssertEqual(demo.status, 0, demo.stderr)
        let path = try XCTUnwrap(try JSON.parse(demo.stdout)["database"]?.stringValue)
        defer { try? FileManager.default.removeItem(atPath: (path as NSString).deletingLastPathComponent) }
        let example = try String(contentsOf: SehatProcess.repositoryRoot.appendingPathComponent("Schemas/examples/encounter.json"), encoding: .utf8)
        let recorded = try sehat.run(["--db", path, "encounter", "record", "--file", "-"], stdin: example)
        XCTAssertEqual(recorded.status, 0, recorded.stderr)
        let database = try Database(path: path)
        let now = try XCTUnwrap(try database.read { try $0.scalar("SELECT max(created_at) FROM outbox").string })
        try database.write { conn in
            try conn.execute(
                """
                INSERT INTO pull_batches(trace_id, source, full_pull, status, fetched, inserted, updated, unchanged, rejected, started_at, finished_at, duration_ms)
                VALUES ('t-1', 'kki', 1, 'completed', 40, 31, 2, 4, 3, ?, ?, 1200), ('t-2', 'sisdmk', 0, 'completed', 12, 1, 1, 1, 9, ?, ?, 800)
                """, [.text(now), .text(now), .text(now), .text(now)])
            try conn.execute("INSERT INTO alerts(kind, message, created_at) VALUES ('escalation', 'item 3 keeps failing', ?)", [.text(now)])
        }

        // What the database holds, counted here.
        let expected = try database.read { conn -> [String] in
            var rows: [String] = []
            let waiting = try conn.scalar("SELECT count(*) FROM outbox WHERE lane = 'clinic' AND status IN ('pending', 'processing') AND withdrawn = 0").int ?? -1
            XCTAssertGreaterThan(waiting, 0)
            rows.append(#"<td class="n">\#(waiting)</td>"#)
            for row in try conn.query(
                """
                SELECT type, count(*) AS recorded, sum(done) AS sent FROM (SELECT coalesce(resource_type, queue) AS type, coalesce(resource_id, report_id, id) AS r,
                    min(status = 'completed') AS done FROM outbox WHERE withdrawn = 0 GROUP BY 1, 2) GROUP BY type
                """)
            {
                let recorded = row["recorded"].int ?? 0, sent = row["sent"].int ?? 0
                rows.append(#"<td>\#(row["type"].string ?? "")</td><td class="n">\#(recorded)</td><td class="n">\#(sent)</td><td class="n">\#(recorded - sent)</td>"#)
            }
            let requests = try conn.query(
                """
                SELECT hour, sum(ok) AS ok FROM (SELECT substr(min(created_at), 1, 13) AS hour, max(status) BETWEEN 200 AND 299 AS ok
                    FROM sync_log WHERE request_id <> '-' GROUP BY request_id) GROUP BY hour
                """)
            XCTAssertFalse(requests.isEmpty)
            for row in requests {
                let hour = (row["hour"].string ?? "").replacingOccurrences(of: "T", with: " ") + ":00"
                rows.append(#"<td>\#(hour)</td><td class="n">\#(row["ok"].int ?? 0)</td>"#)
            }
            let panic = try XCTUnwrap(try conn.scalar("SELECT emergency_id FROM panic_reports").string)
            rows.append("<td>\(panic)</td>")
            rows.append(#"<td>KKI</td>"#)
            rows.append(#"<td class="n">31</td><td class="n">2</td><td class="n">4</td><td class="n">3</td><td class="n">7.5 %</td>"#)
            rows.append(#"<td class="n">1</td><td class="n">1</td><td class="n">1</td><td class="n">9</td><td class="n">75.0 %</td>"#)
            rows.append(#"<td class="n">1</td></tr><tr><td><b>"#)  // one alert, then the total row
            return rows
        }

        let chromium = try XCTUnwrap(Self.chromium, "the report is tested in Chromium: `apt-get install chromium` (.ci/run does)")
        for (language, heading, lastSync, alert) in [
            ("en", "At a glance", "Last successful sync", "An item keeps failing after its retries"),
            ("id", "Ringkasan", "Sinkronisasi terakhir yang berhasil", "Item terus gagal setelah batas percobaan"),
        ] {
            let file = sehat.directory + "/report-\(language).html"
            let written = try sehat.run(["--db", path, "report", "--out", file, "--lang", language, "--since", "2000-01-01"])
            XCTAssertEqual(written.status, 0, written.stderr)
            let html = try String(contentsOfFile: file, encoding: .utf8)
            XCTAssertLessThan(html.utf8.count, 2 << 20, "under 2 MB")
            // Nothing outside itself: no scripts, links, sources or CSS URLs; the SVG namespace is a name, not a fetch.
            for reference in ["<script", "<link", "src=", "href=", "url(", "@import", "<img", "<iframe"] {
                XCTAssertFalse(html.lowercased().contains(reference), "\(language): the page references \(reference)")
            }
            XCTAssertEqual(html.components(separatedBy: "http").count - 1, html.components(separatedBy: "http://www.w3.org/2000/svg").count - 1,
                           "\(language): no URL but the SVG namespace")

            let dom = try browser(chromium, ["--dump-dom", "file://" + file])
            XCTAssertTrue(dom.contains("<html lang=\"\(language)\">"), language)
            XCTAssertTrue(dom.contains(heading) && dom.contains(lastSync) && dom.contains(alert), "\(language): the page is in its language")
            for row in expected { XCTAssertTrue(dom.contains(row), "\(language): the rendered page lacks \(row)") }
            // The queue, requests, latency and error rate, progress, panic reports and pulls each have their chart.
            XCTAssertGreaterThanOrEqual(dom.components(separatedBy: "<svg").count - 1, 7, "\(language): every chart is drawn")

            let png = sehat.directory + "/report-\(language).png"
            _ = try browser(chromium, ["--screenshot=" + png, "--window-size=760,3400", "--hide-scrollbars", "file://" + file])
            let image = try Data(contentsOf: URL(fileURLWithPath: png))
            XCTAssertEqual(Array(image.prefix(8)), [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A], "\(language): a PNG")
            XCTAssertGreaterThan(image.count, 20_000, "\(language): the screenshot shows a page, not a blank")
            // Printed: A4 pages (595 × 842 points), as the page's @page rule asks.
            let pdf = sehat.directory + "/report-\(language).pdf"
            _ = try browser(chromium, ["--print-to-pdf=" + pdf, "--no-pdf-header-footer", "file://" + file])
            let printed = String(decoding: try Data(contentsOf: URL(fileURLWithPath: pdf)), as: UTF8.self)
            XCTAssertTrue(printed.hasPrefix("%PDF-"), "\(language): a PDF")
            XCTAssertTrue(printed.contains("/MediaBox [0 0 594.95996 841.91998]") || printed.contains("/MediaBox [0 0 595 842]"),
                          "\(language): printed on A4")
            // Kept where a person can look at it (and copy it to docs/ for the README).
            let kept = SehatProcess.repositoryRoot.appendingPathComponent(".build/sync-report")
            try? FileManager.default.createDirectory(at: kept, withIntermediateDirectories: true)
            try? FileManager.default.removeItem(at: kept.appendingPathComponent("report-\(language).png"))
            try? FileManager.default.copyItem(atPath: png, toPath: kept.appendingPathComponent("report-\(language).png").path)
        }
    }

    func testBadOptionsAreRefusedWithTheField() throws {
        try "s\n".write(toFile: sehat.directory + "/secret.txt", atomically: true, encoding: .utf8)
        let initialized = try sehat.run(["init", "--org-id", "10000004", "--client-id", "c", "--client-secret-file", "secret.txt"])
        XCTAssertEqual(initialized.status, 0, initialized.stderr)
        let language = try sehat.run(["report", "--lang", "fr"])
        XCTAssertEqual(language.status, 1)
        XCTAssertTrue(language.stderr.contains("lang: must be id or en"), language.stderr)
        let since = try sehat.run(["report", "--since", "yesterday"])
        XCTAssertEqual(since.status, 1)
        XCTAssertTrue(since.stderr.contains("since:"), since.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: sehat.directory + "/sync-report.html"), "nothing written on a refusal")
        let environment = try sehat.run(["report"], environment: ["LC_ALL": "", "LC_MESSAGES": "", "LANG": "id_ID.UTF-8"])
        XCTAssertEqual(environment.status, 0, environment.stderr)
        XCTAssertTrue(try String(contentsOfFile: sehat.directory + "/sync-report.html", encoding: .utf8).contains("<html lang=\"id\">"))
    }

    /// Runs headless Chromium, bounded in time; returns its standard output.
    private func browser(_ chromium: String, _ arguments: [String]) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: chromium)
        process.arguments = ["--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-dev-shm-usage",
                             "--user-data-dir=" + sehat.directory + "/chromium-profile"] + arguments
        let out = Pipe()
        process.standardOutput = out
        process.standardError = FileHandle.nullDevice
        let finished = DispatchSemaphore(value: 0)
        process.terminationHandler = { _ in finished.signal() }
        try process.run()
        let data = Locked(Data())
        let read = DispatchSemaphore(value: 0)
        DispatchQueue.global().async {
            let all = out.fileHandleForReading.readDataToEndOfFile()
            data.withLock { $0 = all }
            read.signal()
        }
        if finished.wait(timeout: .now() + 90) == .timedOut {
            process.terminate()
            XCTFail("chromium did not finish in 90 s")
        }
        read.wait()
        return String(decoding: data.withLock { $0 }, as: UTF8.self)
    }
}
