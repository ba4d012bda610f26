import Foundation
import SehatStore

/// Why an item has not reached its receiver yet: the chain from it to what holds it, and what
/// holds it. Typed values only; the app builds the sentences (`sehat outbox why`).
///
///     let why = try client.whyWaiting(42)
///     if case .refused(let category, _) = why.cause { print("item \(why.root.id) was refused:", category) }
public struct WaitExplanation: Sendable, Equatable {
    /// The item asked about.
    public let item: OutboxItem
    /// The items it waits on, one after the other: the first is what `item` waits on, the
    /// last (the root) is what holds them all. Empty when the item waits on nothing else.
    public let chain: [OutboxItem]
    /// What holds the root (the last of `chain`, or the item itself).
    public let cause: WaitCause
    /// The root's last attempt, when it was sent at least once.
    public let lastAttempt: LastAttempt?

    /// The item at the end of the chain.
    public var root: OutboxItem { chain.last ?? item }
}

/// What holds an item, read from its typed columns and its last attempt.
public enum WaitCause: Sendable, Equatable {
    /// Nothing: the receiver has it.
    case delivered
    /// Nothing: it was withdrawn before it reached the server; it never leaves.
    case withdrawn
    /// Nothing but a sync: it is due, and everything it waits on has been delivered.
    case readyNow
    /// A sync is sending it now (its claim lasts until the time given).
    case inFlight(leaseUntil: Date?)
    /// It goes again at `until`, on its own; `after` is how its last attempt ended.
    case backoff(until: Date, after: AttemptEnd?)
    /// Held for a reason a person must change (consent, a registration).
    case held(HoldReason)
    /// The receiver refused it (a rule violation, a bad field): a person must correct it.
    case refused(FailureClass?, attempts: Int)
    /// Given up on (dead-lettered) until a person revives it.
    case deadLettered
    /// Someone else changed the resource on the server: a person chooses a version.
    case conflict
    /// It waits on items that cannot be read (a damaged or hand-edited database).
    case unknown
}

/// How an attempt ended, as the sync log keeps it.
public enum AttemptEnd: String, Sendable, Equatable, CaseIterable {
    /// The device was offline: nothing was sent.
    case offline
    /// The endpoint's circuit breaker was open after repeated failures: nothing was sent.
    case circuitOpen = "circuit_open"
    /// No token could be had: nothing was sent.
    case noToken = "no_token"
    /// Something other than the receiver answered (a Wi-Fi login page, a proxy).
    case notTheReceiver = "not_the_receiver"
    /// It was sent and no answer came back.
    case noAnswer = "no_answer"
    /// The receiver answered with the HTTP status of `LastAttempt.httpStatus`.
    case answered
}

/// An item's most recent attempt.
public struct LastAttempt: Sendable, Equatable {
    /// How it ended.
    public let end: AttemptEnd
    /// The receiver's HTTP status, when it answered.
    public let httpStatus: Int?
    /// When (FHIR dateTime, as logged).
    public let at: String
}

/// Walks from an item to what holds it. Follows a dependency not yet delivered (the one that
/// is itself furthest from leaving: failed, held or dead before pending), or a held item's
/// `waitsOn`, until an item waits on nothing else.
struct WaitExplainer {
    let connection: Connection
    let now: Date

    /// At most this many links are followed (dependency chains are a few levels deep; a longer
    /// one means a cycle in a hand-edited database).
    static let maxLinks = 100

    func explain(_ id: Int64) throws -> WaitExplanation {
        let reader = OutboxReader(connection: connection)
        guard let item = try reader.items(lane: nil, status: nil, ids: [id], limit: 1).first else {
            throw FieldError("id", "there is no outbox item \(id)")
        }
        var chain: [OutboxItem] = []
        var current = item
        var seen: Set<Int64> = [item.id]
        while chain.count < Self.maxLinks, let next = try waitsOn(current) {
            guard !seen.contains(next), let loaded = try reader.items(lane: nil, status: nil, ids: [next], limit: 1).first else {
                return WaitExplanation(item: item, chain: chain, cause: .unknown, lastAttempt: nil)
            }
            seen.insert(next)
            chain.append(loaded)
            current = loaded
        }
        return WaitExplanation(item: item, chain: chain, cause: try cause(of: current), lastAttempt: try lastAttempt(of: current.id))
    }

    /// The item `item` waits on, if it waits on one.
    private func waitsOn(_ item: OutboxItem) throws -> Int64? {
        switch item.status {
        case .held:
            if case .waitsOn(let other, _) = item.hold { return other }
            return nil
        case .pending where item.unresolvedDependencies > 0:
            // The dependency furthest from leaving first, so the chain ends where a person is needed.
            return try connection.scalar(
                """
                SELECT o.id FROM outbox_deps d JOIN outbox o ON o.id = d.depends_on
                WHERE d.item_id = ? AND o.status <> 'completed'
                ORDER BY CASE o.status WHEN 'failed' THEN 0 WHEN 'held' THEN 1 WHEN 'dead' THEN 2 WHEN 'pending' THEN 3 ELSE 4 END, o.id
                LIMIT 1
                """, [.integer(item.id)]).int64
        default:
            return nil
        }
    }

    private func cause(of item: OutboxItem) throws -> WaitCause {
        switch item.status {
        case .completed: return .delivered
        case .withdrawn: return .withdrawn
        case .conflict: return .conflict
        case .dead: return .deadLettered
        case .held: return item.hold.map(WaitCause.held) ?? .unknown
        case .failed:
            let category = try connection.scalar("SELECT category FROM error_log WHERE item_id = ? ORDER BY id DESC LIMIT 1", [.integer(item.id)])
                .string.flatMap(FailureClass.init)
            return .refused(category, attempts: item.attempts)
        case .processing:
            let lease = try connection.scalar("SELECT lease_until FROM outbox WHERE id = ?", [.integer(item.id)]).int64
            return .inFlight(leaseUntil: lease.map { Date(timeIntervalSince1970: Double($0) / 1000) })
        case .pending:
            if item.unresolvedDependencies > 0 { return .unknown }  // its dependencies could not be followed
            let due = Date(timeIntervalSince1970: Double(item.nextAttemptAt) / 1000)
            guard due > now else { return .readyNow }
            return .backoff(until: due, after: try lastAttempt(of: item.id)?.end)
        }
    }

    private func lastAttempt(of id: Int64) throws -> LastAttempt? {
        guard let row = try connection.queryFirst(
            "SELECT outcome, status, created_at FROM sync_log WHERE item_id = ? ORDER BY id DESC LIMIT 1", [.integer(id)])
        else { return nil }
        let status = row["status"].int
        let end: AttemptEnd
        switch AttemptNote(rawValue: row["outcome"].string ?? "") {
        case .offline: end = .offline
        case .circuitOpen: end = .circuitOpen
        case .noToken: end = .noToken
        case .notTheReceiver: end = .notTheReceiver
        default: end = status == nil ? .noAnswer : .answered
        }
        return LastAttempt(end: end, httpStatus: end == .answered ? status : nil, at: row["created_at"].string ?? "")
    }
}
