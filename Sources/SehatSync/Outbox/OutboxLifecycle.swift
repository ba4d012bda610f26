import Foundation
import SehatFHIR
import SehatJSON
import SehatStore

/// What to queue: one operation on one resource (or one emergency report).
struct NewOutboxItem {
    var lane: Lane = .clinic
    var queue: String
    var target: Target = .satusehat
    var operation: Operation
    var resourceType: String?
    var resourceID: String?
    var reportID: String?
    var encounterID: String?
    /// Items sent together as one transaction bundle when they can be (an encounter, an import).
    var groupID: String?
    /// The registered patient whose consent decides whether the item may leave the device.
    var patientID: String?
    /// What is sent, when it is not the resource's current JSON (e.g. the `arrived` Encounter).
    var payload: JSON?
    var priority: Int
    var maxRetries: Int
    /// Dependencies beyond those the payload's references imply.
    var extraDependencies: [Int64] = []
}

/// The one owner of the outbox's state machine: every change to `outbox` and `outbox_deps`
/// is one of its typed operations, run inside the caller's transaction.
///
/// ```
/// enqueue → pending ──claim──► processing ──complete──► completed
///              ▲                   │  ├─scheduleRetry──► pending (due later)
///              │                   │  ├─fail───────────► failed ─┐
///              │                   │  ├─markConflict───► failed ─┤ (`conflict` flag: 412, someone else's version)
///              │                   │  ├─deadLetter─────► dead ───┤ dependants held (waitsOn)
///              │                   │  ├─hold───────────► held ───┘
///              │                   │  └─release / recover ─► pending (search before re-send)
///              └──── revive (a person), releaseConsentHolds, reopen (re-check) ────┘
///                    resolveConflict (a person): keep local → pending; keep server → completed
/// ```
///
/// Transitions of claimed items are fenced: they apply only while the caller's owner still
/// holds the claim, so an engine whose lease ran out cannot overwrite what another did since.
package struct OutboxLifecycle {
    let connection: Connection
    let now: Date

    /// The owner at work inside the caller's transaction on `connection`, at `now`.
    package init(connection: Connection, now: Date) {
        self.connection = connection
        self.now = now
        stamp = FHIRDateTime.format(now)
    }

    /// `now` as the rows store it (formatted once: a bundle's consolidation writes it thousands of times).
    let stamp: String
    private var nowMilliseconds: Int64 { Int64(now.timeIntervalSince1970 * 1000) }

    /// An attempt whose outcome is unknown (it may have reached the server): creates and
    /// notifications search (or rely on the receiver's de-duplication) before they go again.
    private static let markUnknownOutcome = "needs_check = CASE WHEN operation IN ('create', 'notify') THEN 1 ELSE needs_check END"
    /// The claim's columns, cleared whenever an item leaves `processing`.
    private static let dropClaim = "claimed_by = NULL, lease_until = NULL"

    // MARK: Enqueue

    /// Inserts `item` and its dependency edges; returns its id (the outbox sequence number).
    ///
    /// Edges are derived, not listed by hand: an item depends on the item that makes each
    /// resource it references exist on the server (that resource's `create` or `lookup`), an
    /// `update` depends on its own resource's `create`, plus any explicit extra edges (an
    /// encounter's closing update waits for everything recorded within it).
    @discardableResult
    func enqueue(_ item: NewOutboxItem, resourceJSON: JSON?) throws -> Int64 {
        var referenced: [String] = []
        for site in (item.payload ?? resourceJSON)?.references() ?? [] {
            if case .relative(_, let id) = site.reference, id != item.resourceID, !referenced.contains(id) { referenced.append(id) }
        }
        if item.operation == .update, let own = item.resourceID { referenced.append(own) }
        // Each dependency with whether it is still unresolved (not completed).
        var dependencies: [(id: Int64, open: Bool)] = []
        for id in referenced {
            if let establishing = try establishingItem(forResource: id), !dependencies.contains(where: { $0.id == establishing.id }) {
                dependencies.append(establishing)
            }
        }
        for id in item.extraDependencies where !dependencies.contains(where: { $0.id == id }) {
            let status = try connection.scalar("SELECT status FROM outbox WHERE id = ?", [.integer(id)]).string
            dependencies.append((id, status != ItemStatus.completed.rawValue))
        }
        try connection.execute(
            """
            INSERT INTO outbox(lane, queue, target, operation, resource_type, resource_id, report_id, encounter_id, group_id, patient_id,
                               payload, priority, unresolved_deps, max_retries, next_attempt_at, created_at, updated_at)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """,
            [
                .text(item.lane.rawValue), .text(item.queue), .text(item.target.rawValue), .text(item.operation.rawValue),
                SQLValue(item.resourceType), SQLValue(item.resourceID), SQLValue(item.reportID), SQLValue(item.encounterID),
                SQLValue(item.groupID ?? item.encounterID), SQLValue(item.patientID), SQLValue(item.payload?.text), .integer(Int64(item.priority)),
                .integer(Int64(dependencies.filter(\.open).count)), .integer(Int64(item.maxRetries)), .integer(nowMilliseconds),
                .text(stamp), .text(stamp),
            ]
        )
        let id = connection.lastInsertRowID
        for dependency in dependencies {
            try connection.execute("INSERT INTO outbox_deps(item_id, depends_on) VALUES (?, ?)", [.integer(id), .integer(dependency.id)])
        }
        return id
    }

    /// The item that makes a local resource exist on the server: its first create or lookup.
    /// Nil when the id is not a local resource (a server id, such as `Organization/{orgId}`).
    func establishingItem(forResource localID: String) throws -> (id: Int64, open: Bool)? {
        guard let row = try connection.queryFirst(
            "SELECT id, status FROM outbox WHERE resource_id = ? AND operation IN ('create', 'lookup') ORDER BY id LIMIT 1",
            [.text(localID)]), let id = row[0].int64
        else { return nil }
        return (id, row[1].string != ItemStatus.completed.rawValue)
    }

    /// Moves what still has to establish a person on the server into the emergency lane at
    /// `priority`, so an emergency never waits behind clinic work for them.
    func moveToEmergencyLane(resource localID: String, priority: Int) throws {
        try connection.execute(
            """
            UPDATE outbox SET lane = 'emergency', priority = ?, updated_at = ?
            WHERE resource_id = ? AND operation IN ('lookup', 'create') AND status IN ('pending', 'held')
            """, [.integer(Int64(priority)), .text(stamp), .text(localID)])
    }

    // MARK: Bulk loads for benchmarks

    /// Queues a `create` for every stored resource whose local id starts with `prefix`, in
    /// one statement (a long backlog for benchmarks); returns how many were queued.
    package func enqueueCreates(ofResourcesPrefixed prefix: String, queue: String, priority: Int, maxRetries: Int) throws -> Int {
        try connection.execute(
            """
            INSERT INTO outbox(lane, queue, target, operation, resource_type, resource_id, priority, max_retries, next_attempt_at, created_at, updated_at)
            SELECT 'clinic', ?, 'satusehat', 'create', resource_type, local_id, ?, ?, ?, ?, ?
            FROM resources WHERE local_id >= ? AND local_id < ? ORDER BY local_id
            """,
            [.text(queue), .integer(Int64(priority)), .integer(Int64(maxRetries)), .integer(nowMilliseconds), .text(stamp), .text(stamp),
             .text(prefix), .text(prefix + "\u{10FFFF}")])
        return connection.changes
    }

    /// A synthetic queue of `count` items for the readiness benchmark, in one statement: every
    /// 97th in the emergency lane, a fifth completed, a tenth ready, the rest waiting on one to
    /// three dependencies (counted, without edges), due over the first second.
    package func loadSyntheticQueue(count: Int, resourceID: String) throws {
        try connection.execute(
            """
            WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?)
            INSERT INTO outbox(lane, queue, target, operation, resource_type, resource_id, priority, status, unresolved_deps,
                               max_retries, next_attempt_at, created_at, updated_at)
            SELECT CASE WHEN i % 97 = 0 THEN 'emergency' ELSE 'clinic' END, 'satusehat.observation.normal', 'satusehat',
                   'create', 'Observation', ?, 100 + i % 7,
                   CASE WHEN i % 5 = 0 THEN 'completed' ELSE 'pending' END,
                   CASE WHEN i % 10 = 1 THEN 0 ELSE 1 + i % 3 END, 3, i % 1000, ?, ?
            FROM n
            """,
            [.integer(Int64(count)), .text(resourceID), .text(stamp), .text(stamp)])
    }

    // MARK: Claims

    /// Registers the owner of the claims an engine is about to make (once per engine).
    func register(_ owner: SyncOwner) throws {
        try connection.execute(
            "INSERT OR IGNORE INTO sync_owners(id, host, pid, process_start, started_at) VALUES (?, ?, ?, ?, ?)",
            [.text(owner.id), .text(owner.host), .integer(Int64(owner.pid)), SQLValue(owner.processStart), .text(stamp)])
    }

    /// Claims pending items for `owner` until `leaseUntil`; returns the ids actually claimed.
    func claim(_ ids: [Int64], by owner: SyncOwner, leaseUntil: Date) throws -> [Int64] {
        guard !ids.isEmpty else { return [] }
        let claimed = Set(try connection.query(
            """
            UPDATE outbox SET status = 'processing', claimed_by = ?, lease_until = ?, updated_at = ?
            WHERE id IN (SELECT value FROM json_each(?)) AND status = 'pending' RETURNING id
            """, [.text(owner.id), .integer(Self.milliseconds(leaseUntil)), .text(stamp), .text(Self.idList(ids))]).compactMap { $0["id"].int64 })
        return ids.filter(claimed.contains)
    }

    /// Ids as a JSON array, for `json_each(?)`: one statement for a bundle's items.
    private static func idList(_ ids: [Int64]) -> String { "[" + ids.map(String.init).joined(separator: ",") + "]" }

    /// Extends the lease of everything `owner` has in flight.
    func renewLease(of owner: SyncOwner, until: Date) throws {
        try connection.execute("UPDATE outbox SET lease_until = ? WHERE claimed_by = ? AND status = 'processing'",
                               [.integer(Self.milliseconds(until)), .text(owner.id)])
    }

    /// Takes back the items whose owner is gone — its lease ran out, or its process or engine
    /// is known to have stopped — as pending, marked to search before they are sent again.
    /// Items of owners that may still be sending are left alone. Returns how many came back.
    @discardableResult
    package func recover() throws -> Int {
        let owners = try connection.query(
            """
            SELECT DISTINCT o.claimed_by, s.host, s.pid, s.process_start
            FROM outbox o LEFT JOIN sync_owners s ON s.id = o.claimed_by
            WHERE o.status = 'processing'
            """)
        var gone: [String] = []
        for row in owners {
            guard let id = row.optionalString("claimed_by"), let host = row.optionalString("host"), let pid = row["pid"].int64 else { continue }
            if !SyncOwner.mayBeAlive(host: host, pid: Int32(truncatingIfNeeded: pid), processStart: row["process_start"].int64, id: id) {
                gone.append(id)
            }
        }
        try connection.execute(
            """
            UPDATE outbox SET status = 'pending', \(Self.markUnknownOutcome), \(Self.dropClaim), updated_at = ?
            WHERE status = 'processing'
              AND (claimed_by IS NULL OR lease_until IS NULL OR lease_until < ?
                   OR claimed_by NOT IN (SELECT id FROM sync_owners) OR claimed_by IN (SELECT value FROM json_each(?)))
            """, [.text(stamp), .integer(nowMilliseconds), .text(JSON.array(gone.map(JSON.string)).text)])
        let recovered = connection.changes
        // Owners with nothing left in flight are forgotten.
        try connection.execute(
            "DELETE FROM sync_owners WHERE id NOT IN (SELECT claimed_by FROM outbox WHERE status = 'processing' AND claimed_by IS NOT NULL) AND id IN (SELECT value FROM json_each(?))",
            [.text(JSON.array(gone.map(JSON.string)).text)])
        return recovered
    }

    /// Forgets an engine that stops, unless it still has items in flight.
    func retire(_ owner: SyncOwner) throws {
        try connection.execute(
            "DELETE FROM sync_owners WHERE id = ? AND NOT EXISTS (SELECT 1 FROM outbox WHERE status = 'processing' AND claimed_by = ?)",
            [.text(owner.id), .text(owner.id)])
    }

    /// Returns claimed items to pending, marked to search first (their outcome could not be
    /// stored).
    func release(_ ids: [Int64], by owner: SyncOwner) throws {
        for id in ids {
            try connection.execute(
                """
                UPDATE outbox SET status = 'pending', \(Self.markUnknownOutcome), \(Self.dropClaim), updated_at = ?
                WHERE id = ? AND status = 'processing' AND claimed_by = ?
                """, [.text(stamp), .integer(id), .text(owner.id)])
        }
    }

    // MARK: Outcomes of a claimed item (fenced by the owner)

    /// Done: the receiver acknowledged it. Its dependants have one dependency fewer to wait for.
    /// False when `owner` no longer holds the claim (nothing changed).
    @discardableResult
    func complete(_ id: Int64, by owner: SyncOwner?, attempts: Int) throws -> Bool {
        try connection.execute(
            """
            UPDATE outbox SET status = 'completed', attempts = ?, needs_check = 0, last_error = NULL, conflict = 0, \(Self.clearHold),
                              \(Self.dropClaim), completed_at = ?, updated_at = ?
            WHERE id = ? AND \(Self.fence(owner))
            """, [.integer(Int64(attempts)), .text(stamp), .text(stamp), .integer(id)] + Self.fenceArguments(owner))
        guard connection.changes > 0 else { return false }
        // Only dependants still waiting count it down: one that completed while this item was
        // reopened for a check (`reopen`) was never counted up again.
        try connection.execute(
            """
            UPDATE outbox SET unresolved_deps = unresolved_deps - 1
            WHERE id IN (SELECT item_id FROM outbox_deps WHERE depends_on = ?) AND status <> 'completed'
            """, [.integer(id)])
        return true
    }

    /// What `scheduleRetry` did.
    enum Retried: Equatable {
        /// Nothing: the owner no longer holds the claim.
        case notClaimed
        case scheduled
        /// Scheduled, and the item has now failed `max_retries` counted times: flagged once
        /// (the caller raises the alert); it keeps retrying at the backoff cap.
        case escalated
    }

    /// Back to pending, due at `due`. A counted attempt adds to `attempts`; an unknown outcome
    /// makes the next attempt search first; `checked` (a search just found it absent, and it
    /// was not sent) lets the next attempt send without searching.
    @discardableResult
    func scheduleRetry(_ id: Int64, by owner: SyncOwner, due: Date, counted: Bool, unknownOutcome: Bool, error: String,
                       checked: Bool = false) throws -> Retried {
        try connection.execute(
            """
            UPDATE outbox SET status = 'pending', attempts = attempts + ?, next_attempt_at = ?, last_error = ?,
                              needs_check = CASE WHEN ? AND operation IN ('create', 'notify') THEN 1 WHEN ? THEN 0 ELSE needs_check END,
                              \(Self.dropClaim), updated_at = ?
            WHERE id = ? AND \(Self.fence(owner))
            """,
            [.integer(counted ? 1 : 0), .integer(Self.milliseconds(due)), .text(LogMasking.mask(error)), .integer(unknownOutcome ? 1 : 0),
             .integer(checked ? 1 : 0), .text(stamp),
             .integer(id)] + Self.fenceArguments(owner))
        guard connection.changes > 0 else { return .notClaimed }
        return try counted && escalateIfPersistent(id) ? .escalated : .scheduled
    }

    /// A bundle was refused: the item goes on alone, so a bad resource fails by itself.
    func sendSingly(_ id: Int64, by owner: SyncOwner, error: String) throws {
        try connection.execute(
            """
            UPDATE outbox SET status = 'pending', send_singly = 1, attempts = attempts + 1, last_error = ?, \(Self.dropClaim), updated_at = ?
            WHERE id = ? AND \(Self.fence(owner))
            """, [.text(LogMasking.mask(error)), .text(stamp), .integer(id)] + Self.fenceArguments(owner))
    }

    /// Refused by the receiver: kept for a person; what waits on it is held. A refused create is
    /// not on the server — had an earlier attempt of unknown outcome created it, the search before
    /// this one would have found it — so it no longer needs a search (`needs_check` cleared), and
    /// an amendment sends it anew rather than queueing an update of something that does not exist.
    func fail(_ id: Int64, by owner: SyncOwner, attempts: Int, error: String) throws {
        try park(id, status: .failed, hold: nil, error: error, attempts: attempts, owner: owner, refused: true)
    }

    /// Given up on (permanently refused, or out of retries): kept with the reason, revivable;
    /// what waits on it is held. `owner` nil: a person's decision, from any status but completed.
    func deadLetter(_ id: Int64, by owner: SyncOwner?, attempts: Int? = nil, error: String) throws {
        try park(id, status: .dead, hold: nil, error: error, attempts: attempts, owner: owner)
    }

    /// An update refused with 412 whose server version is someone else's: failed with the
    /// `conflict` flag, kept for a person to choose (`resolveConflict`); what waits on it is held.
    /// Returns whether the owner still held it.
    @discardableResult
    func markConflict(_ id: Int64, by owner: SyncOwner, attempts: Int, error: String) throws -> Bool {
        try park(id, status: .failed, hold: nil, error: error, attempts: attempts, owner: owner, conflict: true)
    }

    /// A person chose in a version conflict. Keeping the local version sends it again, based on
    /// the server's version now (pending at once, attempts reset); keeping the server's leaves
    /// the update nothing to do (completed). Either way what waited on it goes on.
    func resolveConflict(_ id: Int64, keepingLocal: Bool) throws {
        guard try connection.scalar("SELECT conflict FROM outbox WHERE id = ?", [.integer(id)]).int == 1 else {
            throw FieldError("id", "item \(id) has no version conflict to resolve")
        }
        if keepingLocal {
            try connection.execute(
                """
                UPDATE outbox SET status = 'pending', conflict = 0, attempts = 0, next_attempt_at = ?, escalated_at = NULL, \(Self.clearHold),
                                  updated_at = ?
                WHERE id = ?
                """, [.integer(nowMilliseconds), .text(stamp), .integer(id)])
        } else {
            _ = try complete(id, by: nil, attempts: try connection.scalar("SELECT attempts FROM outbox WHERE id = ?", [.integer(id)]).int ?? 0)
        }
        try releaseWaiting(on: id)
    }

    /// Waits on something other than time (a registration, consent). What waits on a held
    /// registration is held too; a consent hold holds only the item (its dependants cannot be
    /// ready before it anyway, and new consent releases it by its kind).
    func hold(_ id: Int64, by owner: SyncOwner?, reason: HoldReason, attempts: Int? = nil) throws {
        try park(id, status: .held, hold: reason, error: nil, attempts: attempts, owner: owner)
    }

    /// The server says something the item references is gone: that completed dependency
    /// goes back to pending, to be searched for (and created again if really gone), and
    /// everything not completed that waits on it waits again. Returns whether it reopened.
    @discardableResult
    func reopen(_ dependency: Int64) throws -> Bool {
        // Its own count is what it waits on now (a dependency of its own may have been reopened
        // before it), whatever order a re-check reopens a chain in.
        try connection.execute(
            """
            UPDATE outbox SET status = 'pending', \(Self.markUnknownOutcome), completed_at = NULL, next_attempt_at = ?, updated_at = ?,
                              unresolved_deps = (SELECT count(*) FROM outbox_deps d JOIN outbox dep ON dep.id = d.depends_on
                                                 WHERE d.item_id = outbox.id AND dep.status <> 'completed')
            WHERE id = ? AND status = 'completed'
            """, [.integer(nowMilliseconds), .text(stamp), .integer(dependency)])
        guard connection.changes > 0 else { return false }
        try connection.execute(
            """
            UPDATE outbox SET unresolved_deps = unresolved_deps + 1
            WHERE id IN (SELECT item_id FROM outbox_deps WHERE depends_on = ?) AND status <> 'completed'
            """, [.integer(dependency)])
        return true
    }

    /// The completed dependencies of an item, with their resource, for `reopen`.
    func completedDependencies(of id: Int64) throws -> [(item: Int64, resourceType: String?, serverID: String?)] {
        try connection.query(
            """
            SELECT o.id, r.server_id, r.resource_type FROM outbox_deps d JOIN outbox o ON o.id = d.depends_on
            LEFT JOIN resources r ON r.local_id = o.resource_id
            WHERE d.item_id = ? AND o.status = 'completed'
            """, [.integer(id)]
        ).compactMap { row in row["id"].int64.map { ($0, row.optionalString("resource_type"), row.optionalString("server_id")) } }
    }

    // MARK: A person's decisions, consent

    /// Makes `item` wait for `dependency` too (a part added to a visit by an amendment: the
    /// visit's closing update must not leave before it). Nothing for an item already sent.
    func addDependency(_ item: Int64, on dependency: Int64) throws {
        guard try connection.scalar("SELECT 1 FROM outbox WHERE id = ? AND status IN ('pending', 'held', 'failed')", [.integer(item)]).int == 1 else { return }
        try connection.execute("INSERT OR IGNORE INTO outbox_deps(item_id, depends_on) VALUES (?, ?)", [.integer(item), .integer(dependency)])
        guard connection.changes > 0 else { return }
        try connection.execute(
            "UPDATE outbox SET unresolved_deps = unresolved_deps + 1 WHERE id = ? AND (SELECT status FROM outbox WHERE id = ?) <> 'completed'",
            [.integer(item), .integer(dependency)])
    }

    /// Replaces what an item that has not left yet will send (an amended visit's Encounter
    /// create carries its `arrived` version as a snapshot). Refused for an item in flight or done.
    func replacePayload(_ id: Int64, with payload: JSON) throws {
        try connection.execute(
            "UPDATE outbox SET payload = ?, updated_at = ? WHERE id = ? AND status NOT IN ('processing', 'completed') AND withdrawn = 0",
            [.text(payload.text), .text(stamp), .integer(id)])
    }

    /// Withdraws an item that never reached the server (a cancelled visit, a part removed by an
    /// amendment): dead with the reason and the `withdrawn` flag, never revived. Only items no
    /// engine holds: a `processing` or `completed` item may be on the server, and is withdrawn
    /// there by an update instead. What waited on it no longer does.
    func withdraw(_ id: Int64, reason: String) throws {
        try connection.execute(
            """
            UPDATE outbox SET status = 'dead', withdrawn = 1, conflict = 0, last_error = ?, \(Self.clearHold), escalated_at = NULL, updated_at = ?
            WHERE id = ? AND status IN ('pending', 'failed', 'held', 'dead')
            """, [.text(LogMasking.mask("withdrawn: " + reason)), .text(stamp), .integer(id)])
        guard connection.changes > 0 else { return }
        try connection.execute(
            """
            UPDATE outbox SET unresolved_deps = unresolved_deps - 1
            WHERE id IN (SELECT item_id FROM outbox_deps WHERE depends_on = ?) AND status <> 'completed' AND withdrawn = 0
            """, [.integer(id)])
        try connection.execute("DELETE FROM outbox_deps WHERE depends_on = ? AND item_id IN (SELECT id FROM outbox WHERE withdrawn = 0)", [.integer(id)])
        try releaseWaiting(on: id)
    }


    /// Sends a failed, dead or held item again: pending now, attempts reset, escalation
    /// cleared; everything held behind it is released.
    func revive(_ id: Int64) throws {
        guard let status = try status(of: id) else { throw FieldError("id", "there is no outbox item \(id)") }
        guard [.failed, .dead, .held].contains(status) else {
            throw FieldError("id", "item \(id) is \(status.rawValue); only failed, dead or held items can be retried")
        }
        if try connection.scalar("SELECT conflict FROM outbox WHERE id = ?", [.integer(id)]).int == 1 {
            throw FieldError("id", "item \(id) is a version conflict: sending it again would be refused again; keep one version with `outbox resolve \(id) --keep local|server`")
        }
        if let number = try connection.scalar(
            "SELECT coalesce(e.number, '?') FROM outbox o LEFT JOIN encounters e ON e.local_id = o.encounter_id WHERE o.id = ? AND o.withdrawn = 1",
            [.integer(id)]).string
        {
            throw FieldError("id", "item \(id) belongs to encounter \(number), which was cancelled; it is not sent")
        }
        try connection.execute(
            """
            UPDATE outbox SET status = 'pending', attempts = 0, next_attempt_at = ?, escalated_at = NULL, \(Self.clearHold), updated_at = ?
            WHERE id = ?
            """, [.integer(nowMilliseconds), .text(stamp), .integer(id)])
        try releaseWaiting(on: id)
    }

    /// Releases what a patient's consent held, now that it allows more; returns how many.
    func releaseConsentHolds(patientID: String) throws -> Int {
        try connection.execute(Self.releaseConsentSQL, [.text(stamp), .text(patientID)])
        return connection.changes
    }

    /// A patient's items held for consent, back to pending (through `outbox_held_by_patient`).
    static let releaseConsentSQL =
        "UPDATE outbox SET status = 'pending', \(clearHold), updated_at = ? WHERE patient_id = ? AND status = 'held' AND hold_kind = 'consent'"

    /// Whether a create in `status` may have reached the server: done, in flight, or sent with
    /// its answer lost (`needsCheck`). One rule for every correction that must tell "send the
    /// new version" from "update what the server has".
    static func mayBeOnServer(createStatus status: ItemStatus?, needsCheck: Bool) -> Bool {
        status == .completed || status == .processing || needsCheck
    }

    /// An item's status, or nil when there is no such item.
    func status(of id: Int64) throws -> ItemStatus? {
        try connection.scalar("SELECT status FROM outbox WHERE id = ?", [.integer(id)]).string.flatMap(ItemStatus.init)
    }

    // MARK: Internals

    private static let clearHold = "hold_kind = NULL, hold_detail = NULL, hold_item = NULL"

    /// Claimed items change only while `owner` holds them; a person (`nil`) may act on any item
    /// that is not completed.
    private static func fence(_ owner: SyncOwner?) -> String {
        owner == nil ? "status <> 'completed'" : "status = 'processing' AND claimed_by = ?"
    }

    private static func fenceArguments(_ owner: SyncOwner?) -> [SQLValue] { owner.map { [.text($0.id)] } ?? [] }

    /// A due time in whole milliseconds, rounded up: an item stored as due must never come due
    /// before its time. Truncating made an item due a fraction of a millisecond before the
    /// circuit that refused it let it through — refused again at once, at the same instant, for
    /// ever (RequestPacingTests caught it once the engine stopped working in rounds).
    private static func milliseconds(_ date: Date) -> Int64 { Int64((date.timeIntervalSince1970 * 1000).rounded(.up)) }

    /// Parks an item (failed, dead or held) and holds everything that (transitively) waits on it.
    @discardableResult
    private func park(_ id: Int64, status: ItemStatus, hold: HoldReason?, error: String?, attempts: Int?, owner: SyncOwner?,
                      conflict: Bool = false, refused: Bool = false) throws -> Bool {
        try connection.execute(
            """
            UPDATE outbox SET status = ?, attempts = coalesce(?, attempts), last_error = coalesce(?, last_error), conflict = ?,
                              needs_check = CASE WHEN ? THEN 0 ELSE needs_check END,
                              hold_kind = ?, hold_detail = ?, hold_item = ?, \(Self.dropClaim), updated_at = ?
            WHERE id = ? AND \(Self.fence(owner))
            """,
            [.text(status.rawValue), SQLValue(attempts), SQLValue(error.map(LogMasking.mask)), .integer(conflict ? 1 : 0), .integer(refused ? 1 : 0),
             SQLValue(hold?.kind),
             SQLValue(hold?.detail), SQLValue(hold?.item), .text(stamp), .integer(id)] + Self.fenceArguments(owner))
        guard connection.changes > 0 else { return false }
        if case .consent = hold { return true }
        let reason = HoldReason.waitsOn(item: id, because: status)
        try connection.execute(
            """
            WITH RECURSIVE waiting(id) AS (
                SELECT item_id FROM outbox_deps WHERE depends_on = ?
                UNION SELECT d.item_id FROM outbox_deps d JOIN waiting w ON d.depends_on = w.id)
            UPDATE outbox SET status = 'held', hold_kind = ?, hold_detail = ?, hold_item = ?, updated_at = ?
            WHERE id IN (SELECT id FROM waiting) AND status IN ('pending', 'held')
            """,
            [.integer(id), SQLValue(reason.kind), SQLValue(reason.detail), SQLValue(reason.item), .text(stamp)])
        return true
    }

    /// What was held because it waits on `id` goes back to pending (it is ready once `id` completes).
    private func releaseWaiting(on id: Int64) throws {
        try connection.execute(
            "UPDATE outbox SET status = 'pending', \(Self.clearHold), updated_at = ? WHERE status = 'held' AND hold_kind = 'waits_on' AND hold_item = ?",
            [.text(stamp), .integer(id)])
    }

    /// After `max_retries` counted attempts an item is flagged once (it keeps retrying at the
    /// backoff cap: a transient failure never drops data). Returns whether it was flagged now.
    private func escalateIfPersistent(_ id: Int64) throws -> Bool {
        try connection.execute(
            "UPDATE outbox SET escalated_at = ? WHERE id = ? AND escalated_at IS NULL AND attempts >= max_retries",
            [.text(stamp), .integer(id)])
        return connection.changes > 0
    }
}
