import Foundation

/// One HTTP attempt and how it ended.
struct Attempt: Sendable {
    /// How an attempt ended: exactly one of these.
    enum Outcome: Sendable {
        /// The receiver answered (any status).
        case answered(HTTPAnswer)
        /// No answer came back.
        case transportFailed(TransportFailure)
        /// No token could be had, so nothing was sent.
        case authFailed(AuthError)
        /// The endpoint's circuit was open, so nothing was sent.
        case circuitOpen(CircuitOpen)
    }

    let call: HTTPCall
    let requestID: String
    let outcome: Outcome
    let milliseconds: Int
    /// Why what came back is not the receiver's own (a captive portal, a proxy), judged once
    /// here for every stage that reads the attempt; nil when it is (or nothing came back).
    let notTheReceiver: String?

    init(call: HTTPCall, requestID: String, outcome: Outcome, milliseconds: Int) {
        (self.call, self.requestID, self.outcome, self.milliseconds) = (call, requestID, outcome, milliseconds)
        switch outcome {
        case .answered(let answer): notTheReceiver = ReceiverCheck.foreignAnswer(to: call, answer)
        case .transportFailed(let failure) where failure.kind == .notTheReceiver: notTheReceiver = failure.message
        default: notTheReceiver = nil
        }
    }

    /// The answer, when there was one.
    var answer: HTTPAnswer? { if case .answered(let answer) = outcome { return answer } else { return nil } }
    var status: Int? { answer?.status }
    /// The transport failure, when that is how it ended.
    var transportFailure: TransportFailure? { if case .transportFailed(let failure) = outcome { return failure } else { return nil } }
    /// Whether the device was offline (the request never left).
    var wasOffline: Bool { transportFailure.map { $0.kind == .offline || $0.kind == .notTheReceiver } ?? false }

    /// Whether the endpoint looked healthy: it answered, and not with 429 or 5xx.
    var endpointHealthy: Bool { answer.map { $0.status != 429 && $0.status < 500 } ?? false }
}

/// Stage 3 — upload: sends a call with the shared token and an `X-Request-ID`, within its
/// endpoint's budget (circuit breaker, rate limit); a 401 invalidates the token and retries
/// once with a fresh one. It never touches the database.
struct Uploader: Sendable {
    let transport: any HTTPTransport
    let tokens: TokenManager?
    /// Each endpoint's circuit breaker and rate limit, per lane: the emergency lane never
    /// spends the clinic lane's budget, nor waits behind its open circuit.
    var guards: [Endpoint: EndpointGuard] = [:]

    func send(_ call: HTTPCall, to target: Target = .satusehat, lane: Lane = .clinic) async -> Attempt {
        let guarded = guards[Endpoint(target: target, lane: lane)]
        if let guarded {
            do {
                try await guarded.admit()
            } catch let open as CircuitOpen {
                return Attempt(call: call, requestID: "-", outcome: .circuitOpen(open), milliseconds: 0)
            } catch {
                return Attempt(call: call, requestID: "-", outcome: .authFailed(AuthError(message: "\(error)", retryAt: nil)), milliseconds: 0)
            }
        }
        let authenticated = target == .satusehat
        var result = await attempt(call, authenticated: authenticated)
        if authenticated, result.status == 401, let tokens {
            if let token = result.call.headers["Authorization"]?.dropFirst("Bearer ".count) { await tokens.invalidate(String(token)) }
            result = await attempt(call, authenticated: true)
        }
        await guarded?.record(success: result.endpointHealthy)
        if let answer = result.answer, result.notTheReceiver == nil { await guarded?.listen(to: answer) }
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
                return Attempt(call: call, requestID: requestID, outcome: .authFailed(error), milliseconds: elapsed())
            } catch let error as TransportFailure {
                return Attempt(call: call, requestID: requestID, outcome: .transportFailed(error), milliseconds: elapsed())
            } catch {
                return Attempt(call: call, requestID: requestID, outcome: .authFailed(AuthError(message: "\(error)", retryAt: nil)),
                               milliseconds: elapsed())
            }
        }
        do {
            let answer = try await transport.send(call)
            return Attempt(call: call, requestID: requestID, outcome: .answered(answer), milliseconds: elapsed())
        } catch let error as TransportFailure {
            return Attempt(call: call, requestID: requestID, outcome: .transportFailed(error), milliseconds: elapsed())
        } catch {
            return Attempt(call: call, requestID: requestID, outcome: .transportFailed(TransportFailure.classify(error)), milliseconds: elapsed())
        }
    }
}
