import Foundation
import SehatFHIR
import SehatJSON
import SehatSandbox
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// Plain HTTP calls to a sandbox, for tests, bounded by a 10 s timeout.
struct SandboxClient {
    let sandbox: Sandbox
    let session: URLSession = {
        let configuration = URLSessionConfiguration.ephemeral
        configuration.timeoutIntervalForRequest = 10
        return URLSession(configuration: configuration)
    }()

    struct Reply {
        let status: Int
        let headers: [String: String]
        let body: String
        var json: JSON? { try? JSON.parse(body) }
    }

    func call(_ method: String, _ url: String, body: String? = nil, token: String? = nil, contentType: String = "application/fhir+json",
              headers: [String: String] = [:]) async throws -> Reply {
        var request = URLRequest(url: URL(string: url)!)
        request.httpMethod = method
        for (name, value) in headers { request.setValue(value, forHTTPHeaderField: name) }
        if let body {
            request.httpBody = Data(body.utf8)
            request.setValue(contentType, forHTTPHeaderField: "Content-Type")
        }
        if let token { request.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization") }
        let (data, response) = try await session.data(for: request)
        let http = response as! HTTPURLResponse
        var headers: [String: String] = [:]
        for (key, value) in http.allHeaderFields { headers[String(describing: key).lowercased()] = String(describing: value) }
        return Reply(status: http.statusCode, headers: headers, body: String(decoding: data, as: UTF8.self))
    }

    func token(clientID: String = "sandbox-client", secret: String = "sandbox-secret") async throws -> Reply {
        try await call("POST", sandbox.authURL + "?grant_type=client_credentials", body: "client_id=\(clientID)&client_secret=\(secret)",
                       contentType: "application/x-www-form-urlencoded")
    }

    func accessToken() async throws -> String {
        try await token().json!["access_token"]!.stringValue!
    }
}
