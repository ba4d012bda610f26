import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A minimal HTTP/1.1 server over POSIX sockets, bound to 127.0.0.1 only. One thread per
/// connection; keep-alive; `Content-Length` bodies. Enough for a test stand-in, no more.
///
///     let server = try HTTPServer(port: 0) { request in .respond(.text(200, "ok")) }
///     print(server.port)   // the ephemeral port chosen
///     server.stop()
public final class HTTPServer: Sendable {
    /// The port it listens on (127.0.0.1).
    public let port: UInt16
    private let listener: Int32
    private let handler: @Sendable (HTTPRequest) -> HTTPDisposition
    private let state = HTTPServerState()

    /// Largest request body accepted (a Synthea bundle is under 1 MiB).
    static let maxBody = 64 << 20

    /// Listens on loopback (port 0: an ephemeral port).
    public init(port: UInt16 = 0, handler: @escaping @Sendable (HTTPRequest) -> HTTPDisposition) throws {
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
            state.opened(fd)
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
        var reader = SocketReader(fd: fd)
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
    func opened(_ fd: Int32) { lock.withLock { _ = connections.insert(fd) } }
    func closed(_ fd: Int32) { lock.withLock { _ = connections.remove(fd) } }
    func openConnections() -> [Int32] { lock.withLock { Array(connections) } }
}

/// Reads HTTP/1.1 requests from a socket.
private struct SocketReader {
    let fd: Int32
    var buffer: [UInt8] = []

    /// The next request; nil when the peer closed; `.failure` carries an error answer.
    mutating func readRequest() -> Result<HTTPRequest, HTTPRequestError>? {
        var headerEnd: Int?
        while true {
            if let end = find([13, 10, 13, 10]) {
                headerEnd = end
                break
            }
            if buffer.count > 64 << 10 { return .failure(HTTPRequestError(.text(413, "header too large"))) }
            guard fill() else { return nil }
        }
        let head = String(decoding: buffer[0..<headerEnd!], as: UTF8.self)
        var lines = head.components(separatedBy: "\r\n")
        let requestLine = lines.removeFirst().split(separator: " ")
        guard requestLine.count == 3 else { return .failure(HTTPRequestError(.text(400, "bad request line"))) }
        var headers: [String: String] = [:]
        for line in lines {
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        if headers["transfer-encoding"] != nil { return .failure(HTTPRequestError(.text(411, "send a Content-Length"))) }
        let length = Int(headers["content-length"] ?? "0") ?? 0
        guard length <= HTTPServer.maxBody else { return .failure(HTTPRequestError(.text(413, "body too large"))) }
        let bodyStart = headerEnd! + 4
        while buffer.count < bodyStart + length {
            guard fill() else { return nil }
        }
        let body = Array(buffer[bodyStart..<(bodyStart + length)])
        buffer.removeFirst(bodyStart + length)
        let target = String(requestLine[1])
        let (path, queryText) = target.firstIndex(of: "?").map { (String(target[..<$0]), String(target[target.index(after: $0)...])) } ?? (target, "")
        let query = queryText.split(separator: "&").map { pair -> (String, String) in
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            return (String(parts[0]).queryDecoded, parts.count > 1 ? String(parts[1]).queryDecoded : "")
        }
        return .success(HTTPRequest(method: String(requestLine[0]), path: path.queryDecoded, query: query.map { (name: $0.0, value: $0.1) },
                                    headers: headers, body: body))
    }

    private func find(_ pattern: [UInt8]) -> Int? {
        guard buffer.count >= pattern.count else { return nil }
        for i in 0...(buffer.count - pattern.count) where buffer[i] == pattern[0] && Array(buffer[i..<(i + pattern.count)]) == pattern {
            return i
        }
        return nil
    }

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
