import Foundation
import SehatSync

/// `sehat outbox`: what is queued, per lane and status, with dependencies and errors.
enum OutboxCommand {
    static let list = Command(
        words: ["outbox"],
        summary: "Show the outbox: counts per lane and status, then the items in the order they would be sent.",
        options: [
            OptionSpec(name: "lane", value: "emergency|clinic", help: "Only this lane"),
            OptionSpec(name: "status", value: "STATUS", help: "Only this status (pending|processing|completed|failed|dead|held)"),
            OptionSpec(name: "limit", value: "N", help: "At most N items (default 200)"),
            OptionSpec(name: "json", value: nil, help: "Print counts and items as JSON"),
        ]
    ) { invocation in
        let client = try openClient(invocation)
        let lane = try invocation.choice("lane", Lane.self)
        let status = try invocation.choice("status", ItemStatus.self)
        let limit = try invocation.int("limit", default: 200, range: 1...1_000_000) ?? 200
        let counts = try client.outboxCounts().filter { lane == nil || $0.lane == lane }.filter { status == nil || $0.status == status }
        let items = try client.outboxItems(lane: lane, status: status, limit: limit)
        if invocation.has("json") {
            Output.json(.obj([
                "counts": .array(counts.map { .obj(["lane": .string($0.lane.rawValue), "status": .string($0.status.rawValue), "count": .int($0.count)]) }),
                "items": .array(items.map(itemJSON)),
            ]))
            return 0
        }
        if counts.isEmpty {
            Output.line("the outbox is empty")
            return 0
        }
        Output.table(["LANE", "STATUS", "COUNT"], counts.map { [$0.lane.rawValue, $0.status.rawValue, String($0.count)] })
        Output.line("")
        Output.table(
            ["ID", "LANE", "STATUS", "OP", "TYPE", "PRI", "TRIES", "WAITS ON", "NOTE"],
            items.map { item in
                [
                    String(item.id), item.lane.rawValue, item.status.rawValue, item.operation.rawValue,
                    item.resourceType ?? item.queue, String(item.priority), "\(item.attempts)/\(item.maxRetries)",
                    item.dependsOn.isEmpty ? "-" : item.dependsOn.map(String.init).joined(separator: ","),
                    item.lastError ?? item.heldReason ?? "",
                ]
            })
        let shown = counts.reduce(0) { $0 + $1.count }
        if items.count < shown { Output.note("(\(items.count) of \(shown) items shown; use --limit)") }
        return 0
    }

    static func itemJSON(_ item: OutboxItem) -> JSON {
        .obj([
            "id": .int(Int(item.id)), "lane": .string(item.lane.rawValue), "queue": .string(item.queue),
            "target": .string(item.target.rawValue), "operation": .string(item.operation.rawValue),
            "resource_type": nullable(item.resourceType), "resource_id": nullable(item.resourceID),
            "report_id": nullable(item.reportID), "encounter_id": nullable(item.encounterID),
            "priority": .int(item.priority), "status": .string(item.status.rawValue), "attempts": .int(item.attempts),
            "max_retries": .int(item.maxRetries), "depends_on": .array(item.dependsOn.map { .int(Int($0)) }),
            "unresolved_dependencies": .int(item.unresolvedDependencies),
            "held_reason": nullable(item.heldReason), "last_error": nullable(item.lastError),
        ])
    }

    /// Missing values stay in the JSON as null, so scripts see every key.
    private static func nullable(_ text: String?) -> JSON { text.map(JSON.string) ?? .null }
}
