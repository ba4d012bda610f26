import Foundation
import SehatFHIR
import SehatJSON
import SehatStore

/// An endpoint whose health is checked.
public enum HealthEndpoint: String, Sendable, CaseIterable {
    /// SATUSEHAT's FHIR base (`/metadata`).
    case satusehatFHIR = "satusehat-fhir"
    /// SATUSEHAT's token endpoint.
    case satusehatAuth = "satusehat-auth"
    /// The emergency service (`/api/emergency/health`).
    case emergency
}

/// One endpoint's health at one moment.
public struct HealthCheck: Sendable, Equatable {
    /// How an endpoint answered its probe.
    public enum Status: String, Sendable {
        /// Answered quickly with neither 429 nor 5xx.
        case healthy
        /// Answered, but slowly (over 2 s) or with 429 / 5xx.
        case degraded
        /// Did not answer.
        case unhealthy
    }

    /// Which endpoint.
    public let endpoint: HealthEndpoint
    /// The URL probed.
    public let url: String
    /// How it answered.
    public let status: Status
    /// How long the answer took, when there was one.
    public let milliseconds: Int?
    /// The answer's HTTP status, when there was one.
    public let httpStatus: Int?
    /// Why there was no answer.
    public let error: String?
    /// When it was checked (UTC, RFC 3339).
    public let checkedAt: String
}

/// Probes each endpoint (the FHIR base, the token endpoint, the emergency service) and keeps
/// the results in `health_checks`.
struct HealthMonitor {
    static let slowMilliseconds = 2_000

    let client: SehatClient
    let transport: any HTTPTransport
    let timeout: TimeInterval

    func checkAll() async throws -> [HealthCheck] {
        guard let settings = try client.configuration() else { throw NotConfiguredError() }
        var endpoints: [(HealthEndpoint, String)] = [(.satusehatFHIR, settings.baseURL + "/metadata"), (.satusehatAuth, settings.authURL)]
        if let emergency = settings.emergencyURL { endpoints.append((.emergency, emergency + "/api/emergency/health")) }
        var results: [HealthCheck] = []
        for (name, url) in endpoints { results.append(await check(name, url)) }
        for result in results { try record(result) }
        return results
    }

    /// Keeps one check (a probe's, or what a sync saw).
    func record(_ check: HealthCheck) throws {
        let stamp = FHIRDateTime.format(client.clock.now())
        try client.database.write { conn in
            try conn.execute(
                "INSERT INTO health_checks(endpoint, url, status, response_ms, http_status, error, checked_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                [.text(check.endpoint.rawValue), .text(check.url), .text(check.status.rawValue), SQLValue(check.milliseconds),
                 SQLValue(check.httpStatus), SQLValue(check.error), .text(stamp)])
        }
    }

    /// Any HTTP answer means the endpoint is reachable (a 401 or 404 included).
    func check(_ name: HealthEndpoint, _ url: String) async -> HealthCheck {
        let started = DispatchTime.now().uptimeNanoseconds
        let stamp = FHIRDateTime.format(client.clock.now())
        do {
            let call = HTTPCall(method: "GET", url: url, headers: ["X-Request-ID": UUID().uuidString.lowercased()], timeout: timeout)
            let answer = try await transport.send(call)
            let ms = Int((DispatchTime.now().uptimeNanoseconds - started) / 1_000_000)
            if let foreign = ReceiverCheck.foreignAnswer(to: call, answer) {
                return HealthCheck(endpoint: name, url: url, status: .unhealthy, milliseconds: ms, httpStatus: answer.status, error: foreign, checkedAt: stamp)
            }
            let degraded = ms > HealthMonitor.slowMilliseconds || answer.status == 429 || answer.status >= 500
            return HealthCheck(endpoint: name, url: url, status: degraded ? .degraded : .healthy, milliseconds: ms, httpStatus: answer.status,
                               error: nil, checkedAt: stamp)
        } catch {
            return HealthCheck(endpoint: name, url: url, status: .unhealthy, milliseconds: nil, httpStatus: nil, error: "\(error)", checkedAt: stamp)
        }
    }
}
