import Foundation
import SehatSync

/// `sehat outbox`: what is queued, per lane and status, with dependencies and errors.
enum OutboxCommand {
    static let list = Command(
        words: ["outbox"],
        summary: "Show the outbox: counts per lane and status, then the items in the order they would be sent.",
        options: [
            OptionSpec(name: "lane", value: "emergency|clinic", help: "Only this lane"),
            OptionSpec(name: "status", value: "STATUS", help: "Only this status (\(ItemStatus.allCases.map(\.rawValue).joined(separator: "|")))"),
            OptionSpec(name: "limit", value: "N", help: "At most N items (default 200)"),
            .json("counts and items"),
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
                    item.hold.map(OutboxWords.hold) ?? item.lastError ?? "",
                ]
            })
        let shown = counts.reduce(0) { $0 + $1.count }
        if items.count < shown { Output.note("(\(items.count) of \(shown) items shown; use --limit)") }
        return 0
    }

    static let show = Command(
        words: ["outbox", "show"], summary: "Show one item: its request, its errors, what waits on it, and what to do about it.",
        positional: "ID", options: [.json("it")]
    ) { invocation in
        let client = try openClient(invocation)
        let detail = try client.outboxItem(try itemID(invocation))
        let conflict = try client.versionConflict(item: detail.item.id)
        if invocation.has("json") {
            Output.json(.obj([
                "item": itemJSON(detail.item), "request": detail.request.map(JSON.string) ?? .null,
                "conflict": conflict.map(conflictJSON) ?? .null,
                "advice": .string(OutboxWords.advice(for: detail.item, errors: detail.errors)),
                "waiting_items": .array(detail.waitingItems.map { .int(Int($0)) }),
                "errors": .array(detail.errors.map { error in
                    .obj(["category": .string(error.category.rawValue), "http_status": error.httpStatus.map(JSON.int) ?? .null,
                          "message": .string(error.message), "request_id": error.requestID.map(JSON.string) ?? .null,
                          "resolution": .string(error.resolution.rawValue), "at": .string(error.createdAt)])
                }),
            ]))
            return 0
        }
        let item = detail.item
        Output.line("item \(item.id): \(item.operation.rawValue) \(item.resourceType ?? item.queue) — \(item.status.rawValue), \(item.attempts)/\(item.maxRetries) attempts, lane \(item.lane.rawValue)")
        if let reason = item.hold { Output.line("held: \(OutboxWords.hold(reason))") }
        if let error = item.lastError { Output.line("last error: \(error)") }
        if !item.dependsOn.isEmpty { Output.line("depends on: \(item.dependsOn.map(String.init).joined(separator: ", "))") }
        if !detail.waitingItems.isEmpty { Output.line("waiting on it: \(detail.waitingItems.map(String.init).joined(separator: ", "))") }
        if !detail.errors.isEmpty {
            Output.line("")
            Output.table(["WHEN", "CLASS", "STATUS", "RESOLUTION", "MESSAGE"], detail.errors.map {
                [$0.createdAt, $0.category.rawValue, $0.httpStatus.map(String.init) ?? "-", $0.resolution.rawValue, String($0.message.prefix(160))]
            })
        }
        if let conflict { showConflict(conflict) }
        Output.line("")
        Output.line("what to do: \(OutboxWords.advice(for: item, errors: detail.errors))")
        if let request = detail.request {
            Output.line("")
            Output.line("request:")
            Output.line(request)
        }
        return 0
    }

    static let why = Command(
        words: ["outbox", "why"], summary: "Why an item has not left: the items it waits on, what holds the last of them, and what to do.",
        positional: "ID", options: [.json("the explanation")]
    ) { invocation in
        let why = try openClient(invocation).whyWaiting(try itemID(invocation))
        if invocation.has("json") {
            Output.json(.obj([
                "item": itemJSON(why.item), "chain": .array(why.chain.map(itemJSON)), "root": .int(Int(why.root.id)),
                "cause": OutboxWords.causeJSON(why.cause),
                "last_attempt": why.lastAttempt.map { attempt in
                    .obj(["end": .string(attempt.end.rawValue), "http_status": attempt.httpStatus.map(JSON.int) ?? .null, "at": .string(attempt.at)])
                } ?? .null,
                "reason": .string(OutboxWords.cause(why.cause, root: why.root)), "advice": .string(OutboxWords.advice(why)),
            ]))
            return 0
        }
        Output.line("item \(why.item.id): \(OutboxWords.summary(why.item))")
        for link in why.chain { Output.line("  waits on item \(link.id): \(OutboxWords.summary(link))") }
        Output.line("")
        Output.line("\(why.chain.isEmpty ? "why" : "why item \(why.root.id) holds it"): \(OutboxWords.cause(why.cause, root: why.root))")
        if let attempt = why.lastAttempt { Output.line("last attempt: \(OutboxWords.attempt(attempt))") }
        Output.line("what to do: \(OutboxWords.advice(why))")
        return 0
    }

    static let retry = Command(
        words: ["outbox", "retry"], summary: "Send a failed, dead or held item again (attempts reset); what waited on it follows.",
        positional: "ID", options: []
    ) { invocation in
        let id = try itemID(invocation)
        try openClient(invocation).retryItem(id)
        Output.line("item \(id) is pending again; run `sehat sync`")
        return 0
    }

    static let ignore = Command(
        words: ["outbox", "ignore"], summary: "Give up on an item: it is dead-lettered with the reason (it stays; retry revives it).",
        positional: "ID", options: [OptionSpec(name: "reason", value: "TEXT", help: "Why (kept in the error log)")]
    ) { invocation in
        let id = try itemID(invocation)
        try openClient(invocation).ignoreItem(id, reason: invocation.value("reason") ?? "no reason given")
        Output.line("item \(id) is dead-lettered; what waits on it stays held")
        return 0
    }

    static let resolve = Command(
        words: ["outbox", "resolve"],
        summary: "Settle a version conflict: keep your version (sent again, over the server's) or the server's (taken; nothing sent).",
        positional: "ID",
        options: [OptionSpec(name: "keep", value: "local|server", help: "Which version stays: local sends yours again; server takes the server's",
                                required: true), .author],
        details: "A conflict is an update the server refused (412) because someone else changed the resource since the version it\n"
            + "was based on. `sehat outbox show ID` shows both versions and the members that differ. Both stay on record either way."
    ) { invocation in
        let id = try itemID(invocation)
        guard let keep = try invocation.choice("keep", ConflictChoice.self) else {
            throw UsageError(message: "--keep local|server is required", command: nil)
        }
        let resolved = try openClient(invocation).resolveConflict(item: id, keep: keep, by: invocation.author)
        switch keep {
        case .local: Output.line("item \(id) is pending again, based on the server's version \(resolved.serverVersion ?? "?"); run `sehat sync`")
        case .server: Output.line("kept the server's version \(resolved.serverVersion ?? "?") of \(resolved.resourceID); item \(id) has nothing left to send")
        }
        return 0
    }

    private static func showConflict(_ conflict: VersionConflictDetail) {
        Output.line("")
        let state = conflict.kept.map { "resolved \(conflict.resolvedAt ?? "")\(conflict.resolvedBy.map { " by " + $0 } ?? ""): kept \($0.rawValue)" } ?? "open"
        Output.line("version conflict (\(state)): this update was based on version \(conflict.basedOn ?? "?"); "
            + "the server had version \(conflict.serverVersion ?? "?") (found \(conflict.detectedAt))")
        Output.line("differs in: \(conflict.differingMembers.joined(separator: ", "))")
        for member in conflict.differingMembers {
            Output.line("  \(member)")
            Output.line("    local:  \(conflict.local[member].map { String($0.text.prefix(300)) } ?? "(absent)")")
            Output.line("    server: \(conflict.server[member].map { String($0.text.prefix(300)) } ?? "(absent)")")
        }
        Output.line("(both versions whole: `sehat outbox show \(conflict.itemID) --json`)")
    }

    private static func conflictJSON(_ conflict: VersionConflictDetail) -> JSON {
        .obj([
            "resource_id": .string(conflict.resourceID), "based_on": nullable(conflict.basedOn), "server_version": nullable(conflict.serverVersion),
            "differing_members": .array(conflict.differingMembers.map(JSON.string)), "local": conflict.local, "server": conflict.server,
            "detected_at": .string(conflict.detectedAt), "kept": nullable(conflict.kept?.rawValue), "resolved_at": nullable(conflict.resolvedAt),
            "resolved_by": nullable(conflict.resolvedBy),
        ])
    }

    private static func itemID(_ invocation: Invocation) throws -> Int64 {
        guard let text = invocation.argument, let id = Int64(text), id > 0 else {
            throw UsageError(message: "ID must be an outbox item number, got \"\(invocation.argument ?? "")\"", command: nil)
        }
        return id
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
            "hold": OutboxWords.holdJSON(item.hold), "last_error": nullable(item.lastError), "escalated": .bool(item.escalated),
        ])
    }

    /// Missing values stay in the JSON as null, so scripts see every key.
    private static func nullable(_ text: String?) -> JSON { text.map(JSON.string) ?? .null }
}
