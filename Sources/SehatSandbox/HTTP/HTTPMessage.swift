import Foundation

/// An HTTP/1.1 request as the sandbox received it.
public struct HTTPRequest: Sendable {
    /// GET, POST, …
    public let method: String
    /// The path without the query (`/fhir-r4/v1/Patient`).
    public let path: String
    /// Query parameters, percent-decoded, in order.
    public let query: [(name: String, value: String)]
    /// Header names are lowercased.
    public let headers: [String: String]
    /// The raw body.
    public let body: [UInt8]

    /// A query parameter's value.
    public func queryValue(_ name: String) -> String? { query.first { $0.name == name }?.value }
    /// The body as UTF-8 text.
    public var bodyText: String { String(decoding: body, as: UTF8.self) }
}

/// What the sandbox answers; `closeAfter` closes the connection once it is sent.
public struct HTTPResponse: Sendable {
    /// The HTTP status.
    public var status: Int
    /// Headers in order.
    public var headers: [(String, String)]
    /// The body.
    public var body: [UInt8]
    /// Close the connection after sending.
    public var closeAfter = false

    /// An answer.
    public init(status: Int, headers: [(String, String)] = [], body: [UInt8] = []) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    /// A JSON answer.
    public static func json(_ status: Int, _ text: String, contentType: String = "application/fhir+json", headers: [(String, String)] = []) -> HTTPResponse {
        HTTPResponse(status: status, headers: [("Content-Type", contentType)] + headers, body: Array(text.utf8))
    }

    /// A plain-text answer.
    public static func text(_ status: Int, _ text: String, headers: [(String, String)] = []) -> HTTPResponse {
        HTTPResponse(status: status, headers: [("Content-Type", "text/plain")] + headers, body: Array(text.utf8))
    }

    static func reason(_ status: Int) -> String {
        switch status {
        case 200: return "OK"
        case 201: return "Created"
        case 204: return "No Content"
        case 400: return "Bad Request"
        case 401: return "Unauthorized"
        case 404: return "Not Found"
        case 405: return "Method Not Allowed"
        case 409: return "Conflict"
        case 411: return "Length Required"
        case 413: return "Payload Too Large"
        case 422: return "Unprocessable Entity"
        case 429: return "Too Many Requests"
        case 431: return "Request Header Fields Too Large"
        case 500: return "Internal Server Error"
        case 502: return "Bad Gateway"
        case 503: return "Service Unavailable"
        case 504: return "Gateway Timeout"
        default: return "Status \(status)"
        }
    }
}

/// How the server disposes of one request: answer it, or fault the connection.
public enum HTTPDisposition: Sendable {
    case respond(HTTPResponse)
    /// Close the connection without answering (the request was not processed).
    case drop
}

extension String {
    /// Percent-decoding for query strings (`+` is a space).
    var queryDecoded: String {
        replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? self
    }
}
