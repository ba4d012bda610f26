import Foundation
import SehatFHIR
import SehatJSON

/// One log event.
public struct LogEntry: Sendable {
    /// How much a line matters.
    public enum Level: String, Sendable { case debug, info, warning, error }

    /// When it happened.
    public let timestamp: Date
    /// How much it matters.
    public let level: Level
    /// What happened, dotted: `sync.request`, `sync.offline`, `auth.token`.
    public let event: String
    /// One id per sync run, shared by everything it logs.
    public let traceID: String
    /// The `X-Request-ID` of the request it is about.
    public let requestID: String?
    /// How long it took.
    public let durationMilliseconds: Int?
    /// Everything else, already masked.
    public let fields: [String: String]

    /// A log entry.
    public init(timestamp: Date, level: Level, event: String, traceID: String, requestID: String? = nil, durationMilliseconds: Int? = nil,
                fields: [String: String] = [:]) {
        self.timestamp = timestamp
        self.level = level
        self.event = event
        self.traceID = traceID
        self.requestID = requestID
        self.durationMilliseconds = durationMilliseconds
        self.fields = fields.mapValues(LogMasking.mask)
    }

    /// One JSON line: `{"timestamp":…,"level":…,"event":…,"trace_id":…,"request_id":…,"duration_ms":…,…}`.
    public var jsonLine: String {
        var members: [JSON.Member] = [
            JSON.Member("timestamp", .string(FHIRDateTime.format(timestamp))), JSON.Member("level", .string(level.rawValue)),
            JSON.Member("event", .string(event)), JSON.Member("trace_id", .string(traceID)),
        ]
        if let requestID { members.append(JSON.Member("request_id", .string(requestID))) }
        if let durationMilliseconds { members.append(JSON.Member("duration_ms", .int(durationMilliseconds))) }
        members += fields.keys.sorted().map { JSON.Member($0, .string(fields[$0]!)) }
        return JSON.object(members).text
    }
}

/// Where the SDK's log events go; the app replaces it (the default discards them).
///
///     let engine = try SyncEngine(client: client, logger: JSONLineLogger(handle: .standardError))
public protocol SyncLogger: Sendable {
    func log(_ entry: LogEntry)
}

/// Discards everything.
public struct SilentLogger: SyncLogger {
    /// Discards everything.
    public init() {}
    /// Discards the entry.
    public func log(_ entry: LogEntry) {}
}

/// Writes each entry as one JSON line.
public struct JSONLineLogger: SyncLogger {
    private let handle: FileHandle
    /// Writes to `handle` (e.g. standard error).
    public init(handle: FileHandle) { self.handle = handle }
    /// Writes the entry as one JSON line.
    public func log(_ entry: LogEntry) { handle.write(Data((entry.jsonLine + "\n").utf8)) }
}

/// NIKs never reach a log: any run of 16 digits (bare, or percent-encoded after a `|`) is
/// masked to its first six and last four (`317102******0001`).
public enum LogMasking {
    /// Masks every run of 16 digits (a NIK) as `317102******0001`.
    public static func mask(_ text: String) -> String {
        guard text.utf8.count >= 16 else { return text }
        var out = ""
        var digits = ""
        func flush() {
            if digits.count == 16 {
                out += digits.prefix(6) + "******" + digits.suffix(4)
            } else {
                out += digits
            }
            digits = ""
        }
        for character in text {
            if character.isASCII, character.isNumber {
                digits.append(character)
            } else {
                flush()
                out.append(character)
            }
        }
        flush()
        return out
    }
}
