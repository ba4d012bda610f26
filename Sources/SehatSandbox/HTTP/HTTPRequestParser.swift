import Foundation

/// Reads HTTP/1.1 requests from the bytes a connection has delivered so far: pure, so the
/// server and the fuzzer run the same code. Anything it cannot read as a request is refused
/// with an answer, never a trap: a bad request line, a header without a colon, a
/// `Content-Length` that is not a plain decimal within the body limit, too many headers.
///
///     switch HTTPRequestParser().parse(Array("GET / HTTP/1.1\r\n\r\n".utf8)) {
///     case .request(let request, let consumed): …
///     case .needMore, .refused: …
///     }
public struct HTTPRequestParser: Sendable {
    /// The largest head (request line and headers) read.
    public var maxHeadBytes = 64 << 10
    /// The most header lines read.
    public var maxHeaders = 100
    /// The largest body accepted.
    public var maxBody = 64 << 20

    /// A parser with the default limits.
    public init() {}

    /// A request's head, before its body is read.
    public struct Head: Sendable {
        /// GET, POST, …
        public let method: String
        /// The path, percent-decoded, without the query.
        public let path: String
        /// The query's pairs, percent-decoded, in order.
        public let query: [(name: String, value: String)]
        /// Header names lowercased.
        public let headers: [String: String]
        /// The body's length (`Content-Length`; 0 when absent).
        public let contentLength: Int
        /// Bytes the head took, the blank line included.
        public let size: Int
    }

    /// What the bytes so far hold.
    public enum HeadResult: Sendable {
        /// The head is not complete yet.
        case needMore
        /// A complete head.
        case head(Head)
        /// Not a request this server reads: answer this and close.
        case refused(HTTPResponse)
    }

    /// What the bytes so far hold, body included.
    public enum RequestResult: Sendable {
        case needMore
        /// A whole request and the bytes it took.
        case request(HTTPRequest, consumed: Int)
        case refused(HTTPResponse)
    }

    /// Reads the head at the start of `buffer`.
    public func parseHead(_ buffer: ArraySlice<UInt8>) -> HeadResult {
        guard let end = Self.headEnd(buffer) else {
            return buffer.count > maxHeadBytes ? .refused(.text(431, "request head too large")) : .needMore
        }
        guard end - buffer.startIndex <= maxHeadBytes else { return .refused(.text(431, "request head too large")) }
        guard let head = String(validating: buffer[buffer.startIndex..<end], as: UTF8.self) else {
            return .refused(.text(400, "the request head is not UTF-8"))
        }
        var lines = head.components(separatedBy: "\r\n")
        let requestLine = lines.removeFirst().split(separator: " ", omittingEmptySubsequences: false)
        guard requestLine.count == 3, !requestLine[0].isEmpty, requestLine[0].allSatisfy({ $0.isASCII && $0.isUppercase }),
            requestLine[1].hasPrefix("/"), requestLine[2].hasPrefix("HTTP/1.")
        else { return .refused(.text(400, "bad request line (expected METHOD /path HTTP/1.1)")) }
        guard lines.count <= maxHeaders else { return .refused(.text(431, "more than \(maxHeaders) header lines")) }
        var headers: [String: String] = [:]
        for line in lines {
            guard let colon = line.firstIndex(of: ":"), colon != line.startIndex else {
                return .refused(.text(400, "a header line has no name and colon"))
            }
            headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        if headers["transfer-encoding"] != nil { return .refused(.text(411, "send a Content-Length")) }
        var length = 0
        if let text = headers["content-length"] {
            // Digits only: no sign, no spaces, no hex; and no more of them than the limit needs.
            guard !text.isEmpty, text.utf8.count <= 12, text.utf8.allSatisfy({ (48...57).contains($0) }), let value = Int(text) else {
                return .refused(.text(400, "Content-Length must be a decimal number of bytes"))
            }
            length = value
        }
        guard length <= maxBody else { return .refused(.text(413, "body too large (the limit is \(maxBody) bytes)")) }
        let target = String(requestLine[1])
        let (path, queryText) = target.firstIndex(of: "?").map { (String(target[..<$0]), String(target[target.index(after: $0)...])) } ?? (target, "")
        let query = queryText.split(separator: "&").map { pair -> (name: String, value: String) in
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            return (String(parts[0]).queryDecoded, parts.count > 1 ? String(parts[1]).queryDecoded : "")
        }
        return .head(Head(method: String(requestLine[0]), path: path.queryDecoded, query: query, headers: headers,
                          contentLength: length, size: end - buffer.startIndex + 4))
    }

    /// Reads a whole request at the start of `buffer`.
    public func parse(_ buffer: ArraySlice<UInt8>) -> RequestResult {
        switch parseHead(buffer) {
        case .needMore: return .needMore
        case .refused(let response): return .refused(response)
        case .head(let head):
            let total = head.size + head.contentLength
            guard buffer.count >= total else { return .needMore }
            let bodyStart = buffer.startIndex + head.size
            return .request(request(head, body: Array(buffer[bodyStart..<(bodyStart + head.contentLength)])), consumed: total)
        }
    }

    /// The request a head and its body make.
    func request(_ head: Head, body: [UInt8]) -> HTTPRequest {
        HTTPRequest(method: head.method, path: head.path, query: head.query, headers: head.headers, body: body)
    }

    /// Where the blank line ending the head starts.
    static func headEnd(_ buffer: ArraySlice<UInt8>) -> Int? {
        guard buffer.count >= 4 else { return nil }
        var i = buffer.startIndex
        let last = buffer.endIndex - 4
        while i <= last {
            if buffer[i] == 13, buffer[i + 1] == 10, buffer[i + 2] == 13, buffer[i + 3] == 10 { return i }
            i += 1
        }
        return nil
    }
}
