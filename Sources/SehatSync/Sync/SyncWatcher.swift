import Foundation
import SehatSupport

/// How the long-running sync (`sehat sync --watch`) paces itself.
public struct WatchOptions: Sendable {
    /// Sync at least this often even when nothing seems to change (seconds).
    public var timer: TimeInterval = 30
    /// How often to look for new writes while waiting (seconds).
    public var pollInterval: TimeInterval = 1
    /// While offline, probe after 1 s, doubling to this cap (with jitter).
    public var probeCap: TimeInterval = 60
    /// After the link returns, wait a random 0…this many seconds first, so a fleet that
    /// reconnects together does not stampede.
    public var reconnectJitter: TimeInterval = 5
    /// Check every endpoint's health this often (seconds).
    public var healthInterval: TimeInterval = 300
    /// Checked between steps; the watch returns when it says so. Stop a watch this way, not
    /// by cancelling its task: on Linux, cancelling a task while URLSession completes one of
    /// its requests deadlocks (swift-corelibs-foundation), so give the engine a sleeper that
    /// wakes when `stop` turns true (as `sehat sync --watch` does).
    public var stop: @Sendable () -> Bool = { false }
    /// Scheduled registry pulls run beside the outbound work (`RegistryPuller.pullDue`), in a
    /// task of their own so a long pull never holds back a panic report; nil: none.
    public var pulls: RegistryPuller? = nil

    /// The defaults.
    public init() {}
}

/// What the watch reports as it goes.
public enum WatchEvent: Sendable {
    case synced(SyncReport)
    case offline
    case probing(after: TimeInterval)
    case online
    case health([HealthCheck])
    /// A scheduled registry pull finished (or stopped).
    case pulled(PullReport)
}

extension SyncEngine {
    /// Follows connectivity until stopped: syncs what is ready; when the server cannot be
    /// reached, pauses and probes with backoff, then drains at once (after a small random
    /// delay); otherwise waits for the next retry to come due, a new write (from this
    /// process or another), or the timer — so a retry never depends on a new write or a restart.
    public func watch(_ options: WatchOptions = WatchOptions(), events: @escaping @Sendable (WatchEvent) -> Void = { _ in }) async throws {
        let clock = client.clock
        var nextHealth = clock.now()
        // The pull task is never cancelled (cancelling a task inside URLSession can deadlock
        // on Linux): it stops between pages when `stop` says so, and the watch waits for it.
        var pulling: (task: Task<Void, Never>, done: Locked<Bool>)?
        while !options.stop() && !Task.isCancelled {
            if let running = pulling, running.done.withLock({ $0 }) { pulling = nil }
            if let puller = options.pulls, pulling == nil {
                let stop = options.stop
                let done = Locked(false)
                pulling = (Task {
                    for report in (try? await puller.pullDue(shouldStop: stop)) ?? [] { events(.pulled(report)) }
                    done.withLock { $0 = true }
                }, done)
            }
            if clock.now() >= nextHealth {
                events(.health(try await checkHealth()))
                nextHealth = clock.now().addingTimeInterval(options.healthInterval)
            }
            let report = try await sync()
            events(.synced(report))
            if report.offline {
                events(.offline)
                publishStatus()
                var delay: TimeInterval = 1
                while !options.stop() && !Task.isCancelled {
                    let wait = delay * Double.random(in: 0.5...1)
                    events(.probing(after: wait))
                    await sleeper.sleep(seconds: wait)
                    if await probe() { break }
                    delay = min(delay * 2, options.probeCap)
                }
                events(.online)
                publishStatus()
                await sleeper.sleep(seconds: Double.random(in: 0...options.reconnectJitter))
                continue
            }
            // Wait for whichever comes first: a retry due, a new write, the timer.
            let token = try client.changeToken()
            let due = try nextDue().map { max(0, $0.timeIntervalSince(clock.now())) } ?? options.timer
            var waited: TimeInterval = 0
            let limit = min(due, options.timer)
            while waited < limit && !options.stop() && !Task.isCancelled {
                let step = min(options.pollInterval, limit - waited)
                await sleeper.sleep(seconds: step)
                waited += step
                if try client.changeToken() != token { break }
            }
        }
        await pulling?.task.value
    }

    func probe() async -> Bool {
        guard let settings = try? client.configuration() else { return false }
        let call = HTTPCall(method: "GET", url: settings.baseURL + "/metadata", timeout: configuration.criticalTimeout)
        do {
            let answer = try await transport.send(call)
            return ReceiverCheck.foreignAnswer(to: call, answer) == nil
        } catch {
            return false
        }
    }
}
