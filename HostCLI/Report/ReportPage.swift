import Foundation
import SehatSync

/// `sehat report`'s page: one self-contained HTML file — inline CSS and SVG, no scripts, no
/// fonts or images fetched from anywhere — that opens offline and prints on A4. Every chart
/// has its numbers in a table beside it.
struct ReportPage {
    let data: SyncReportData
    let text: ReportText

    /// At most this many hours are drawn (a week); the tables list the same hours.
    static let maxHours = 168
    /// At most this many panic reports and pulls are listed (the newest).
    static let maxRows = 100

    func html() -> String {
        var body = ""
        body += "<h1>\(e(text.title))</h1>"
        body += "<p class=\"sub\">\(e(text.subtitle(generated: time(data.generatedAt), since: time(data.since))))</p>"
        body += headline()
        body += queue()
        body += requests()
        body += latency()
        body += progress()
        body += failures()
        body += panics()
        body += pulls()
        return """
            <!DOCTYPE html>
            <html lang="\(text.language.rawValue)"><head><meta charset="utf-8">
            <meta name="viewport" content="width=device-width, initial-scale=1">
            <title>\(e(text.title))</title>
            <style>\(Self.css)</style>
            </head><body>\(body)</body></html>

            """
    }

    static let css = """
        @page { size: A4; margin: 12mm; }
        body { font-family: sans-serif; color: #222; max-width: 700px; margin: 16px auto; font-size: 13px; }
        h1 { font-size: 20px; margin: 0 0 4px; } h2 { font-size: 15px; margin: 20px 0 6px; border-bottom: 1px solid #ccc; }
        .sub { color: #555; margin: 0 0 12px; }
        section { break-inside: avoid; page-break-inside: avoid; }
        table { border-collapse: collapse; margin: 6px 0; width: 100%; }
        th, td { border: 1px solid #ddd; padding: 2px 6px; text-align: left; vertical-align: top; }
        td.n, th.n { text-align: right; font-variant-numeric: tabular-nums; }
        .big { font-size: 22px; font-weight: bold; }
        .warn { color: #b00020; } .ok { color: #1b5e20; }
        code { background: #f3f3f3; padding: 0 2px; }
        svg { display: block; margin: 4px 0; }
        """

    static let colours = (waiting: "#f9a825", stopped: "#c62828", delivered: "#2e7d32", client: "#ef6c00", offline: "#78909c", p50: "#1565c0", p95: "#90caf9")

    // MARK: Sections

    private func headline() -> String {
        var out = "<section id=\"headline\"><h2>\(e(text.glance))</h2>"
        out += table([text.waitingToSend, text.count], Lane.allCases.map { lane in
            let waiting = data.counts.filter { $0.lane == lane && ($0.status == .pending || $0.status == .processing) }.reduce(0) { $0 + $1.count }
            return [e(text.lane(lane)), n(waiting)]
        }, numeric: [1])
        let stopped: [ItemStatus] = [.failed, .held, .dead, .conflict]
        out += table([text.needsAPerson, text.count, text.whatToDo], stopped.map { status in
            let count = data.counts.filter { $0.status == status }.reduce(0) { $0 + $1.count }
            let words = text.stopped(status)
            return [e(words.name), "<span class=\"\(count > 0 ? "warn" : "ok")\">\(count)</span>", count > 0 ? code(words.advice) : ""]
        }, numeric: [1])
        out += table([text.lastSuccess, ""], Target.allCases.map { target in
            [e(text.destination(target)), e(data.lastSuccess[target].map(time) ?? text.never)]
        })
        let alerts = data.alerts.reduce(0) { $0 + $1.count }
        out += table([text.openAlerts, text.count], data.alerts.isEmpty ? [[e(text.none), "0"]] : data.alerts.map { [e(text.alert($0.name)), n($0.count)] } + [["<b>\(e(text.total))</b>", "<b>\(alerts)</b>"]],
                     numeric: [1])
        if data.escalated > 0 { out += "<p>\(e(text.escalated)): <b>\(data.escalated)</b></p>" }
        return out + "</section>"
    }

    private func queue() -> String {
        let points = Array(data.queue.suffix(Self.maxHours))
        return hourly(id: "queue", title: text.queueTitle, hours: points.map(\.hour), series: [
            .init(name: text.waiting, colour: Self.colours.waiting, values: points.map(\.waiting)),
            .init(name: text.stoppedSeries, colour: Self.colours.stopped, values: points.map(\.stopped)),
            .init(name: text.delivered, colour: Self.colours.delivered, values: points.map(\.delivered)),
        ])
    }

    private func requests() -> String {
        let hours = Array(data.requests.suffix(Self.maxHours))
        return hourly(id: "requests", title: text.requestsTitle, hours: hours.map(\.hour), series: [
            .init(name: text.success, colour: Self.colours.delivered, values: hours.map(\.success)),
            .init(name: text.clientError, colour: Self.colours.client, values: hours.map(\.clientError)),
            .init(name: text.serverError, colour: Self.colours.stopped, values: hours.map(\.serverError)),
            .init(name: text.offline, colour: Self.colours.offline, values: hours.map(\.offline)),
        ])
    }

    /// A section of hours: the series stacked per hour, and the same numbers in a table.
    private func hourly(id: String, title: String, hours: [String], series: [SVGChart.Series]) -> String {
        var out = "<section id=\"\(id)\"><h2>\(e(title))</h2>"
        guard !hours.isEmpty else { return out + "<p>\(e(text.nothing))</p></section>" }
        out += SVGChart.stackedBars(categories: hours, series: series, label: title)
        out += table([text.hour] + series.map(\.name), hours.indices.map { i in [e(hour(hours[i]))] + series.map { n($0.values[i]) } },
                     numeric: Array(1...series.count))
        return out + "</section>"
    }

    private func latency() -> String {
        var out = "<section id=\"latency\"><h2>\(e(text.latencyTitle))</h2>"
        guard !data.endpoints.isEmpty else { return out + "<p>\(e(text.nothing))</p></section>" }
        let rows = data.endpoints.flatMap { stats -> [(label: String, value: Double, colour: String)] in
            let name = "\(text.destination(stats.target)) \(stats.endpoint)"
            return [(name + " p50", Double(stats.p50Milliseconds) / 1000, Self.colours.p50), (name + " p95", Double(stats.p95Milliseconds) / 1000, Self.colours.p95)]
        }
        out += SVGChart.bars(rows: rows, threshold: (2, text.latencyTarget), unit: " s", label: text.latencyTitle)
        out += "<h3>\(e(text.errorRateTitle))</h3>"
        out += SVGChart.bars(rows: data.endpoints.map { ("\(text.destination($0.target)) \($0.endpoint)", $0.errorRate * 100, $0.errorRate > 0.01 ? Self.colours.stopped : Self.colours.delivered) },
                             threshold: (1, text.errorTarget), unit: " %", label: text.errorRateTitle)
        out += table([text.endpoint, text.requests, "p50 (ms)", "p95 (ms)", text.errors, text.errorRate], data.endpoints.map { stats in
            [e("\(text.destination(stats.target)) \(stats.endpoint)"), n(stats.requests), n(stats.p50Milliseconds), n(stats.p95Milliseconds), n(stats.errors), percent(stats.errorRate)]
        }, numeric: [1, 2, 3, 4, 5])
        return out + "</section>"
    }

    private func progress() -> String {
        var out = "<section id=\"progress\"><h2>\(e(text.progressTitle))</h2>"
        guard !data.progress.isEmpty else { return out + "<p>\(e(text.nothing))</p></section>" }
        out += SVGChart.bars(rows: data.progress.map { ($0.resourceType, $0.recorded == 0 ? 0 : 100 * Double($0.sent) / Double($0.recorded), Self.colours.delivered) },
                             threshold: nil, unit: " %", label: text.progressTitle)
        out += table([text.type, text.recorded, text.sent, text.unsynced, "%"], data.progress.map { row in
            [e(row.resourceType), n(row.recorded), n(row.sent), n(row.recorded - row.sent), percent(row.recorded == 0 ? 1 : Double(row.sent) / Double(row.recorded))]
        }, numeric: [1, 2, 3, 4])
        out += "<p>\(e(text.progressNote))</p>"
        return out + "</section>"
    }

    private func failures() -> String {
        var out = "<section id=\"failures\"><h2>\(e(text.failuresTitle))</h2>"
        guard !data.failures.isEmpty else { return out + "<p>\(e(text.nothing))</p></section>" }
        let resolutions = ErrorResolution.allCases
        let classes = FailureClass.allCases.filter { category in data.failures.contains { $0.category == category } }
        func count(_ category: FailureClass, _ resolution: ErrorResolution) -> Int {
            data.failures.filter { $0.category == category && $0.resolution == resolution }.reduce(0) { $0 + $1.count }
        }
        out += SVGChart.bars(rows: classes.map { category in (text.failure(category), Double(resolutions.reduce(0) { $0 + count(category, $1) }), Self.colours.stopped) },
                             threshold: nil, unit: "", label: text.failuresTitle)
        out += table([text.failureClass] + resolutions.map(text.resolution), classes.map { category in
            [e(text.failure(category))] + resolutions.map { n(count(category, $0)) }
        }, numeric: Array(1...resolutions.count))
        return out + "</section>"
    }

    private func panics() -> String {
        let reports = Array(data.panics.suffix(Self.maxRows))
        var out = "<section id=\"panics\"><h2>\(e(text.panicTitle))</h2>"
        guard !reports.isEmpty else { return out + "<p>\(e(text.nothing))</p></section>" }
        out += SVGChart.bars(rows: reports.map { ($0.emergencyID, $0.seconds ?? 0, $0.seconds == nil ? Self.colours.offline : Self.colours.stopped) },
                             threshold: nil, unit: " s", label: text.panicTitle)
        out += table([text.emergency, text.recordedAt, text.acknowledgedAt, text.seconds], reports.map { report in
            [e(report.emergencyID), e(time(report.recordedAt)), e(report.acknowledgedAt.map(time) ?? text.notYet),
             report.seconds.map { String(format: "%.1f", $0) } ?? "–"]
        }, numeric: [3])
        return out + "</section>"
    }

    private func pulls() -> String {
        let batches = Array(data.pulls.prefix(Self.maxRows))
        var out = "<section id=\"pulls\"><h2>\(e(text.pullsTitle))</h2>"
        guard !batches.isEmpty else { return out + "<p>\(e(text.nothing))</p></section>" }
        out += SVGChart.bars(rows: batches.map { ("\($0.source) \(hour(String($0.startedAt.prefix(16))))", $0.failureRate * 100, $0.failureRate > 0.2 ? Self.colours.stopped : Self.colours.delivered) },
                             threshold: (20, text.pullTarget), unit: " %", label: text.pullsTitle)
        out += table([text.source, text.started, text.status, text.inserted, text.updated, text.unchanged, text.rejected, text.failureRate], batches.map { batch in
            [e(batch.source.uppercased()), e(hour(String(batch.startedAt.prefix(16)))), e(text.pullStatus(batch.status)), n(batch.inserted), n(batch.updated),
             n(batch.unchanged), n(batch.rejected), percent(batch.failureRate)]
        }, numeric: [3, 4, 5, 6, 7])
        return out + "</section>"
    }

    // MARK: Pieces

    private func table(_ headers: [String], _ rows: [[String]], numeric: [Int] = []) -> String {
        var out = "<table><tr>" + headers.enumerated().map { "<th\(numeric.contains($0.offset) ? " class=\"n\"" : "")>\(e($0.element))</th>" }.joined() + "</tr>"
        for row in rows {
            out += "<tr>" + row.enumerated().map { "<td\(numeric.contains($0.offset) ? " class=\"n\"" : "")>\($0.element)</td>" }.joined() + "</tr>"
        }
        return out + "</table>"
    }

    private func e(_ text: String) -> String { HTML.escape(text) }
    private func n(_ value: Int) -> String { String(value) }
    private func percent(_ fraction: Double) -> String { String(format: "%.1f %%", fraction * 100) }
    /// `a `b` c` with the backquoted parts as code.
    private func code(_ sentence: String) -> String {
        sentence.split(separator: "`", omittingEmptySubsequences: false).enumerated()
            .map { $0.offset % 2 == 1 ? "<code>\(e(String($0.element)))</code>" : e(String($0.element)) }.joined()
    }
    private func time(_ date: Date) -> String { hour(String(FHIRDateTime.format(date).prefix(16))) }
    /// `2026-01-10T10` → `2026-01-10 10:00`; `2026-01-10T10:05` → `2026-01-10 10:05`.
    private func hour(_ stamp: String) -> String {
        let parts = stamp.split(separator: "T", maxSplits: 1)
        guard parts.count == 2 else { return stamp }
        return "\(parts[0]) \(parts[1].count == 2 ? parts[1] + ":00" : parts[1])"
    }
}
