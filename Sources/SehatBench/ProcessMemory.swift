import Foundation

/// This process's resident memory, as Linux reports it in `/proc/self/status`.
package enum ProcessMemory {
    /// Resident set now, in bytes (`VmRSS`).
    package static func resident() -> Int? { field("VmRSS:") }

    /// The highest resident set since start or since `resetPeak()`, in bytes (`VmHWM`).
    package static func peak() -> Int? { field("VmHWM:") }

    /// Starts the peak afresh (writing 5 to `/proc/self/clear_refs`), so a phase can be
    /// measured apart from what came before it. False where the kernel does not allow it.
    @discardableResult
    package static func resetPeak() -> Bool {
        guard let handle = FileHandle(forWritingAtPath: "/proc/self/clear_refs") else { return false }
        defer { try? handle.close() }
        return (try? handle.write(contentsOf: Data("5".utf8))) != nil
    }

    private static func field(_ name: String) -> Int? {
        guard let text = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
              let line = text.split(separator: "\n").first(where: { $0.hasPrefix(name) }),
              let kilobytes = Int(line.dropFirst(name.count).trimmingCharacters(in: .whitespaces).split(separator: " ").first ?? "")
        else { return nil }
        return kilobytes * 1024
    }
}
