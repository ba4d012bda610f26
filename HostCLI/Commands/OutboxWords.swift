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
            switch errors.last?.category {
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
