import Foundation
import SehatSupport
import SehatFHIR
import SehatJSON
import SehatStore

/// Drains the outbox to SATUSEHAT (and the emergency service) in an order the server
/// accepts, in a straight line of stages per unit — fetch (claim) → build → upload → read →
/// consolidate — with several independent units in flight at once (a slot that frees takes the
/// next unit at once: no rounds), and a worker per lane.
///
///     let engine = try SyncEngine(client: client)
///     let report = try await engine.sync()
///     print(report.completed, report.count(.pending))
///
/// Several engines, in this process or others, may drain one database: each claims items
/// for itself with a lease, and only the items of an engine that is gone are taken back.
public actor SyncEngine {
    let client: SehatClient
    let configuration: SyncConfiguration
    let sleeper: any Sleeper
    private let fetcher: WorkFetcher
    private let pipeline: UnitPipeline
    private let tokens: TokenManager
    private let guards: [Endpoint: EndpointGuard]
    /// Whose claims this engine's are.
    private let owner: SyncOwner
    let transport: any HTTPTransport
    let logger: any SyncLogger
    private var subscribers: [UUID: AsyncStream<SyncStatus>.Continuation] = [:]
    /// Progress per resource type as last counted for the status stream, and when.
    private var streamedProgress: (at: Date, progress: [ResourceProgress])?
    /// How often the stream counts progress per type again (it reads through indexes, but a
    /// million queued items still take a fraction of a second).
    static let progressInterval: TimeInterval = 1

    /// Reads the device's configuration and stored sync settings (`configuration` overrides
    /// them); the secret is read from its file when a token is needed. The default transport
    /// is URLSession; a tester's host passes `SimulatedLink` around it to steer the link.
    public init(client: SehatClient, transport: (any HTTPTransport)? = nil, configuration: SyncConfiguration? = nil,
                sleeper: any Sleeper = SystemSleeper(), logger: any SyncLogger = SilentLogger()) throws {
        guard let settings = try client.configuration() else { throw NotConfiguredError() }
        let configuration = try configuration ?? client.syncSettings()
        try configuration.validate()
        let transport = transport ?? URLSessionTransport()
        let owner = SyncOwner.current()
        owner.setRunning(true)
        self.owner = owner
        self.client = client
        self.transport = transport
        self.logger = logger
        self.configuration = configuration
        self.sleeper = sleeper
        tokens = TokenManager(authURL: settings.authURL, clientID: settings.clientID, secret: { try settings.readClientSecret() },
                              transport: transport, clock: client.clock, timeout: configuration.requestTimeout)
        var targets: Set<Target> = [.satusehat]
        if settings.emergencyURL != nil { targets.insert(.emergency) }
        var fetcher = WorkFetcher(database: client.database, configuration: configuration, targets: targets, owner: owner)
        let renewal = LeaseRenewal(interval: fetcher.leaseSeconds / 10)
        fetcher.renewal = renewal
        self.fetcher = fetcher
        var guards: [Endpoint: EndpointGuard] = [:]
        for target in targets {
            for lane in Lane.allCases {
                guards[Endpoint(target: target, lane: lane)] = EndpointGuard(
                    name: (target == .satusehat ? settings.baseURL : settings.emergencyURL ?? "emergency") + " (\(lane.rawValue) lane)",
                    configuration: configuration, clock: client.clock, sleeper: sleeper, breakerEnabled: target != .emergency)
            }
        }
        self.guards = guards
        pipeline = UnitPipeline(
            builder: RequestBuilder(baseURL: settings.baseURL, emergencyURL: settings.emergencyURL,
                                    timeouts: (configuration.criticalTimeout, configuration.requestTimeout, configuration.longTimeout)),
            uploader: Uploader(transport: transport, tokens: tokens, guards: guards),
            reader: AnswerReader(backoff: Backoff(initial: configuration.initialBackoff, cap: configuration.maxBackoff)),
            consolidator: ResultConsolidator(database: client.database, owner: owner, leaseSeconds: fetcher.leaseSeconds, renewal: renewal,
                                             logger: logger),
            clock: client.clock)
    }

    deinit {
        owner.setRunning(false)
    }

    /// Sends everything that is ready now, and what becomes ready as a result. With
    /// `untilIdle`, also waits for items backing off to come due, until nothing is pending
    /// or `timeout` seconds have passed. Stops early when the server cannot be reached.
    public func sync(untilIdle: Bool = false, timeout: TimeInterval? = nil, progress: (@Sendable (SyncReport) -> Void)? = nil) async throws -> SyncReport {
        let clock = client.clock
        let started = clock.now()
        let startedMonotonic = DispatchTime.now().uptimeNanoseconds
        let deadline = timeout.map { started.addingTimeInterval($0) }
        let traceID = UUID().uuidString.lowercased()
        // Items a gone engine left in flight come back first (never a running one's).
        try client.database.write { try OutboxLifecycle(connection: $0, now: clock.now()).recover() }
        defer { try? client.database.write { try OutboxLifecycle(connection: $0, now: clock.now()).retire(owner) } }
        // Two workers: the emergency lane with its own slots, so a slow clinic request never
        // delays a panic report, and the clinic lane.
        let clinic = configuration.concurrency
        let emergency = configuration.emergencyConcurrency
        // The clinic lane starts once the emergency lane's first round is out.
        let gate = LaneGate()
        async let emergencyLane = drain(.emergency, concurrency: emergency, untilIdle: untilIdle, deadline: deadline, traceID: traceID,
                                        progress: progress, firstRound: gate)
        async let clinicLane = drain(.clinic, concurrency: clinic, untilIdle: untilIdle, deadline: deadline, traceID: traceID,
                                     progress: progress, after: gate)
        let (a, b) = try await (emergencyLane, clinicLane)
        var report = SyncReport()
        report.requests = a.requests + b.requests
        report.completed = a.completed + b.completed
        report.offline = a.offline || b.offline
        report.authFailure = a.authFailure ?? b.authFailure
        report.notTheReceiver = a.notTheReceiver ?? b.notTheReceiver
        if let foreign = report.notTheReceiver {
            // Kept as the FHIR endpoint's health, so `status` and the status stream say so.
            try HealthMonitor(client: client, transport: transport, timeout: configuration.criticalTimeout)
                .record(HealthCheck(endpoint: .satusehatFHIR, url: "", status: .unhealthy, milliseconds: nil, httpStatus: nil, error: foreign,
                                    checkedAt: FHIRDateTime.format(clock.now())))
        }
        if let refusal = report.authFailure {
            try client.database.write { try ErrorLog(connection: $0, now: clock.now()).alertAuthFailure(refusal) }
        }
        report.counts = try client.outboxCounts()
        report.seconds = Double(DispatchTime.now().uptimeNanoseconds - startedMonotonic) / 1e9
        logger.log(LogEntry(
            timestamp: clock.now(), level: report.offline ? .warning : .info, event: report.offline ? "sync.offline" : "sync.run", traceID: traceID,
            durationMilliseconds: Int(report.seconds * 1000),
            fields: ["requests": String(report.requests), "completed": String(report.completed), "pending": String(report.count(.pending)),
                     "held": String(report.count(.held)), "failed": String(report.count(.failed)), "dead": String(report.count(.dead))]))
        publishStatus(fresh: true)  // the end of a sync: progress counted anew
        return report
    }

    /// Probes every endpoint now and keeps the results (`sehat health`).
    public func checkHealth() async throws -> [HealthCheck] {
        try await HealthMonitor(client: client, transport: transport, timeout: configuration.criticalTimeout).checkAll()
    }

    /// Each endpoint's circuit state.
    ///
    ///     let states = await engine.circuitStates()
    ///     if case .open(let until) = states[Endpoint(target: .satusehat, lane: .clinic)] { … }
    public func circuitStates() async -> [Endpoint: CircuitState] {
        var states: [Endpoint: CircuitState] = [:]
        for (key, guarded) in guards { states[key] = await guarded.state }
        return states
    }

    /// One lane's worker: up to `concurrency` units in flight, and no rounds — the moment one
    /// finishes, its slot takes the next ready unit (including what it just made ready), so one
    /// slow request never holds back the others. The emergency lane's first batch (the
    /// notifications) opens the gate the clinic lane waits at.
    private func drain(_ lane: Lane, concurrency: Int, untilIdle: Bool, deadline: Date?, traceID: String,
                       progress: (@Sendable (SyncReport) -> Void)?, firstRound: LaneGate? = nil, after: LaneGate? = nil) async throws -> SyncReport {
        let clock = client.clock
        if let after { await after.wait() }
        defer { if let firstRound { Task { await firstRound.open() } } }
        let pipeline = self.pipeline
        return try await withThrowingTaskGroup(of: UnitPipeline.Outcome.self) { group in
            var report = SyncReport()
            var inFlight = 0
            /// Units of the first fetch still in flight (nil before it): the gate opens at 0.
            var firstBatch: Int?
            var stopping = false
            while true {
                // Fill the free slots, unless the link is down or time is up.
                if !stopping, inFlight < concurrency, deadline.map({ clock.now() < $0 }) ?? true {
                    let units = try fetcher.claim(units: concurrency - inFlight, lane: lane, now: clock.now())
                    let fetcher = self.fetcher
                    for claimed in units {
                        group.addTask {
                            // Each unit reads its own items, so the loop goes on claiming meanwhile.
                            let unit: WorkUnit?
                            do {
                                unit = try fetcher.load(claimed)
                            } catch {
                                // Unread: back to pending (searched before they go again), and the sync
                                // stops with the error, as it did when reading was part of claiming.
                                pipeline.release(claimed.ids)
                                throw error
                            }
                            guard let unit else { return UnitPipeline.Outcome() }
                            let outcome = await pipeline.process(unit, traceID: traceID)
                            // A big packed unit leaves megabytes freed in this thread's arena: give them back.
                            if claimed.ids.count >= SyncEngine.releaseMemoryAfter { FreedMemory.release() }
                            return outcome
                        }
                    }
                    inFlight += units.count
                    if firstBatch == nil { firstBatch = units.count }
                }
                if firstBatch == 0, let firstRound { await firstRound.open() }
                guard inFlight > 0 else {
                    // Nothing in flight and nothing ready: done, or wait for what backs off to come due.
                    guard !stopping, untilIdle, deadline.map({ clock.now() < $0 }) ?? true, let due = try nextDue(lane: lane) else { break }
                    if let deadline, due > deadline { break }
                    // Something is due but nothing could be taken (it waits on another engine's
                    // request in flight): look again shortly rather than at once.
                    await sleeper.sleep(seconds: max(due.timeIntervalSince(clock.now()), SyncEngine.recheckInterval))
                    continue
                }
                guard let outcome = try await group.next() else { break }
                inFlight -= 1
                report.requests += outcome.requests
                report.completed += outcome.completed
                report.offline = report.offline || outcome.offline
                report.authFailure = report.authFailure ?? outcome.authRefusal
                report.notTheReceiver = report.notTheReceiver ?? outcome.notTheReceiver
                if let batch = firstBatch, batch > 0 { firstBatch = batch - 1 }  // the gate opens when it reaches 0
                publishStatus()
                if let progress {
                    var snapshot = report
                    snapshot.counts = try client.outboxCounts()
                    snapshot.lane = lane
                    snapshot.lastError = try client.newestOpenError()
                    progress(snapshot)
                }
                // Offline or refused credentials: nothing new starts; what is in flight finishes.
                if report.offline || report.authFailure != nil { stopping = true }
            }
            return report
        }
    }

    /// Items in a unit from which its memory is given back to the system when it is done.
    static let releaseMemoryAfter = 100

    /// How soon an idle worker looks again when something is due but could not be taken.
    static let recheckInterval: TimeInterval = 0.2

    /// The device's sync status as it changes — after every round of requests, at the end of
    /// each sync, and when the watch goes offline or online — for an app to display.
    ///
    ///     for await status in await engine.statusUpdates() { show(status.count(.pending), status.online) }
    public func statusUpdates() -> AsyncStream<SyncStatus> {
        let id = UUID()
        let (stream, continuation) = AsyncStream<SyncStatus>.makeStream(bufferingPolicy: .bufferingNewest(16))
        subscribers[id] = continuation
        continuation.onTermination = { _ in Task { await self.unsubscribe(id) } }
        if let status = try? client.status() { continuation.yield(status) }
        return stream
    }

    private func unsubscribe(_ id: UUID) { subscribers[id] = nil }

    func publishStatus(fresh: Bool = false) {
        guard !subscribers.isEmpty, var status = try? client.status() else { return }
        let now = client.clock.now()
        if !fresh, let last = streamedProgress, now.timeIntervalSince(last.at) < Self.progressInterval {
            status.progress = last.progress
        } else if let progress = try? client.progress() {
            streamedProgress = (now, progress)
            status.progress = progress
        }
        for continuation in subscribers.values { continuation.yield(status) }
    }

    /// How many tokens have been fetched so far.
    public func tokenFetches() async -> Int { await tokens.fetches }

    /// When the next pending, unblocked item comes due (nil when there is none).
    /// Only items this engine can send count: an emergency item with no emergency service
    /// configured is never due here, or an idle worker would wait for it for ever.
    func nextDue(lane: Lane? = nil) throws -> Date? {
        let targets = JSON.array(fetcher.targets.map { JSON.string($0.rawValue) }).text
        return try client.database.read { conn in
            try conn.scalar(
                """
                SELECT min(next_attempt_at) FROM outbox WHERE status = 'pending' AND unresolved_deps = 0 AND (? IS NULL OR lane = ?)
                  AND target IN (SELECT value FROM json_each(?))
                """,
                [SQLValue(lane?.rawValue), SQLValue(lane?.rawValue), .text(targets)]).int64
                .map { Date(timeIntervalSince1970: Double($0) / 1000) }
        }
    }
}
