import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A minimal HTTP/1.1 server over POSIX sockets, bound to 127.0.0.1 only. One thread per
/// connection, at most `Limits.connections` at once; keep-alive; `Content-Length` bodies;
/// a connection idle for `Limits.idleSeconds` is closed. Enough for a test stand-in, no more.
///
///     let server = try HTTPServer(port: 0) { request in .respond(.text(200, "ok")) }
///     print(server.port)   // the ephemeral port chosen
///     server.stop()
public final class HTTPServer: Sendable {
    /// The port it listens on (127.0.0.1).
    public let port: UInt16
    private let listener: Int32
    private let handler: @Sendable (HTTPRequest) -> HTTPDisposition
    private let gate: @Sendable (HTTPRequestParser.Head) -> HTTPResponse?
    private let limits: Limits
    private let state = HTTPServerState()

    /// What one client can hold of the server.
    public struct Limits: Sendable {
        /// How requests are read (head size, header count, body size: a Synthea bundle is
        /// under 1 MiB, the default body limit 64 MiB).
        public var parser = HTTPRequestParser()
        /// Seconds a connection may sit without sending before it is closed.
        public var idleSeconds = 30
        /// Connections served at once; one more is answered 503 and closed.
        public var connections = 256
        /// The defaults.
        public init() {}
    }

    /// Listens on loopback (port 0: an ephemeral port). `gate` sees each request's head
    /// before its body is read: an answer from it is sent instead, and the body never read.
    public init(port: UInt16 = 0, limits: Limits = Limits(), gate: @escaping @Sendable (HTTPRequestParser.Head) -> HTTPResponse? = { _ in nil },
                handler: @escaping @Sendable (HTTPRequest) -> HTTPDisposition) throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw HTTPServerError.socket("socket: \(String(cString: strerror(errno)))") }
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0, listen(fd, 128) == 0 else {
            let message = String(cString: strerror(errno))
            close(fd)
            throw HTTPServerError.socket("cannot listen on 127.0.0.1:\(port): \(message)")
        }
        var actual = sockaddr_in()
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &actual) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        self.port = UInt16(bigEndian: actual.sin_port)
        self.listener = fd
        self.handler = handler
        self.gate = gate
        self.limits = limits
        let thread = Thread { [self] in acceptLoop() }
        thread.name = "sandbox-accept"
        thread.start()
    }

    /// Stops accepting and closes every open connection.
    public func stop() {
        guard state.stop() else { return }
        shutdown(listener, Int32(SHUT_RDWR))
        close(listener)
        for fd in state.openConnections() { shutdown(fd, Int32(SHUT_RDWR)) }
    }

    deinit { stop() }

    private func acceptLoop() {
        while !state.isStopped {
            let fd = accept(listener, nil, nil)
            if fd < 0 {
                if errno == EINTR { continue }
                return
            }
            var one: Int32 = 1
            setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
            var idle = timeval(tv_sec: limits.idleSeconds, tv_usec: 0)
            setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &idle, socklen_t(MemoryLayout<timeval>.size))
            guard state.opened(fd, limit: limits.connections) else {
                _ = write(fd, HTTPResponse.text(503, "too many connections").encoded(keepAlive: false))
                close(fd)
                continue
            }
            let thread = Thread { [self] in
                serve(fd)
                state.closed(fd)
                close(fd)
            }
            thread.stackSize = 1 << 20
            thread.start()
        }
    }

    private func serve(_ fd: Int32) {
        var reader = SocketReader(fd: fd, parser: limits.parser, gate: gate)
        while !state.isStopped {
            guard let request = reader.readRequest() else { return }
            switch request {
            case .failure(let error):
                _ = write(fd, error.response.encoded(keepAlive: false))
                return
            case .success(let request):
                switch handler(request) {
                case .drop:
                    return
                case .respond(let response):
                    let keepAlive = !response.closeAfter && request.headers["connection"]?.lowercased() != "close"
                    guard write(fd, response.encoded(keepAlive: keepAlive)), keepAlive else { return }
                }
            }
        }
    }

    private func write(_ fd: Int32, _ bytes: [UInt8]) -> Bool {
        var offset = 0
        while offset < bytes.count {
            let sent = bytes[offset...].withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if sent <= 0 {
                if sent < 0, errno == EINTR { continue }
                return false
            }
            offset += sent
        }
        return true
    }
}

/// Why the server could not start.
public enum HTTPServerError: Error, CustomStringConvertible {
    case socket(String)
    /// For a person.
    public var description: String {
        switch self { case .socket(let text): return text }
    }
}

/// The server's open connections and whether it is stopping.
private final class HTTPServerState: @unchecked Sendable {
    // Safe: both fields are touched only while `lock` is held.
    private let lock = NSLock()
    private var stopped = false
    private var connections = Set<Int32>()

    var isStopped: Bool { lock.withLock { stopped } }
    /// Marks the server stopped; false if it already was.
    func stop() -> Bool { lock.withLock { defer { stopped = true }; return !stopped } }
    /// Counts a new connection in; false when `limit` are already open.
    func opened(_ fd: Int32, limit: Int) -> Bool {
        lock.withLock {
            guard connections.count < limit else { return false }
            connections.insert(fd)
            return true
        }
    }
    func closed(_ fd: Int32) { lock.withLock { _ = connections.remove(fd) } }
    func openConnections() -> [Int32] { lock.withLock { Array(connections) } }
}

/// Reads HTTP/1.1 requests from a socket, through `HTTPRequestParser`.
private struct SocketReader {
    let fd: Int32
    let parser: HTTPRequestParser
    let gate: @Sendable (HTTPRequestParser.Head) -> HTTPResponse?
    var buffer: [UInt8] = []

    /// The next request; nil when the peer closed or went idle; `.failure` carries an answer
    /// to send before closing.
    mutating func readRequest() -> Result<HTTPRequest, HTTPRequestError>? {
        var head: HTTPRequestParser.Head?
        while head == nil {
            switch parser.parseHead(buffer[...]) {
            case .head(let parsed): head = parsed
            case .refused(let response): return .failure(HTTPRequestError(response))
            case .needMore: guard fill() else { return nil }
            }
        }
        let request = head!
        if let refusal = gate(request) { return .failure(HTTPRequestError(refusal)) }
        let total = request.size + request.contentLength
        while buffer.count < total {
            guard fill() else { return nil }
        }
        let body = Array(buffer[request.size..<total])
        buffer.removeFirst(total)
        return .success(parser.request(request, body: body))
    }

    /// Reads what has arrived; false when the peer closed, failed or stayed idle too long.
    private mutating func fill() -> Bool {
        var chunk = [UInt8](repeating: 0, count: 65_536)
        while true {
            let count = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if count > 0 {
                buffer.append(contentsOf: chunk[0..<count])
                return true
            }
            if count < 0, errno == EINTR { continue }
            return false
        }
    }
}

private struct HTTPRequestError: Error {
    let response: HTTPResponse
    init(_ response: HTTPResponse) { self.response = response }
}

extension HTTPResponse {
    func encoded(keepAlive: Bool) -> [UInt8] {
        var head = "HTTP/1.1 \(status) \(HTTPResponse.reason(status))\r\n"
        for (name, value) in headers { head += "\(name): \(value)\r\n" }
        head += "Content-Length: \(body.count)\r\n"
        head += keepAlive ? "Connection: keep-alive\r\n" : "Connection: close\r\n"
        head += "\r\n"
        return Array(head.utf8) + body
    }
}
