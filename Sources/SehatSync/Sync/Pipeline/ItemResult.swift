import Foundation

/// What one attempt decided for one item.
enum ItemResult: Sendable {
    /// Done; the server id when the item created or found a resource.
    case completed(serverID: String?)
    /// Back to pending, due after `delay`; `unknownOutcome` makes the next attempt search
    /// first; offline attempts do not count against the item (and log no error).
    case retry(delay: TimeInterval, unknownOutcome: Bool, counts: Bool, error: String, failure: FailureRecord?)
    /// Refused by the server; kept for a person, its dependants held.
    case failed(String, FailureRecord)
    /// Permanent: dead-lettered with the reason, its dependants held.
    case dead(String, FailureRecord)
    /// Waiting on something only a person or another system can do (a registration, consent).
    case held(String)
    /// A bundle was refused: send the group's items one by one to find the bad one.
    case sendSingly(String, FailureRecord)
    /// The server says something the request names does not exist: check those dependencies
    /// again (search, re-create if gone), then retry this item.
    case recheckDependencies(String, FailureRecord)

    var failure: FailureRecord? {
        switch self {
        case .completed, .held: return nil
        case .retry(_, _, _, _, let failure): return failure
        case .failed(_, let failure), .dead(_, let failure), .sendSingly(_, let failure), .recheckDependencies(_, let failure): return failure
        }
    }

    var errorText: String? {
        switch self {
        case .completed: return nil
        case .retry(_, _, _, let error, _), .failed(let error, _), .dead(let error, _), .held(let error), .sendSingly(let error, _),
            .recheckDependencies(let error, _):
            return error
        }
    }
}

/// One sync-log line: the attempt and what it meant for the item.
struct LogLine: Sendable {
    let itemID: Int64
    let attempt: Attempt
    let outcome: String
    let error: String?
}
