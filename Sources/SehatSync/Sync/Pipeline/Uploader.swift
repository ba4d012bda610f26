import Foundation

/// One HTTP attempt and how it ended.
struct Attempt: Sendable {
    let call: HTTPCall
    let requestID: String
    let answer: HTTPAnswer?
    let failure: TransportFailure?
    let authFailure: AuthError?
    let milliseconds: Int
    /// Set when the endpoint's circuit was open and nothing was sent.
    var circuitOpen: CircuitOpen? = nil

    var status: Int? { answer?.status }

    /// Whether the endpoint looked healthy: it answered, and not with 429 or 5xx.
    var endpointHealthy: Bool { answer.map { $0.status != 429 && $0.status < 500 } ?? false }
}

/// Stage 4 — upload: sends a call with the shared token and an `X-Request-ID`; a 401
/// invalidates the token and retries once with a fresh one.
struct Uploader: Sendable {
    let transport: any HTTPTransport
    let tokens: TokenManager?
    /// Each endpoint's circuit breaker and rate limit, per lane: the emergency lane never
    /// spends the clinic lane's budget, nor waits behind its open circuit.
    var guards: [String: EndpointGuard] = [:]

    static func guardKey(_ target: Target, _ lane: Lane) -> String { "\(target.rawValue)/\(lane.rawValue)" }

    func send(_ call: HTTPCall, to target: Target = .satusehat, lane: Lane = .clinic) async -> Attempt {
        let guarded = guards[Uploader.guardKey(target, lane)]
        if let guarded {
            do {
                try await guarded.admit()
            } catch {
                var refused = Attempt(call: call, requestID: "-", answer: nil, failure: nil, authFailure: nil, milliseconds: 0)
                refused.circuitOpen = error as? CircuitOpen
                return refused
            }
        }
        let authenticated = target == .satusehat
        var result = await attempt(call, authenticated: authenticated)
        if authenticated, result.status == 401, let tokens {
            if let token = result.call.headers["Authorization"]?.dropFirst("Bearer ".count) { await tokens.invalidate(String(token)) }
            result = await attempt(call, authenticated: true)
        }
        await guarded?.record(success: result.endpointHealthy)
        return result
    }

    private func attempt(_ call: HTTPCall, authenticated: Bool) async -> Attempt {
        var call = call
        let requestID = UUID().uuidString.lowercased()
        call.headers["X-Request-ID"] = requestID
        let start = DispatchTime.now().uptimeNanoseconds
        func elapsed() -> Int { Int((DispatchTime.now().uptimeNanoseconds - start) / 1_000_000) }
        if authenticated, let tokens {
            do {
                call.headers["Authorization"] = "Bearer " + (try await tokens.token())
            } catch let error as AuthError {
                return Attempt(call: call, requestID: requestID, answer: nil, failure: nil, authFailure: error, milliseconds: elapsed())
            } catch let error as TransportFailure {
                return Attempt(call: call, requestID: requestID, answer: nil, failure: error, authFailure: nil, milliseconds: elapsed())
            } catch {
                return Attempt(call: call, requestID: requestID, answer: nil, failure: nil,
                               authFailure: AuthError(message: "\(error)", retryAt: nil), milliseconds: elapsed())
            }
        }
        do {
            let answer = try await transport.send(call)
            return Attempt(call: call, requestID: requestID, answer: answer, failure: nil, authFailure: nil, milliseconds: elapsed())
        } catch let error as TransportFailure {
            return Attempt(call: call, requestID: requestID, answer: nil, failure: error, authFailure: nil, milliseconds: elapsed())
        } catch {
            return Attempt(call: call, requestID: requestID, answer: nil, failure: TransportFailure.classify(error), authFailure: nil,
                           milliseconds: elapsed())
        }
    }
}
