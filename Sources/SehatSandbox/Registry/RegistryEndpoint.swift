import Foundation
import SehatJSON

/// The registry sources' APIs: KKI under `/kki` (cursor paging), SISDMK under `/sisdmk`
/// (page paging), each with an RFC 6749 token endpoint at `{root}/oauth/token`, the same
/// clients and tokens as the FHIR side, and the same fault plan.
extension SandboxState {
    static let kkiPrefix = "/kki"
    static let sisdmkPrefix = "/sisdmk"

    static func isRegistry(_ path: String) -> Bool {
        path.hasPrefix(kkiPrefix + "/") || path.hasPrefix(sisdmkPrefix + "/")
    }

    mutating func registry(_ request: HTTPRequest, fault: FaultPlan.Decision) -> HTTPDisposition {
        let source = request.path.hasPrefix(SandboxState.kkiPrefix + "/") ? "kki" : "sisdmk"
        let rest = String(request.path.dropFirst(source == "kki" ? SandboxState.kkiPrefix.count : SandboxState.sisdmkPrefix.count))
        if rest == "/oauth/token" { return applying(fault, to: request) { $0.token(request, style: .standard) } }
        if case .failure(let refusal) = authenticate(request) {
            logRequest(request, status: refusal.response.status, fault: "pass")
            return .respond(.json(401, #"{"error":"invalid_token","error_description":"the access token is missing, unknown or expired"}"#,
                                  contentType: "application/json"))
        }
        return applying(fault, to: request) { state in
            switch (request.method, source, rest) {
            case ("GET", "kki", "/practitioners"): return state.kkiPage(request)
            case ("GET", "sisdmk", "/tenaga-kesehatan"): return state.sisdmkPage(request)
            default: return .json(404, #"{"error":"not_found"}"#, contentType: "application/json")
            }
        }
    }

    /// `updated_since`: absent (everything), or an RFC 3339 time; nil when it is neither.
    private func since(_ request: HTTPRequest) -> Date?? {
        guard let text = request.queryValue("updated_since") else { return .some(nil) }
        guard let date = ISO8601DateFormatter().date(from: text) else { return nil }
        return .some(date)
    }

    private func positive(_ request: HTTPRequest, _ name: String, default fallback: Int, max: Int) -> Int? {
        guard let text = request.queryValue(name) else { return fallback }
        guard let value = Int(text), value >= 1, value <= max else { return nil }
        return value
    }

    mutating func kkiPage(_ request: HTTPRequest) -> HTTPResponse {
        guard let since = since(request) else { return .json(400, #"{"error":"updated_since must be RFC 3339"}"#, contentType: "application/json") }
        guard let limit = positive(request, "limit", default: 100, max: 10_000) else {
            return .json(400, #"{"error":"limit must be 1 to 10000"}"#, contentType: "application/json")
        }
        var offset = 0
        if let cursor = request.queryValue("cursor") {
            guard cursor.hasPrefix("o"), let value = Int(cursor.dropFirst()), value >= 0 else {
                return .json(400, #"{"error":"unknown cursor"}"#, contentType: "application/json")
            }
            offset = value
        }
        let (page, total) = workforce.listed(by: "kki", since: since, offset: offset, limit: limit)
        let rows = page.map(WorkforceRegistry.kkiRow)
        let next: JSON = offset + page.count < total ? .string("o\(offset + page.count)") : .null
        return .json(200, JSON.obj(["data": .array(rows), "next_cursor": next]).text, contentType: "application/json")
    }

    mutating func sisdmkPage(_ request: HTTPRequest) -> HTTPResponse {
        guard let since = since(request) else { return .json(400, #"{"error":"updated_since must be RFC 3339"}"#, contentType: "application/json") }
        guard let page = positive(request, "page", default: 1, max: 1_000_000), let perPage = positive(request, "per_page", default: 100, max: 10_000) else {
            return .json(400, #"{"error":"page and per_page must be positive"}"#, contentType: "application/json")
        }
        let (listed, total) = workforce.listed(by: "sisdmk", since: since, offset: (page - 1) * perPage, limit: perPage)
        let rows = listed.map(WorkforceRegistry.sisdmkRow)
        return .json(200, JSON.obj([
            "data": .array(rows), "meta": .obj(["page": .int(page), "per_page": .int(perPage), "total": .int(total)]),
        ]).text, contentType: "application/json")
    }
}
