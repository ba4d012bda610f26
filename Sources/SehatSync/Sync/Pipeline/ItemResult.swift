import Foundation

/// What one attempt decided for one item: the reader's verdict, the consolidator's input.
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
    /// Waiting on something only a person or another system can do (a registration).
    case held(HoldReason)
    /// A bundle was refused: send the group's items one by one to find the bad one.
    case sendSingly(String, FailureRecord)
    /// The server says something the request names does not exist: check those dependencies
    /// again (search, re-create if gone), then retry this item after `delay` — or, when none
    /// of them is the device's to check, fail it.
    case recheckDependencies(String, FailureRecord, delay: TimeInterval)

    var failure: FailureRecord? {
        switch self {
        case .completed, .held: return nil
        case .retry(_, _, _, _, let failure): return failure
        case .failed(_, let failure), .dead(_, let failure), .sendSingly(_, let failure), .recheckDependencies(_, let failure, _): return failure
        }
    }

    var errorText: String? {
        switch self {
        case .completed, .held: return nil
        case .retry(_, _, _, let error, _), .failed(let error, _), .dead(let error, _), .sendSingly(let error, _),
            .recheckDependencies(let error, _, _):
            return error
        }
    }

    var isCompleted: Bool { if case .completed = self { return true } else { return false } }
}
