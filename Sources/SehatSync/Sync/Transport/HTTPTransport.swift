import SehatSupport
import Foundation
import SehatStore
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// One HTTP request to send.
public struct HTTPCall: Sendable {
    /// GET, POST, PUT.
    public var method: String
    /// The absolute URL.
    public var url: String
    /// Request headers.
    public var headers: [String: String]
    /// The body.
    public var body: [UInt8]?
    /// Seconds before it is given up.
    public var timeout: TimeInterval

    /// A request.
    public init(method: String, url: String, headers: [String: String] = [:], body: [UInt8]? = nil, timeout: TimeInterval = 30) {
        (self.method, self.url, self.headers, self.body, self.timeout) = (method, url, headers, body, timeout)
    }
}

/// What came back. Header names are lowercased.
public struct HTTPAnswer: Sendable {
    /// The HTTP status.
    public var status: Int
    /// Response headers, names lowercased.
    public var headers: [String: String]
    /// The body.
    public var body: [UInt8]

    /// An answer.
    public init(status: Int, headers: [String: String] = [:], body: [UInt8] = []) {
        (self.status, self.headers, self.body) = (status, headers, body)
    }

    /// The body as UTF-8 text.
    public var text: String { String(decoding: body, as: UTF8.self) }

    /// The longest pause a server's `Retry-After` can impose: a longer one (or a broken
    /// one like `inf`) is read as this, so no header can park the queue for good or
    /// overflow a date.
    public static let longestRetryAfter: TimeInterval = 3600

    /// `Retry-After` in seconds (RFC 9110 delay-seconds), capped at `longestRetryAfter`; nil
    /// when absent or not a number of seconds.
    public var retryAfter: TimeInterval? {
        guard let text = headers["retry-after"]?.trimmingCharacters(in: .whitespaces), !text.isEmpty, text.utf8.count <= 12,
            text.utf8.allSatisfy({ (48...57).contains($0) }), let seconds = Double(text)
        else { return nil }
        return min(seconds, HTTPAnswer.longestRetryAfter)
    }

    /// What the server says is left of its budget (seeds/000 §3.4): `X-RateLimit-Remaining`
    /// requests until `X-RateLimit-Reset` (epoch seconds), read only when both are whole
    /// numbers; a reset more than `longestRetryAfter` after `now` is read as that.
    public func rateLimit(now: Date) -> (remaining: Int, resetAt: Date)? {
        func whole(_ name: String) -> Int64? {
            guard let text = headers[name]?.trimmingCharacters(in: .whitespaces), !text.isEmpty, text.utf8.count <= 15,
                text.utf8.allSatisfy({ (48...57).contains($0) }) else { return nil }
            return Int64(text)
        }
        guard let remaining = whole("x-ratelimit-remaining"), let reset = whole("x-ratelimit-reset") else { return nil }
        let resetAt = min(Date(timeIntervalSince1970: TimeInterval(reset)), now.addingTimeInterval(HTTPAnswer.longestRetryAfter))
        return (Int(min(remaining, Int64(Int32.max))), resetAt)
    }
}

/// Why no answer came back, and what that says about the request.
public struct TransportFailure: Error, Sendable, CustomStringConvertible {
    /// What a missing answer says about the request.
    public enum Kind: String, Sendable {
        /// The request never left (connection refused, no route, no network): the device is offline.
        case offline
        /// The request may have reached the server (timeout, connection lost, empty reply):
        /// its outcome is unknown, so the next attempt must search before re-sending.
        case outcomeUnknown = "outcome-unknown"
        /// Something other than the receiver answered (a captive portal, a proxy): as offline.
        case notTheReceiver = "not-the-receiver"
    }

    /// Its kind.
    public let kind: Kind
    /// `URLError.code` when there was one.
    public let code: Int
    /// What happened.
    public let message: String

    /// A transport failure.
    public init(kind: Kind, code: Int, message: String) {
        (self.kind, self.code, self.message) = (kind, code, message)
    }

    /// Kind, code and message.
    public var description: String { "\(kind.rawValue) (\(code)): \(message)" }

    /// Classifies a URLSession error (codes as URLSession on Linux reports them; TESTING.md).
    static func classify(_ error: Error) -> TransportFailure {
        let code = (error as? URLError)?.errorCode ?? (error as NSError).code
        switch code {
        case NSURLErrorCannotConnectToHost, NSURLErrorNotConnectedToInternet, NSURLErrorCannotFindHost,
            NSURLErrorDNSLookupFailed, NSURLErrorInternationalRoamingOff, NSURLErrorDataNotAllowed:
            return TransportFailure(kind: .offline, code: code, message: "the server cannot be reached")
        case NSURLErrorTimedOut:
            return TransportFailure(kind: .outcomeUnknown, code: code, message: "no answer before the timeout")
        case NSURLErrorNetworkConnectionLost:
            return TransportFailure(kind: .outcomeUnknown, code: code, message: "the connection was lost")
        case NSURLErrorBadServerResponse:
            return TransportFailure(kind: .outcomeUnknown, code: code, message: "the server closed the connection without answering")
        default:
            // -1 (a reset right after connect, or no network namespace) and anything else: be safe.
            return TransportFailure(kind: .outcomeUnknown, code: code, message: "\(error)")
        }
    }
}

/// Sends HTTP requests. The SDK's own is `URLSessionTransport`; tests and the simulated
/// link wrap it.
///
///     let answer = try await transport.send(HTTPCall(method: "GET", url: base + "/Patient?identifier=…"))
public protocol HTTPTransport: Sendable {
    /// The answer, whatever its status; throws `TransportFailure` when none came back.
    func send(_ call: HTTPCall) async throws -> HTTPAnswer
}

/// `URLSession` with an ephemeral configuration (no cookies, no cache).
///
/// Timeouts: on Linux a request that gets no answer on a reused keep-alive connection is
/// only given up at the *session's* `timeoutIntervalForRequest`, whatever the request's own
/// `timeoutInterval` says (measured: docs/design-notes.md). So the transport keeps one
/// session per timeout value and sends each call through the session of its timeout.
public final class URLSessionTransport: HTTPTransport {
    private let sessions = Locked<[TimeInterval: URLSession]>([:])
    private let maxConnectionsPerHost: Int

    /// `maxConnectionsPerHost` must be at least the engine's concurrency, or requests queue
    /// behind each other inside URLSession (its default is 6).
    public init(maxConnectionsPerHost: Int = 32) {
        self.maxConnectionsPerHost = maxConnectionsPerHost
    }

    deinit { sessions.withLock { $0.values.forEach { $0.finishTasksAndInvalidate() } } }

    private func session(for timeout: TimeInterval) -> URLSession {
        sessions.withLock { sessions in
            if let session = sessions[timeout] { return session }
            let configuration = URLSessionConfiguration.ephemeral
            configuration.requestCachePolicy = .reloadIgnoringLocalCacheData
            configuration.urlCache = nil
            configuration.httpCookieStorage = nil
            configuration.timeoutIntervalForRequest = timeout
            configuration.httpMaximumConnectionsPerHost = maxConnectionsPerHost
            let session = URLSession(configuration: configuration, delegate: RefuseRedirects(), delegateQueue: nil)
            sessions[timeout] = session
            return session
        }
    }

    /// Sends with URLSession.
    public func send(_ call: HTTPCall) async throws -> HTTPAnswer {
        guard let url = URL(string: call.url) else {
            throw TransportFailure(kind: .offline, code: NSURLErrorBadURL, message: "bad URL \(call.url)")
        }
        var request = URLRequest(url: url, timeoutInterval: call.timeout)
        request.httpMethod = call.method
        for (name, value) in call.headers { request.setValue(value, forHTTPHeaderField: name) }
        if let body = call.body { request.httpBody = Data(body) }
        let data: Data
        let response: URLResponse
        do {
            (data, response) = try await session(for: call.timeout).data(for: request)
        } catch {
            throw TransportFailure.classify(error)
        }
        guard let http = response as? HTTPURLResponse else {
            throw TransportFailure(kind: .outcomeUnknown, code: 0, message: "not an HTTP response")
        }
        var headers: [String: String] = [:]
        for (key, value) in http.allHeaderFields { headers[String(describing: key).lowercased()] = String(describing: value) }
        return HTTPAnswer(status: http.statusCode, headers: headers, body: Array(data))
    }
}

/// API calls never follow redirects: a redirect is a captive portal's or a proxy's, never the
/// receiver's answer, and it must be seen as such (`ReceiverCheck`).
private final class RefuseRedirects: NSObject, URLSessionTaskDelegate, @unchecked Sendable {
    // Safe to share: it holds no state.
    func urlSession(_ session: URLSession, task: URLSessionTask, willPerformHTTPRedirection response: HTTPURLResponse,
                    newRequest request: URLRequest, completionHandler: @escaping (URLRequest?) -> Void) {
        completionHandler(nil)
    }
}

