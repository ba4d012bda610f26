import Foundation
import SehatSupport
import SehatSync

/// `sehat net`, `sehat status`, `sehat health`: what a tester in the field uses.
enum FieldCommands {
    static let net = Command(
        words: ["net"],
        summary: "Set the simulated link a running `sehat sync --watch` (and every sync) sees: online, offline or flaky.",
        positional: "online|offline|flaky",
        options: [
            OptionSpec(name: "loss", value: "P", help: "With flaky: the share of requests lost, 0 to 1 (default 0.3)"),
            OptionSpec(name: "latency-ms", value: "L", help: "Added to every request (default 0)"),
        ],
        details: "The link is a transport wrapper inside the SDK; nothing on the machine's network changes."
    ) { invocation in
        guard let mode = LinkState.Mode(rawValue: invocation.argument ?? "") else {
            throw UsageError(message: "give online, offline or flaky, got \"\(invocation.argument ?? "")\"", command: nil)
        }
        let loss = try invocation.double("loss", range: 0...1) ?? (mode == .flaky ? 0.3 : 0)
        let state = LinkState(mode: mode, loss: loss, latencyMilliseconds: try invocation.int("latency-ms", default: 0, range: 0...60_000) ?? 0)
        try openClient(invocation).setLinkState(state)
        Output.line("link: \(state.description)")
        return 0
    }

    static let status = Command(
        words: ["status"],
        summary: "The queue per lane and status, escalations, alerts, the link, the last error and endpoint health.",
        options: [.json("it")]
    ) { invocation in
        let status = try openClient(invocation).status()
        if invocation.has("json") {
            Output.json(.obj([
                "counts": .array(status.counts.map { .obj(["lane": .string($0.lane.rawValue), "status": .string($0.status.rawValue), "count": .int($0.count)]) }),
                "escalated": .int(status.escalated), "alerts": .int(status.alerts), "link": .string(status.link.description),
                "online": .bool(status.online), "last_error": status.lastError.map(JSON.string) ?? .null,
                "auth_failure": status.authFailure.map(JSON.string) ?? .null,
                "health": .array(status.health.map { .obj(["endpoint": .string($0.endpoint.rawValue), "status": .string($0.status.rawValue), "checked_at": .string($0.checkedAt)]) }),
            ]))
            return 0
        }
        Output.line("link: \(status.link.description)\(status.online ? "" : " — offline")")
        for lane in Lane.allCases {
            let parts = ItemStatus.allCases.compactMap { s -> String? in
                let n = status.count(s, lane: lane)
                return n > 0 ? "\(n) \(s.rawValue)" : nil
            }
            Output.line("\(lane.rawValue): \(parts.isEmpty ? "empty" : parts.joined(separator: ", "))")
        }
        Output.line("escalated (still retrying): \(status.escalated); alerts: \(status.alerts); dead-lettered: \(status.count(.dead)); failed: \(status.count(.failed))")
        if let failure = status.authFailure { Output.line("authentication: \(failure.prefix(300))") }
        if let error = status.lastError { Output.line("last error: \(error.prefix(200))") }
        for check in status.health {
            Output.line("health \(check.endpoint.rawValue): \(check.status.rawValue)\(check.milliseconds.map { " (\($0) ms)" } ?? "") at \(check.checkedAt)"
                        + (check.error.map { " — \($0.prefix(200))" } ?? ""))
        }
        return 0
    }

    static let metrics = Command(
        words: ["metrics"], summary: "Print the device's state in the Prometheus text format.", options: []
    ) { invocation in
        FileHandle.standardOutput.write(Data(try openClient(invocation).metrics().utf8))
        return 0
    }

    static let health = Command(
        words: ["health"],
        summary: "Probe each endpoint now (FHIR base, token endpoint, emergency service) and record the result.",
        options: [.json("the results")]
    ) { invocation in
        let engine = try hostEngine(try openClient(invocation))
        let checks = try waitFor { try await engine.checkHealth() }
        if invocation.has("json") {
            Output.json(.array(checks.map {
                .obj(["endpoint": .string($0.endpoint.rawValue), "url": .string($0.url), "status": .string($0.status.rawValue),
                      "response_ms": $0.milliseconds.map(JSON.int) ?? .null, "http_status": $0.httpStatus.map(JSON.int) ?? .null,
                      "error": $0.error.map(JSON.string) ?? .null])
            }))
        } else {
            Output.table(["ENDPOINT", "STATUS", "MS", "HTTP", "URL"], checks.map {
                [$0.endpoint.rawValue, $0.status.rawValue, $0.milliseconds.map(String.init) ?? "-", $0.httpStatus.map(String.init) ?? "-", $0.url]
            })
        }
        return checks.contains { $0.status == .unhealthy } ? 3 : 0
    }
}
