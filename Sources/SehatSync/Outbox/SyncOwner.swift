import Foundation
import SehatStore
import SehatSupport

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Who holds a claim on outbox items: one sync engine in one process. Its row in
/// `sync_owners` says which process (host, pid and the process's start time, so a reused pid
/// is not mistaken for it); each claimed item carries the owner's id and a lease. Recovery
/// takes back only the items of an owner that is gone — its process has exited, the engine
/// is no longer running in this process, or its lease has run out.
struct SyncOwner: Sendable, Equatable {
    let id: String
    let host: String
    let pid: Int32
    /// Kernel ticks since boot when the process started (Linux); nil where it cannot be read.
    let processStart: Int64?

    /// A new owner for an engine of this process.
    static func current() -> SyncOwner {
        SyncOwner(id: UUID().uuidString.lowercased(), host: thisHost, pid: getpid(),
                  processStart: ProcessLiveness.startTime(of: getpid()))
    }

    /// This machine's name, read once (it may ask the resolver).
    private static let thisHost = ProcessInfo.processInfo.hostName

    /// Owners (engines) of this process that are running now.
    private static let running = Locked<Set<String>>([])

    /// Marks this owner as running (its engine exists) or not.
    func setRunning(_ running: Bool) {
        _ = SyncOwner.running.withLock { running ? $0.insert(id).inserted : $0.remove(id) != nil }
    }

    /// Whether an owner recorded in the database may still be sending: false only when that is
    /// known for sure (a different process start, no such process, an engine of this process
    /// that stopped). Owners on another host are judged by their lease alone.
    static func mayBeAlive(host: String, pid: Int32, processStart: Int64?, id: String) -> Bool {
        guard host == thisHost else { return true }
        if pid == getpid() && processStart == ProcessLiveness.startTime(of: getpid()) {
            return running.withLock { $0.contains(id) }
        }
        return ProcessLiveness.isAlive(pid: pid, startedAt: processStart)
    }
}

/// Whether a process is still the one that was recorded.
enum ProcessLiveness {
    /// The process's start time in clock ticks since boot (field 22 of `/proc/PID/stat`).
    static func startTime(of pid: Int32) -> Int64? {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
            let close = stat.lastIndex(of: ")")
        else { return nil }
        // Fields after the command name (which may hold spaces) start at field 3.
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        return fields.count > 19 ? Int64(fields[19]) : nil
    }

    /// Alive and the same process: it exists and, where start times can be read, started
    /// when recorded.
    static func isAlive(pid: Int32, startedAt: Int64?) -> Bool {
        guard pid > 0 else { return false }
        if kill(pid, 0) != 0 && errno == ESRCH { return false }
        guard let startedAt, let now = startTime(of: pid) else { return true }
        return now == startedAt
    }
}
