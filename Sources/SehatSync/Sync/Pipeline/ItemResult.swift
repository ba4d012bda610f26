import Foundation

/// What one attempt decided for one item.
enum ItemResult: Sendable {
    /// Done; the server id when the item created or found a resource.
    case completed(serverID: String?)
    /// Back to pending, due after `delay`; `unknownOutcome` makes the next attempt search
    /// first; offline attempts do not count against the item.
    case retry(delay: TimeInterval, unknownOutcome: Bool, counts: Bool, error: String)
    /// Refused by the server; kept for a person, its dependants held.
    case failed(String)
    /// Waiting on something only a person or another system can do (a registration).
    case held(String)
    /// A bundle was refused: send the group's items one by one to find the bad one.
    case sendSingly(String)
}

/// One sync-log line: the attempt and what it meant for the item.
struct LogLine: Sendable {
    let itemID: Int64
    let attempt: Attempt
    let outcome: String
    let error: String?
}
