import Foundation
import SehatFHIR
import SehatJSON
import SehatSupport

@testable import SehatSync

/// Claimed items and attempts made by hand, for testing one stage alone.
enum Fake {
    static let base = "http://sandbox.test/fhir-r4/v1"

    static func item(_ id: Int64, _ operation: SehatSync.Operation = .create, type: String = "Observation", resourceID: String? = nil,
                     resource: JSON? = nil, payload: JSON? = nil, serverID: String? = nil, references: [String: String?] = [:],
                     attempts: Int = 0, maxRetries: Int = 3, target: Target = .satusehat, needsCheck: Bool = false) -> ClaimedItem {
        var item = ClaimedItem(
            id: id, operation: operation, target: target, resourceType: type, resourceID: resourceID ?? "local-\(id)", reportID: target == .emergency ? "em-1" : nil,
            groupID: nil, payload: payload, resource: resource ?? .obj(["resourceType": .string(type)]),
            identifier: BusinessIdentifier(system: "http://sys-ids.kemkes.go.id/observation/10000004", value: "OBS-\(id)"),
            serverID: serverID, attempts: attempts, maxRetries: maxRetries, lane: target == .emergency ? .emergency : .clinic, needsCheck: needsCheck)
        item.references = references
        return item
    }

    static func attempt(_ status: Int, _ body: String = "", headers: [String: String] = [:], url: String = base + "/Observation") -> Attempt {
        Attempt(call: HTTPCall(method: "POST", url: url), requestID: "req-1",
                outcome: .answered(HTTPAnswer(status: status, headers: headers, body: Array(body.utf8))), milliseconds: 3)
    }

    static func failed(_ kind: TransportFailure.Kind) -> Attempt {
        Attempt(call: HTTPCall(method: "POST", url: base + "/Observation"), requestID: "req-1",
                outcome: .transportFailed(TransportFailure(kind: kind, code: -1001, message: "x")), milliseconds: 3)
    }
}

/// A transport that answers from a script and records what it was asked.
final class ScriptedTransport: HTTPTransport {
    let calls = Locked<[HTTPCall]>([])
    let answers: Locked<[HTTPAnswer]>

    init(_ answers: [HTTPAnswer]) { self.answers = Locked(answers) }

    func send(_ call: HTTPCall) async throws -> HTTPAnswer {
        calls.withLock { $0.append(call) }
        return answers.withLock { $0.isEmpty ? HTTPAnswer(status: 500) : $0.removeFirst() }
    }
}
