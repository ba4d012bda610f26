import SehatSupport
import Foundation
import SehatSync

/// `sehat sync`: drain the outbox.
enum SyncCommand {
    static let sync = Command(
        words: ["sync"],
        summary: "Send what is ready to SATUSEHAT and the emergency service, in dependency order.",
        options: [
            OptionSpec(name: "until-idle", value: nil, help: "Also wait for items backing off to come due, until nothing is pending"),
            OptionSpec(name: "watch", value: nil, help: "Keep running, following connectivity, until SIGINT or SIGTERM (a field device's daemon)"),
            OptionSpec(name: "timeout", value: "S", help: "Stop after S seconds (default: no limit)"),
            OptionSpec(name: "concurrency", value: "N", help: "Independent requests in flight at once (default: the stored setting, 4)"),
            OptionSpec(name: "no-bundles", value: nil, help: "Send one request per resource instead of a bundle per encounter"),
            OptionSpec(name: "request-timeout", value: "S", help: "Seconds before a single request without an answer is given up (default: stored, 30)"),
            OptionSpec(name: "log-json", value: nil, help: "Write one JSON log line per request and run to stderr (NIKs masked)"),
            OptionSpec(name: "quiet", value: nil, help: "Print only the summary at the end (no progress lines on stderr)"),
            .json("the summary"),
        ],
        details: """
            Progress goes to stderr: on a terminal one line per lane, updated in place (done of total, rate, time
            left, the last error); on a pipe a plain line per step; --quiet prints only the summary.
            Exit status: 0 when nothing is left to send, 3 when work remains (offline, backing off, or held),
            4 when items failed, are dead or in a version conflict (see `sehat outbox --status failed`, `--status
            conflict`), 5 when the token endpoint
            refused the device's credentials (an alert is raised; `sehat status` shows it until a request succeeds).
            """
    ) { try run($0) }

    static func run(_ invocation: Invocation) throws -> Int32 {
        let client = try openClient(invocation)
        var settings = try client.syncSettings()
        settings.concurrency = try invocation.int("concurrency", default: settings.concurrency, range: 1...64) ?? settings.concurrency
        if invocation.has("no-bundles") { settings.bundles = false }
        if let seconds = try invocation.int("request-timeout", range: 1...600) { settings.requestTimeout = Double(seconds) }
        let timeout = try invocation.double("timeout", range: 0...604_800)
        let untilIdle = invocation.has("until-idle")
        let logger: any SyncLogger = invocation.has("log-json") ? JSONLineLogger(handle: .standardError) : SilentLogger()
        if invocation.has("watch") {
            let stop = Locked(false)
            let engine = try hostEngine(client, configuration: settings, sleeper: InterruptibleSleeper(stop: stop), logger: logger)
            return try watch(engine, client: client, stop: stop)
        }
        let engine = try hostEngine(client, configuration: settings, logger: logger)
        // Progress on stderr: one line per lane rewritten in place on a terminal, a plain line
        // per step on a pipe; none with --quiet or when stderr carries JSON log lines.
        let lines = invocation.has("quiet") || invocation.has("log-json") ? nil : ProgressLines(inPlace: isatty(STDERR_FILENO) == 1)
        let report = try waitFor { try await engine.sync(untilIdle: untilIdle, timeout: timeout, progress: lines?.show) }
        summarize(report, json: invocation.has("json"))
        return report.exitStatus
    }

    /// Runs the watch until SIGINT/SIGTERM; prints what happens.
    ///
    /// The signal sets `stop` rather than cancelling the task: on Linux, cancelling a task
    /// while URLSession completes one of its requests deadlocks (the cancellation handler and
    /// the completion each wait for the other's lock). The watch checks `stop` between steps
    /// and its sleeper wakes within a fifth of a second, so it ends after the current request.
    static func watch(_ engine: SyncEngine, client: SehatClient, stop: Locked<Bool>) throws -> Int32 {
        Output.line("watching: syncing whenever there is work and a link; Ctrl-C stops")
        var options = WatchOptions()
        options.stop = { stop.withLock { $0 } }
        options.pulls = RegistryPuller(client: client, transport: hostTransport(client))
        let task = Task {
            try await engine.watch(options) { event in
                switch event {
                case .synced(let report) where report.requests > 0 && !report.offline:
                    Output.line("synced: \(report.requests) requests, \(report.completed) items done; \(report.count(.pending)) pending, \(report.count(.failed)) failed")
                case .offline: Output.line("offline: the server cannot be reached; probing")
                case .online: Output.line("the link is back: draining")
                case .health(let checks): Output.line("health: " + checks.map { "\($0.endpoint.rawValue) \($0.status.rawValue)" }.joined(separator: ", "))
                case .pulled(let report):
                    Output.line("pulled \(report.source.rawValue): \(report.status.rawValue), \(report.inserted) new, \(report.updated) updated, \(report.rejected) rejected"
                        + (report.reason.map { " (\(RegistryCommands.stopSentence($0)))" } ?? ""))
                default: break
                }
            }
        }
        let stopper = Thread {
            let signal = waitForTerminationSignal()
            Output.note("stopping (signal \(signal))")
            stop.withLock { $0 = true }
        }
        stopper.start()
        try waitFor { try await task.value }
        Output.line("stopped")
        return 0
    }

    static func summarize(_ report: SyncReport, json: Bool) {
        if json {
            Output.json(.obj([
                "requests": .int(report.requests), "completed": .int(report.completed), "offline": .bool(report.offline),
                "seconds": .double((report.seconds * 1000).rounded() / 1000), "exit_status": .int(Int(report.exitStatus)),
                "auth_failure": report.authFailure.map(JSON.string) ?? .null,
                "not_the_receiver": report.notTheReceiver.map(JSON.string) ?? .null,
                "counts": .array(report.counts.map { .obj(["lane": .string($0.lane.rawValue), "status": .string($0.status.rawValue), "count": .int($0.count)]) }),
            ]))
            return
        }
        Output.line(String(format: "sync: %d requests, %d items done in %.2f s%@", report.requests, report.completed, report.seconds,
                           report.offline ? " — the server could not be reached (offline)" : ""))
        if let foreign = report.notTheReceiver { Output.line("not really online: \(foreign)") }
        if !report.counts.isEmpty {
            Output.table(["LANE", "STATUS", "COUNT"], report.counts.map { [$0.lane.rawValue, $0.status.rawValue, String($0.count)] })
        }
        switch report.exitStatus {
        case 5:
            Output.line("SATUSEHAT's token endpoint refused this device: \(report.authFailure ?? "")")
            Output.line("check the client id, the secret file and --auth-url (`sehat config`, `sehat init`); nothing is sent until a token is granted")
        case 4 where report.count(.conflict) > 0 && report.count(.failed) + report.count(.dead) == 0:
            Output.line("someone else changed \(report.count(.conflict)) resources on the server: `sehat outbox --status conflict`, then `sehat outbox resolve ID --keep local|server`")
        case 4: Output.line("some items were refused: `sehat outbox --status failed` shows them and why")
        case 3: Output.line("work remains: run `sehat sync` again (or `sehat sync --until-idle`)")
        default: Output.line("nothing left to send")
        }
    }
}

/// Sleeps in slices of a fifth of a second, returning early once `stop` is set.
struct InterruptibleSleeper: Sleeper {
    let stop: Locked<Bool>
    func sleep(seconds: TimeInterval) async {
        var remaining = seconds
        while remaining > 0 && !stop.withLock({ $0 }) {
            let slice = min(0.2, remaining)
            try? await Task.sleep(nanoseconds: UInt64(slice * 1e9))
            remaining -= slice
        }
    }
}
