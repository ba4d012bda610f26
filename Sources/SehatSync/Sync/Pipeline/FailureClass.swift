/// What kind of failure an attempt met (seeds/004, US-11.5), which decides what happens next.
public enum FailureClass: String, Sendable, CaseIterable {
    /// 429, 503, connection refused/reset, timeout: back off and retry.
    case transient
    /// 401 after a fresh token, 403: retry after refreshing; a person may need to fix credentials.
    case auth
    /// 400, 409, 412, 422: the data is wrong; kept failed for a person to fix.
    case client
    /// 404: something the request names is missing; its dependencies are checked again.
    case notFound = "not_found"
    /// 500, 502, 504: retry, and escalate if it persists.
    case server
    /// The server already has the resource: found by its identifier and adopted.
    case duplicate
    /// Anything else (405, 410, 501): permanent, dead-lettered with the reason.
    case unknown

    /// The class of an HTTP status.
    static func of(status: Int) -> FailureClass {
        switch status {
        case 429, 503: return .transient
        case 401, 403: return .auth
        case 400, 409, 412, 422: return .client
        case 404: return .notFound
        case 500, 502, 504: return .server
        default: return .unknown
        }
    }
}
