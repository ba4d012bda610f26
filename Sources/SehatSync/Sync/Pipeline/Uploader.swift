import Foundation

/// One HTTP attempt and how it ended.
struct Attempt: Sendable {
    let call: HTTPCall
    let requestID: String
    let answer: HTTPAnswer?
    let failure: TransportFailure?
    let authFailure: AuthError?
    let milliseconds: Int

    var status: Int? { answer?.status }
}

/// Stage 4 — upload: sends a call with the shared token and an `X-Request-ID`; a 401
/// invalidates the token and retries once with a fresh one.
struct Uploader: Sendable {
    let transport: any HTTPTransport
    let tokens: TokenManager?

    func send(_ call: HTTPCall, authenticated: Bool = true) async -> Attempt {
        let first = await attempt(call, authenticated: authenticated)
        guard authenticated, first.status == 401, let tokens else { return first }
        if let token = first.call.headers["Authorization"]?.dropFirst("Bearer ".count) { await tokens.invalidate(String(token)) }
        return await attempt(call, authenticated: true)
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
