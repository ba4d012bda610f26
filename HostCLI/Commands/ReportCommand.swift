import Foundation
import SehatSync

/// `sehat report`: the sync report page.
enum ReportCommand {
    /// How far back the charts go unless `--since` says.
    static let defaultDays = 7

    static let report = Command(
        words: ["report"],
        summary: "Write the sync report: one self-contained HTML page (opens offline, prints on A4).",
        options: [
            OptionSpec(name: "out", value: "FILE", help: "Where to write it (default: sync-report.html)"),
            OptionSpec(name: "since", value: "DATE",
                       help: "Start of the period the charts cover: YYYY-MM-DD (UTC) or a dateTime with its offset (default: \(defaultDays) days ago)"),
            OptionSpec(name: "lang", value: "id|en", help: "Language of the page (default: from LC_ALL, LC_MESSAGES or LANG; id… is Indonesian, else English)"),
        ]
    ) { invocation in
        let language = try ReportLanguage.choose(invocation.value("lang"))
        let client = try openClient(invocation)
        let since = try invocation.value("since").map(parseSince) ?? client.clock.now().addingTimeInterval(-Double(defaultDays) * 86_400)
        let out = invocation.value("out") ?? "sync-report.html"
        let page = ReportPage(data: try client.reportData(since: since), text: ReportText(language: language)).html()
        do {
            try Data(page.utf8).write(to: URL(fileURLWithPath: out), options: .atomic)
        } catch {
            throw FieldError("out", "cannot write \(out): \((error as NSError).localizedDescription)")
        }
        Output.line("wrote \(out) (\(page.utf8.count / 1024 + 1) KiB, \(language == .id ? "Bahasa Indonesia" : "English"))")
        return 0
    }

    /// `2026-01-10` (midnight UTC) or a full dateTime with its offset.
    static func parseSince(_ text: String) throws -> Date {
        let full = text.count == 10 ? text + "T00:00:00Z" : text
        do { return try FHIRDateTime.parse(full) } catch let error as FHIRDateTime.FormatError {
            throw FieldError("since", "\(error.reason) (give YYYY-MM-DD or a dateTime with its offset)")
        }
    }
}
