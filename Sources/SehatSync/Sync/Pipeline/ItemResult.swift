import Foundation
import SehatJSON

/// What one attempt decided for one item: the reader's verdict, the consolidator's input.
enum ItemResult: Sendable {
    /// Done; the server id when the item created or found a resource, and the server's version
    /// of the resource when the answer named one (sent back in `If-Match` by the next update).
    case completed(serverID: String?, version: String?)
    /// Back to pending, due after `delay`; `unknownOutcome` makes the next attempt search
    /// first; offline attempts do not count against the item (and log no error).
    case retry(delay: TimeInterval, unknownOutcome: Bool, counts: Bool, error: String, failure: FailureRecord?)
    /// A search found it is not on the server, and it was not sent this time: pending again
    /// after `delay` (not counted), with no search needed first.
    case confirmedAbsent(delay: TimeInterval)
    /// Refused by the server; kept for a person, its dependants held.
    case failed(String, FailureRecord)
    /// Permanent: dead-lettered with the reason, its dependants held.
    case dead(String, FailureRecord)
    /// Waiting on something only a person or another system can do (a registration).
    case held(HoldReason)
    /// An update was refused with 412, and the server's version is one the device wrote itself
    /// earlier (its answer was lost): send again after `delay` (counted, so a server that keeps
    /// answering 412 backs off and escalates like any other), based on that version.
    case rebase(version: String?, delay: TimeInterval)
    /// An update was refused with 412: the server's version is not the one it was based on, and
    /// its content is not what was sent (someone else changed it). Both versions are kept; a
    /// person chooses.
    case conflict(VersionConflict, FailureRecord)
    /// A bundle was refused: send the group's items one by one to find the bad one.
    case sendSingly(String, FailureRecord)
    /// The server says something the request names does not exist: check those dependencies
    /// again (search, re-create if gone), then retry this item after `delay` — or, when none
    /// of them is the device's to check, fail it.
    case recheckDependencies(String, FailureRecord, delay: TimeInterval)

    var failure: FailureRecord? {
        switch self {
        case .completed, .held, .rebase, .confirmedAbsent: return nil
        case .retry(_, _, _, _, let failure): return failure
        case .failed(_, let failure), .dead(_, let failure), .sendSingly(_, let failure), .recheckDependencies(_, let failure, _),
            .conflict(_, let failure):
            return failure
        }
    }

    var errorText: String? {
        switch self {
        case .completed, .held, .rebase, .confirmedAbsent: return nil
        case .retry(_, _, _, let error, _), .failed(let error, _), .dead(let error, _), .sendSingly(let error, _),
            .recheckDependencies(let error, _, _):
            return error
        case .conflict(_, let failure): return failure.message
        }
    }

    var isCompleted: Bool { if case .completed = self { return true } else { return false } }
}

/// What a 412 found on the server: the version the update was based on, the server's version
/// now, and both resources in the server's terms (references as server ids): what the update
/// sent, and what the server holds.
struct VersionConflict: Sendable, Equatable {
    let basedOn: String?
    let serverVersion: String?
    let sentResource: JSON
    let serverResource: JSON
}
