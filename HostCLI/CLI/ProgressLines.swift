import Foundation
import SehatSupport
import SehatSync

/// Live progress of a sync on standard error: on a terminal one line per lane, rewritten in
/// place (done / total, rate, time left, the last error); on a pipe or a file a plain line per
/// step instead, since nothing there can be rewritten.
final class ProgressLines: Sendable {
    /// Rewrite lines in place (a terminal), or append a line per step.
    let inPlace: Bool
    private let started: Date
    private let state: Locked<State>

    private struct State {
        var lanes: [Lane: Snapshot] = [:]
        var linesShown = 0
    }

    private struct Snapshot {
        var done: Int
        var remaining: Int
        var lastError: String?
    }

    init(inPlace: Bool, now: Date = Date()) {
        self.inPlace = inPlace
        started = now
        state = Locked(State())
    }

    /// Takes one lane's snapshot and shows it.
    @Sendable func show(_ progress: SyncReport) {
        guard let lane = progress.lane else { return }
        let remaining = progress.counts.filter { $0.lane == lane && ($0.status == .pending || $0.status == .processing) }.reduce(0) { $0 + $1.count }
        let elapsed = max(0.001, Date().timeIntervalSince(started))
        let text: String = state.withLock { state in
            state.lanes[lane] = Snapshot(done: progress.completed, remaining: remaining, lastError: progress.lastError)
            guard inPlace else { return Self.line(lane, state.lanes[lane]!, elapsed: elapsed) + "\n" }
            var out = state.linesShown > 0 ? "\u{1B}[\(state.linesShown)F" : ""
            let shown = Lane.allCases.filter { state.lanes[$0] != nil }
            for shownLane in shown { out += "\u{1B}[2K" + Self.line(shownLane, state.lanes[shownLane]!, elapsed: elapsed) + "\n" }
            state.linesShown = shown.count
            return out
        }
        FileHandle.standardError.write(Data(text.utf8))
    }

    /// `clinic: 120 of 500 done (24.0/s, about 16 s left) — last error: …`
    private static func line(_ lane: Lane, _ snapshot: Snapshot, elapsed: TimeInterval) -> String {
        let total = snapshot.done + snapshot.remaining
        let rate = Double(snapshot.done) / elapsed
        var line = "\(lane.rawValue): \(snapshot.done) of \(total) done (\(String(format: "%.1f", rate))/s"
        if snapshot.remaining == 0 {
            line += ")"
        } else if rate > 0 {
            line += ", about \(duration(Double(snapshot.remaining) / rate)) left)"
        } else {
            line += ")"
        }
        if let error = snapshot.lastError { line += " — last error: \(error.prefix(100))" }
        return line
    }

    /// `45 s`, `3 min`, `2 h 10 min`.
    static func duration(_ seconds: Double) -> String {
        let s = Int(seconds.rounded(.up))
        if s < 90 { return "\(s) s" }
        if s < 5400 { return "\((s + 30) / 60) min" }
        return "\(s / 3600) h \((s % 3600 + 30) / 60) min"
    }
}
