import Foundation
import SehatSupport
import SehatSync

/// Live progress on standard error: on a terminal one line per lane (or source), rewritten in
/// place; on a pipe or a file a plain line per step instead, since nothing there can be
/// rewritten.
final class ProgressLines: Sendable {
    /// Rewrite lines in place (a terminal), or append a line per step.
    let inPlace: Bool
    private let started: Date
    /// The lines shown, in order, by what they are about; and how many are on the screen.
    private let state = Locked<(lines: [(key: String, text: String)], shown: Int)>(([], 0))

    init(inPlace: Bool, now: Date = Date()) {
        self.inPlace = inPlace
        started = now
    }

    /// Seconds since the work started (never zero, for rates).
    private var elapsed: TimeInterval { max(0.001, Date().timeIntervalSince(started)) }

    /// One lane of a sync: `clinic: 120 of 500 done (24.0/s, about 16 s left) — last error: …`.
    /// The total is what is done plus what still waits, so it never passes 100 %.
    @Sendable func show(_ progress: SyncReport) {
        guard let lane = progress.lane else { return }
        let remaining = progress.counts.filter { $0.lane == lane && ($0.status == .pending || $0.status == .processing) }.reduce(0) { $0 + $1.count }
        let rate = Double(progress.completed) / elapsed
        var line = "\(lane.rawValue): \(progress.completed) of \(progress.completed + remaining) done (\(String(format: "%.1f", rate))/s"
        if remaining > 0, rate > 0 { line += ", about \(Self.duration(Double(remaining) / rate)) left" }
        line += ")"
        if let error = progress.lastError { line += " — last error: \(error.prefix(100))" }
        update(lane.rawValue, line)
    }

    /// One page of a registry pull: `kki: page 3, 1500 rows (1480 new, 12 updated, 3 unchanged, 5 rejected), 750 rows/s`,
    /// with the batch's total and the time left when the source gives its total.
    @Sendable func show(_ progress: PullProgress) {
        let rate = Double(progress.fetched) / elapsed
        var line = "\(progress.source.rawValue): page \(progress.pages), \(progress.fetched)"
        if let total = progress.total { line += " of \(total)" }
        line += " rows (\(progress.inserted) new, \(progress.updated) updated, \(progress.unchanged) unchanged, \(progress.rejected) rejected), "
            + "\(String(format: "%.0f", rate)) rows/s"
        if let total = progress.total, total > progress.fetched, rate > 0 { line += ", about \(Self.duration(Double(total - progress.fetched) / rate)) left" }
        update(progress.source.rawValue, line)
    }

    /// Shows `text` as the line about `key`: rewrites every line in place, or appends it.
    private func update(_ key: String, _ text: String) {
        let output: String = state.withLock { state in
            guard inPlace else { return text + "\n" }
            if let index = state.lines.firstIndex(where: { $0.key == key }) { state.lines[index].text = text } else { state.lines.append((key, text)) }
            var out = state.shown > 0 ? "\u{1B}[\(state.shown)F" : ""
            for line in state.lines { out += "\u{1B}[2K" + line.text + "\n" }
            state.shown = state.lines.count
            return out
        }
        FileHandle.standardError.write(Data(output.utf8))
    }

    /// `45 s`, `3 min`, `2 h 10 min`.
    static func duration(_ seconds: Double) -> String {
        let s = Int(min(seconds, 1e9).rounded(.up))
        if s < 90 { return "\(s) s" }
        if s < 5400 { return "\((s + 30) / 60) min" }
        return "\(s / 3600) h \((s % 3600 + 30) / 60) min"
    }
}
