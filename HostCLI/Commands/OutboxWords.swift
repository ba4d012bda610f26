import Foundation
import SehatSync

/// The sentences `sehat outbox` shows a person, built from the SDK's typed values.
enum OutboxWords {
    /// Why a held item waits, in words.
    static func hold(_ reason: HoldReason) -> String {
        switch reason {
        case .waitsOn(let item, let status):
            return "waits on item \(item), which is \(status.rawValue)"
        case .registrationRequired:
            return "registration required: no one with this NIK is registered in SATUSEHAT (register them through another channel, e.g. P-Care)"
        case .consent(let refusal):
            switch refusal {
            case .notGiven: return "consent: the patient has not consented to sharing data"
            case .encounterOnly: return "consent: the patient consented to sharing encounter data only"
            case .notYetValid: return "consent: the patient's consent is not valid yet"
            case .expired: return "consent: the patient's consent has expired"
            case .revoked: return "consent: the patient revoked consent"
            }
        }
    }

    /// What a person can do about an item.
    static func advice(for item: OutboxItem, errors: [ErrorLogEntry]) -> String {
        advice(for: item, lastFailure: errors.last?.category)
    }

    /// One line about an item: what it does, and where it is.
    static func summary(_ item: OutboxItem) -> String {
        let attempts = item.attempts == 0 ? "" : ", \(item.attempts) attempt\(item.attempts == 1 ? "" : "s")"
        let waiting = item.status == .pending && item.unresolvedDependencies > 0 ? ", waiting on \(item.unresolvedDependencies) not yet delivered" : ""
        return "\(item.operation.rawValue) \(item.resourceType ?? item.queue) — \(item.status.rawValue)\(attempts)\(waiting)"
    }

    /// What holds the root of a wait, in words.
    static func cause(_ cause: WaitCause, root: OutboxItem) -> String {
        let error = root.lastError.map { ": \($0)" } ?? ""
        switch cause {
        case .delivered: return "nothing: the receiver has it"
        case .withdrawn: return "nothing: it was withdrawn before it reached the server, and never leaves"
        case .readyNow: return "nothing but a sync: it is due, and everything it waits on has been delivered"
        case .inFlight(let lease):
            return "a sync is sending it now" + (lease.map { " (its claim lasts until \(FHIRDateTime.format($0)))" } ?? "")
        case .backoff(let until, let after):
            return "it goes again on its own at \(FHIRDateTime.format(until))" + (after.map { ", after " + attemptEnd($0) } ?? "")
        case .held(let reason): return "held — " + hold(reason)
        case .refused(let category, let attempts):
            return "the receiver refused it (\(category.map { failureClass($0) } ?? "a refusal"), \(attempts) attempt\(attempts == 1 ? "" : "s"))\(error)"
        case .deadLettered: return "given up on (dead-lettered)\(error)"
        case .conflict: return "someone else changed the resource on the server since the version it was based on\(error)"
        case .unknown: return "what it waits on cannot be followed (the database may have been edited by hand)"
        }
    }

    /// How an attempt ended, in words.
    static func attemptEnd(_ end: AttemptEnd) -> String {
        switch end {
        case .offline: return "the device was offline (nothing was sent)"
        case .circuitOpen: return "the server failed repeatedly, so its circuit was open (nothing was sent)"
        case .noToken: return "no access token could be had (nothing was sent)"
        case .notTheReceiver: return "something other than the server answered (a Wi-Fi login page or a proxy)"
        case .noAnswer: return "no answer came back"
        case .answered: return "the server answered"
        }
    }

    /// An attempt: when, and how it ended.
    static func attempt(_ attempt: LastAttempt) -> String {
        "\(attempt.at), " + (attempt.httpStatus.map { "the server answered \($0)" } ?? attemptEnd(attempt.end))
    }

    /// A failure class, in words.
    static func failureClass(_ category: FailureClass) -> String {
        switch category {
        case .transient: return "a passing failure"
        case .auth: return "refused credentials"
        case .client: return "the data broke a rule"
        case .notFound: return "something it refers to is not on the server"
        case .server: return "a server error"
        case .duplicate: return "a duplicate"
        case .unknown: return "an unclassified failure"
        }
    }

    /// The one thing a person can do about a wait.
    static func advice(_ why: WaitExplanation) -> String {
        let root = why.root
        let prefix = why.chain.isEmpty ? "" : "Item \(why.item.id) follows once item \(root.id) is delivered. "
        switch why.cause {
        case .readyNow: return prefix + "Run `sehat sync` (or leave `sehat watch` running)."
        case .backoff(_, let after):
            switch after {
            case .offline, .notTheReceiver:
                return prefix + "Connect the device to the internet (log in to the Wi-Fi page if there is one); `sehat watch` sends it as soon as the link is up."
            case .circuitOpen, .noAnswer:
                return prefix + "Nothing, unless it keeps failing: it is retried on its own. `sehat health` shows whether the server is reachable."
            case .noToken:
                return prefix + "Check the client id and secret (`sehat config`); it is retried on its own."
            default:
                return prefix + "Nothing: it is retried on its own (\(root.attempts) attempt\(root.attempts == 1 ? "" : "s") so far)."
            }
        case .refused(let category, _): return prefix + advice(for: root, lastFailure: category)
        case .unknown: return prefix + "Check the database (`sehat outbox show \(root.id)`)."
        default: return prefix + advice(for: root, lastFailure: nil)
        }
    }

    /// The cause as JSON for scripts: `{kind, …}`.
    static func causeJSON(_ cause: WaitCause) -> JSON {
        switch cause {
        case .delivered: return .obj(["kind": "delivered"])
        case .withdrawn: return .obj(["kind": "withdrawn"])
        case .readyNow: return .obj(["kind": "ready_now"])
        case .inFlight(let lease): return .obj(["kind": "in_flight", "lease_until": lease.map { .string(FHIRDateTime.format($0)) } ?? .null])
        case .backoff(let until, let after):
            return .obj(["kind": "backoff", "until": .string(FHIRDateTime.format(until)), "after": after.map { .string($0.rawValue) } ?? .null])
        case .held(let reason): return .obj(["kind": "held", "hold": holdJSON(reason)])
        case .refused(let category, let attempts):
            return .obj(["kind": "refused", "category": category.map { .string($0.rawValue) } ?? .null, "attempts": .int(attempts)])
        case .deadLettered: return .obj(["kind": "dead_lettered"])
        case .conflict: return .obj(["kind": "conflict"])
        case .unknown: return .obj(["kind": "unknown"])
        }
    }

    /// What a person can do about an item, given the class of its last failure.
    static func advice(for item: OutboxItem, lastFailure: FailureClass?) -> String {
        switch item.status {
        case .completed: return "Nothing to do: the server has it."
        case .withdrawn: return "Nothing to do: its visit was cancelled before it reached the server, so it never leaves."
        case .pending, .processing:
            return item.lastError == nil ? "Nothing to do: it is queued." : "Nothing to do: it is retried on its own (\(item.attempts) attempts so far)."
        case .held:
            switch item.hold {
            case .registrationRequired:
                return "Register the person in SATUSEHAT through another channel (e.g. P-Care), then `sehat outbox retry \(item.id)`."
            case .consent:
                return "The patient's consent does not allow this to leave the device. Record new consent with `sehat patient consent`."
            case .waitsOn(let other, _):
                return "It waits on item \(other); fix that one (`sehat outbox show \(other)`) and this one follows."
            case nil:
                return "It waits on another item; fix that one and this one follows."
            }
        case .failed:
            switch lastFailure {
            case .client:
                return "The server refused the data. Correct the field named in the error above in the source record, then `sehat outbox retry \(item.id)` — or `sehat outbox ignore \(item.id)` to give up on it."
            case .duplicate:
                return "The server reports a duplicate it cannot show: check the identifier on the server, then retry or ignore."
            default:
                return "Read the error above, fix its cause, then `sehat outbox retry \(item.id)` or `sehat outbox ignore \(item.id)`."
            }
        case .dead:
            return "Dead-lettered: `sehat outbox retry \(item.id)` revives it once its cause is fixed."
        case .conflict:
            return "Someone else changed this resource on the server since the version this update was based on; both versions are kept. "
                + "Keep one: `sehat outbox resolve \(item.id) --keep local` sends yours over theirs, `--keep server` takes theirs and sends nothing."
        }
    }

    /// The hold as JSON for scripts: `{kind, detail, item}`.
    static func holdJSON(_ reason: HoldReason?) -> JSON {
        guard let reason else { return .null }
        switch reason {
        case .waitsOn(let item, let status):
            return .obj(["kind": "waits_on", "item": .int(Int(item)), "detail": .string(status.rawValue), "text": .string(hold(reason))])
        case .consent(let refusal):
            return .obj(["kind": "consent", "detail": .string(refusal.rawValue), "text": .string(hold(reason))])
        case .registrationRequired:
            return .obj(["kind": "registration", "text": .string(hold(reason))])
        }
    }
}
