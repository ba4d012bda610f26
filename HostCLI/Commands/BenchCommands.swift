import Foundation
import SehatBench
import SehatSync

/// `sehat bench …`: measured beside a baseline from the same run.
enum BenchCommands {
    static let write = Command(
        words: ["bench", "write"],
        summary: "Time recording N encounters (10 resources each), one by one and 50 to a transaction, beside plain prepared statements writing the same rows.",
        options: [
            OptionSpec(name: "encounters", value: "N", help: "How many encounters (default 1000)"),
            .benchDirectory("the two benchmark databases"),
            .json("the figures"),
        ],
        details: "Both sides run with WAL and synchronous=FULL: every record is fsynced. Target: SDK within 2x of the baseline."
    ) { invocation in
        let count = try invocation.int("encounters", default: 1000, range: 1...1_000_000) ?? 1000
        let directory = try benchDirectory(invocation)
        let result = try WriteBenchmark.run(encounters: count, directory: directory, progress: Output.note)
        if invocation.has("json") {
            Output.json(.obj([
                "encounters": .int(result.encounters), "resources_per_encounter": .int(result.resourcesPerEncounter),
                "sdk": stats(result.sdk), "baseline": stats(result.baseline), "ratio": .double((result.ratio * 100).rounded() / 100),
                "batch": .obj(["visits_per_transaction": .int(result.batchSize), "sdk": stats(result.batchSDK), "baseline": stats(result.batchBaseline),
                               "ratio": .double((result.batchRatio * 100).rounded() / 100)]),
            ]))
        } else {
            Output.line("bench write: \(result.encounters) encounters × \(result.resourcesPerEncounter) resources (\(String(format: "%.0f", result.rowsPerEncounter)) rows each), WAL + synchronous=FULL")
            Output.table(["", "records/s", "p50 ms", "p99 ms", "total s"], [
                row("SehatSync recordEncounter", result.sdk), row("baseline: prepared statements", result.baseline),
            ])
            Output.line(String(format: "ratio (SDK time / baseline time): %.2f×  (target ≤ 2×)", result.ratio))
            Output.line("batch recording: \(result.batchSize) visits per transaction (recordEncounters, for an import or a migration)")
            let visits = Double(result.batchSize)
            Output.table(["", "visits/s", "p50 ms per batch", "p99 ms per batch", "total s"], [
                row("SehatSync recordEncounters", result.batchSDK, per: visits),
                row("baseline: prepared statements", result.batchBaseline, per: visits),
            ])
            Output.line(String(format: "ratio (SDK time / baseline time): %.2f×  (target ≤ 2×)", result.batchRatio))
        }
        return 0
    }

    static let ready = Command(
        words: ["bench", "ready"],
        summary: "Time picking the next ready batch from an outbox of N items, beside a full-table scan.",
        options: [
            OptionSpec(name: "items", value: "N", help: "Outbox size (default 1000000)"),
            OptionSpec(name: "batch", value: "N", help: "Batch size picked (default 50)"),
            .benchDirectory(),
            .json("the figures"),
        ],
        details: "Target: under 1 ms per pick with a million items queued."
    ) { invocation in
        let items = try invocation.int("items", default: 1_000_000, range: 10...50_000_000) ?? 1_000_000
        let batch = try invocation.int("batch", default: 50, range: 1...10_000) ?? 50
        let directory = try benchDirectory(invocation)
        let result = try ReadinessBenchmark.run(items: items, batch: batch, directory: directory, progress: Output.note)
        if invocation.has("json") {
            Output.json(.obj(["items": .int(result.items), "batch": .int(result.batch), "indexed": stats(result.indexed),
                              "scan": stats(result.scan), "plan": .string(result.plan)]))
        } else {
            Output.line("bench ready: pick \(result.batch) ready items from \(result.items) queued")
            Output.line("plan: \(result.plan)")
            Output.table(["", "picks/s", "p50 ms", "p99 ms"], [
                [ "ready query (index outbox_ready)", String(format: "%.0f", result.indexed.perSecond), ms(result.indexed.p50Milliseconds), ms(result.indexed.p99Milliseconds)],
                [ "baseline: same query, NOT INDEXED", String(format: "%.1f", result.scan.perSecond), ms(result.scan.p50Milliseconds), ms(result.scan.p99Milliseconds)],
            ])
        }
        return 0
    }

    static let sync = Command(
        words: ["bench", "sync"],
        summary: "Time draining N encounters (and a real-world bundle's shape) to an in-process sandbox, beside the naive way and the round-trip bound.",
        options: [
            OptionSpec(name: "encounters", value: "N", help: "How many encounters (default 200)"),
            OptionSpec(name: "latency-ms", value: "L", help: "Latency the sandbox adds to every FHIR answer (default 0)"),
            OptionSpec(name: "concurrency", value: "N", help: "The SDK's requests in flight (default 8)"),
            OptionSpec(name: "no-naive", value: nil, help: "Skip the naive side (one request per resource, each awaited)"),
            OptionSpec(name: "no-defaults", value: nil, help: "Skip the side with the default settings (60 a minute, bursts of 10, in real time)"),
            OptionSpec(name: "shape-from", value: "FILE", help: "Also drain this real-world bundle (e.g. the Synthea fixture) and bundles of its shape"),
            OptionSpec(name: "bundles", value: "N", help: "How many bundles of that shape (default 10; the first is the bundle itself)"),
            OptionSpec(name: "seed", value: "FILE", help: "Resources its conditional references name, seeded on the server (default: FILE's .seed.json beside it)"),
            .benchDirectory("the benchmark databases"),
            .json("the figures"),
        ],
        details: "Targets at 20 ms: ≥ 20× faster than naive with the default settings, ≥ 50× with no limit; at 0 ms, ≥ 5,000 resources/s."
    ) { invocation in
        let latency = try invocation.int("latency-ms", default: 0, range: 0...10_000) ?? 0
        let concurrency = try invocation.int("concurrency", default: 8, range: 1...64) ?? 8
        let directory = try benchDirectory(invocation)
        func run(_ workload: SyncBenchmark.Workload) throws -> SyncBenchmark.Result {
            try SyncBenchmark.run(workload, latencyMilliseconds: latency, concurrency: concurrency, includeNaive: !invocation.has("no-naive"),
                                  includeDefaults: !invocation.has("no-defaults"), directory: directory, progress: Output.note)
        }
        var results = [("visits", "the clinic's visits", try run(.visits(try invocation.int("encounters", default: 200, range: 1...100_000) ?? 200)))]
        if let file = invocation.value("shape-from") {
            let shape = try SyntheaShape(file: file)
            let seedFile = invocation.value("seed") ?? (file.hasSuffix(".json") ? String(file.dropLast(5)) + ".seed.json" : file + ".seed.json")
            let seed = FileManager.default.fileExists(atPath: seedFile)
                ? try JSON.parse(bytes: Array(try Data(contentsOf: URL(fileURLWithPath: seedFile)))).arrayValue ?? [] : []
            let copies = try invocation.int("bundles", default: 10, range: 1...10_000) ?? 10
            results.append(("real_world", "the real-world bundle itself", try run(.bundles(shape, copies: 1, seed: seed))))
            results.append(("generated", "\(copies) bundles of its shape", try run(.bundles(shape, copies: copies, seed: seed))))
        }
        func side(_ side: SyncBenchmark.Side) -> JSON {
            .obj(["requests": .int(side.requests), "seconds": .double((side.seconds * 1000).rounded() / 1000), "resources": .int(side.resources),
                  "resources_per_second": .double(side.perSecond.rounded())])
        }
        if invocation.has("json") {
            var members: [JSON.Member] = [JSON.Member("latency_ms", .int(latency)), JSON.Member("concurrency", .int(concurrency))]
            for (key, _, result) in results {
                members.append(JSON.Member(key, .obj([
                    "units": .int(result.encounters),
                    "sdk": side(result.sdk), "defaults": result.defaults.map(side) ?? .null, "naive": result.naive.map(side) ?? .null,
                    "defaults_speedup_over_naive": result.naive.flatMap { naive in result.defaults.map { .double((naive.seconds / $0.seconds * 10).rounded() / 10) } } ?? .null,
                    "bound_seconds": .double((result.boundSeconds * 1000).rounded() / 1000),
                    "speedup_over_naive": result.naive.map { .double(($0.seconds / result.sdk.seconds * 10).rounded() / 10) } ?? .null,
                    "ratio_to_bound": result.boundSeconds > 0 ? .double((result.sdk.seconds / result.boundSeconds * 100).rounded() / 100) : .null,
                ])))
            }
            Output.json(.object(members))
            return 0
        }
        Output.line("bench sync: \(latency) ms latency, concurrency \(concurrency)")
        for (_, title, result) in results {
            Output.line("")
            Output.line("\(title): \(result.sdk.resources) resources")
            var rows = [["SehatSync, no rate limit (\(concurrency) in flight)", String(result.sdk.requests), String(format: "%.2f", result.sdk.seconds),
                         String(format: "%.0f", result.sdk.perSecond)]]
            if let defaults = result.defaults {
                rows.append(["SehatSync, default settings (60/min, burst 10)", String(defaults.requests), String(format: "%.2f", defaults.seconds),
                             String(format: "%.0f", defaults.perSecond)])
            }
            if let naive = result.naive {
                rows.append(["naive: one request per resource, awaited", String(naive.requests), String(format: "%.2f", naive.seconds),
                             String(format: "%.0f", naive.perSecond)])
            }
            rows.append(["bound: round trips (levels \(result.levels.map(String.init).joined(separator: " + ")))", "", String(format: "%.2f", result.boundSeconds), ""])
            Output.table(["", "requests", "seconds", "resources/s"], rows)
            if let naive = result.naive { Output.line(String(format: "speed-up over naive: %.1f× with no limit", naive.seconds / result.sdk.seconds)) }
            if let naive = result.naive, let defaults = result.defaults {
                Output.line(String(format: "speed-up over naive: %.1f× with the default settings", naive.seconds / defaults.seconds))
            }
            if result.boundSeconds > 0 { Output.line(String(format: "SDK time / bound: %.2f×", result.sdk.seconds / result.boundSeconds)) }
        }
        return 0
    }

    static let scale = Command(
        words: ["bench", "scale"],
        summary: "Time opening, status, the outbox's first page, metrics, the next ready batch and the report with N items queued.",
        options: [
            OptionSpec(name: "items", value: "N", help: "Items queued (default 1000000)"),
            OptionSpec(name: "repetitions", value: "N", help: "Runs of each measurement (default 20)"),
            .benchDirectory(),
            .json("the figures"),
        ],
        details: "Baseline: counting the outbox by lane and status row by row (what the screens did before the counts were\n"
            + "maintained). Targets with 1,000,000 items: each screen and opening under 50 ms, the next ready batch under 1 ms,\n"
            + "the report under 2 s."
    ) { invocation in
        let result = try ScaleBenchmark.run(
            items: try invocation.int("items", default: 1_000_000, range: 1...10_000_000) ?? 1_000_000,
            repetitions: try invocation.int("repetitions", default: 20, range: 1...10_000) ?? 20,
            directory: try benchDirectory(invocation), progress: Output.note)
        let measured: [(String, String, LatencyStats)] = [
            ("open", "open the database, recover what a gone engine left", result.open), ("status", "sehat status", result.status),
            ("outbox_first_page", "sehat outbox (first 200 items)", result.firstPage), ("metrics", "sehat metrics", result.metrics),
            ("ready_batch", "next ready batch (50 items)", result.readyBatch),
            ("report", "sehat report (the page's numbers)", result.report),
            ("baseline_counted", "baseline: count the outbox row by row", result.counted),
        ]
        if invocation.has("json") {
            var members: [JSON.Member] = [JSON.Member("items", .int(result.items)),
                                          JSON.Member("bytes_per_item", .double((result.bytesPerItem * 10).rounded() / 10))]
            for (key, _, figures) in measured { members.append(JSON.Member(key, stats(figures))) }
            Output.json(.object(members))
            return 0
        }
        Output.line("bench scale: \(result.items) items queued, \(String(format: "%.0f", result.bytesPerItem)) bytes of database per item")
        Output.table(["", "p50 ms", "p99 ms"], measured.map { [$0.1, ms($0.2.p50Milliseconds), ms($0.2.p99Milliseconds)] })
        return 0
    }

    static let drain = Command(
        words: ["bench", "drain"],
        summary: "Record visits until N items are queued, then drain them all to the in-process sandbox in a fresh process, timing each tenth.",
        options: [
            OptionSpec(name: "items", value: "N", help: "Items to queue and drain (default 1000000)"),
            OptionSpec(name: "drain-only", value: nil, help: "Only drain the database an earlier fill left in --dir (what the fill runs in a fresh process)"),
            .benchDirectory("the device's database and the sandbox's scratch file"),
            .json("the figures"),
        ],
        details: "The drain runs in a fresh sehat process, as a clinic's sync would after a migration, so its memory is its own.\n"
            + "The sandbox keeps what it is sent in a scratch file; the peak memory reported is the process's, sandbox included.\n"
            + "Settings: the defaults with no request budget. Targets: the last tenth's cost per item no more than 1.25x the\n"
            + "first tenth's, and peak memory under 100 MB."
    ) { invocation in
        let directory = try benchDirectory(invocation)
        let mb = { (bytes: Int) in (Double(bytes) / 1_048_576 * 10).rounded() / 10 }
        func figures(_ drained: DrainBenchmark.Drained) -> [JSON.Member] {
            [JSON.Member("items", .int(drained.items)), JSON.Member("seconds", .double((drained.seconds * 100).rounded() / 100)),
             JSON.Member("requests", .int(drained.requests)), JSON.Member("items_per_second", .double(drained.perSecond.rounded())),
             JSON.Member("tenths_s", .array(drained.tenths.map { .double(($0 * 1000).rounded() / 1000) })),
             JSON.Member("last_to_first", .double((drained.lastToFirst * 100).rounded() / 100)),
             JSON.Member("resident_at_start_mb", .double(mb(drained.residentAtStart))), JSON.Member("peak_mb", .double(mb(drained.peakResident)))]
        }
        if invocation.has("drain-only") {
            let drained = try DrainBenchmark.drain(directory: directory, progress: { Output.note($0) })
            Output.json(.object(figures(drained)))
            return 0
        }
        let filled = try DrainBenchmark.fill(items: try invocation.int("items", default: 1_000_000, range: 1...10_000_000) ?? 1_000_000,
                                             directory: directory, progress: Output.note)
        Output.note(String(format: "%d items queued (%d visits) in %.0f s; draining in a fresh process", filled.items, filled.visits, filled.seconds))
        let child = Process()
        child.executableURL = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        child.arguments = ["bench", "drain", "--drain-only", "--dir", directory]
        let output = Pipe()
        child.standardOutput = output
        try child.run()
        let text = output.fileHandleForReading.readDataToEndOfFile()
        child.waitUntilExit()
        guard child.terminationStatus == 0, let drained = try? JSON.parse(bytes: Array(text)) else {
            throw SyncBenchmark.BenchError(message: "the draining process failed (exit \(child.terminationStatus))")
        }
        if invocation.has("json") {
            Output.json(.object([JSON.Member("visits", .int(filled.visits)), JSON.Member("fill_s", .double((filled.seconds * 10).rounded() / 10)),
                                 JSON.Member("bytes_per_item", .double((filled.bytesPerItem * 10).rounded() / 10))] + (drained.members ?? [])))
            return 0
        }
        let items = drained["items"]?.intValue ?? 0
        Output.line(String(format: "bench drain: %d items (%d visits) drained in %.1f s, %d requests, %.0f items/s", items, filled.visits,
                           drained["seconds"]?.doubleValue ?? 0, drained["requests"]?.intValue ?? 0, drained["items_per_second"]?.doubleValue ?? 0))
        Output.table(["tenth", "s", "ms per 1000 items"], (drained["tenths_s"]?.arrayValue ?? []).enumerated().map { index, value in
            let seconds = value.doubleValue ?? 0
            return ["\(index + 1)", String(format: "%.2f", seconds), String(format: "%.1f", seconds / Double(max(1, items / 10)) * 1_000_000)]
        })
        Output.line(String(format: "last tenth ÷ first tenth: %.2f×  (target ≤ 1.25×)", drained["last_to_first"]?.doubleValue ?? 0))
        Output.line(String(format: "memory of the draining process: %.0f MB resident at the start, %.0f MB at the peak (target < 100 MB)",
                           drained["resident_at_start_mb"]?.doubleValue ?? 0, drained["peak_mb"]?.doubleValue ?? 0))
        Output.line(String(format: "database: %.0f bytes per queued item", filled.bytesPerItem))
        return 0
    }

    static let importBundle = Command(
        words: ["bench", "import"],
        summary: "Import an N-entry bundle of a real-world bundle's shape from a file; peak memory beside parsing the file whole.",
        options: [
            OptionSpec(name: "entries", value: "N", help: "Entries in the bundle (default 50000)"),
            OptionSpec(name: "shape-from", value: "FILE", help: "The real-world bundle whose entries are copied (e.g. the Synthea fixture)", required: true),
            .benchDirectory("the bundle file and the database"),
            .json("the figures"),
        ],
        details: "Copies get fresh urn:uuid fullUrls with their references rewritten; conditional references stay, so they are\n"
            + "looked up once. The import runs first; the baseline (the file read and parsed whole, as the whole-text import\n"
            + "must before it can start) after it, each with the peak reset. Target: memory bounded by the entries in flight."
    ) { invocation in
        let result = try ImportBenchmark.run(
            entries: try invocation.int("entries", default: 50_000, range: 1...InputLimits.bundleEntries) ?? 50_000,
            shapeFrom: try invocation.required("shape-from"), directory: try benchDirectory(invocation), progress: Output.note)
        let mb = { (bytes: Int) in (Double(bytes) / 1_048_576 * 10).rounded() / 10 }
        if invocation.has("json") {
            Output.json(.obj([
                "entries": .int(result.entries), "file_mb": .double(mb(result.fileBytes)), "outbox_items": .int(result.outboxItems),
                "import_s": .double((result.importSeconds * 100).rounded() / 100), "resident_before_mb": .double(mb(result.residentBefore)),
                "import_peak_mb": .double(mb(result.importPeak)),
                "baseline_s": .double((result.baselineSeconds * 100).rounded() / 100), "baseline_peak_mb": .double(mb(result.baselinePeak)),
            ]))
            return 0
        }
        Output.line(String(format: "bench import: %d entries, a %.0f MiB file, %d items queued", result.entries, mb(result.fileBytes), result.outboxItems))
        Output.table(["", "s", "peak MB"], [
            ["sehat import FILE (entry by entry)", String(format: "%.1f", result.importSeconds), String(format: "%.0f", mb(result.importPeak))],
            ["baseline: read and parse the file whole", String(format: "%.1f", result.baselineSeconds), String(format: "%.0f", mb(result.baselinePeak))],
        ])
        Output.line(String(format: "resident before the import: %.0f MB", mb(result.residentBefore)))
        return 0
    }

    static let pull = Command(
        words: ["bench", "pull"],
        summary: "Time a full KKI pull of N practitioners from the in-process sandbox, beside one-statement-per-row upserts.",
        options: [
            OptionSpec(name: "rows", value: "N", help: "Practitioners in the registry (default 100000)"),
            OptionSpec(name: "page-size", value: "N", help: "Rows per page (default 500, the puller's default)"),
            OptionSpec(name: "baseline-rows", value: "N", help: "Rows the baseline upserts (default 10000; it commits each row alone)"),
            .benchDirectory("the benchmark databases"),
            .json("the figures"),
        ],
        details: "Target: ≥ 20,000 rows/s from loopback with memory under 64 MB."
    ) { invocation in
        let result = try PullBenchmark.run(
            rows: try invocation.int("rows", default: 100_000, range: 1...10_000_000) ?? 100_000,
            pageSize: try invocation.int("page-size", default: 500, range: 1...10_000) ?? 500,
            baselineRows: try invocation.int("baseline-rows", default: 10_000, range: 1...10_000_000) ?? 10_000,
            directory: try benchDirectory(invocation), progress: Output.note)
        if invocation.has("json") {
            Output.json(.obj([
                "rows": .int(result.rows), "page_size": .int(result.pageSize), "seconds": .double((result.seconds * 1000).rounded() / 1000),
                "rows_per_second": .double(result.rowsPerSecond.rounded()), "peak_extra_mb": .double((result.peakExtraMB * 10).rounded() / 10),
                "baseline": .obj(["rows": .int(result.baselineRows), "seconds": .double((result.baselineSeconds * 1000).rounded() / 1000),
                                  "rows_per_second": .double(result.baselineRowsPerSecond.rounded())]),
            ]))
            return 0
        }
        Output.line("bench pull: a full KKI pull of \(result.rows) practitioners from loopback, \(result.pageSize) rows a page")
        Output.table(["", "rows", "seconds", "rows/s"], [
            ["SehatSync (a transaction per page)", String(result.rows), String(format: "%.2f", result.seconds), String(format: "%.0f", result.rowsPerSecond)],
            ["baseline: one upsert statement per row", String(result.baselineRows), String(format: "%.2f", result.baselineSeconds),
             String(format: "%.0f", result.baselineRowsPerSecond)],
        ])
        Output.line(String(format: "speed-up: %.1f×; peak memory above the start: %.1f MB (the whole process: puller and in-process sandbox)",
                           result.rowsPerSecond / max(result.baselineRowsPerSecond, 0.001), result.peakExtraMB))
        return 0
    }

    static let emergency = Command(
        words: ["bench", "emergency"],
        summary: "Time from link-up to the emergency service's 2xx with a clinic backlog queued, beside one round trip.",
        options: [
            OptionSpec(name: "clinic-items", value: "N", help: "Clinic items queued ahead of the panic report (default 100000)"),
            OptionSpec(name: "latency-ms", value: "L", help: "Latency the sandbox adds to every answer (default 50)"),
            OptionSpec(name: "with-niks", value: nil, help: "The report names a registered victim and volunteer: its SATUSEHAT side is queued too"),
            .benchDirectory(),
            .json("the figures"),
        ],
        details: "Target: within one round trip plus 50 ms."
    ) { invocation in
        let result = try EmergencyBenchmark.run(
            clinicItems: try invocation.int("clinic-items", default: 100_000, range: 0...10_000_000) ?? 100_000,
            latencyMilliseconds: try invocation.int("latency-ms", default: 50, range: 0...10_000) ?? 50, withNIKs: invocation.has("with-niks"),
            directory: try benchDirectory(invocation), progress: Output.note)
        let target = result.roundTrip + 0.050
        if invocation.has("json") {
            Output.json(.obj([
                "clinic_items": .int(result.clinicItems), "latency_ms": .int(result.latencyMilliseconds),
                "round_trip_ms": .double((result.roundTrip * 10000).rounded() / 10), "link_up_to_2xx_ms": .double((result.toFirst2xx * 10000).rounded() / 10),
                "target_ms": .double((target * 10000).rounded() / 10), "first_request": .string(result.firstRequestPath),
            ]))
        } else {
            Output.line("bench emergency: \(result.clinicItems) clinic items queued, link down, a panic report recorded last; \(result.latencyMilliseconds) ms latency")
            Output.line("first request after link-up: \(result.firstRequestPath)")
            Output.table(["", "ms"], [
                ["link-up → emergency service 2xx", String(format: "%.1f", result.toFirst2xx * 1000)],
                ["baseline: one round trip", String(format: "%.1f", result.roundTrip * 1000)],
                ["target: round trip + 50 ms", String(format: "%.1f", target * 1000)],
            ])
        }
        return 0
    }

    private static func benchDirectory(_ invocation: Invocation) throws -> String {
        let directory = invocation.value("dir") ?? (NSTemporaryDirectory() + "sehat-bench-" + UUID().uuidString.prefix(8).lowercased())
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        return directory
    }

    private static func ms(_ value: Double) -> String { String(format: "%.3f", value) }

    /// A table row; `per` is how many records one sample wrote.
    private static func row(_ name: String, _ stats: LatencyStats, per: Double = 1) -> [String] {
        [name, String(format: "%.0f", stats.perSecond * per), ms(stats.p50Milliseconds), ms(stats.p99Milliseconds), String(format: "%.2f", stats.totalSeconds)]
    }

    private static func stats(_ stats: LatencyStats) -> JSON {
        .obj(["count": .int(stats.count), "per_second": .double((stats.perSecond * 10).rounded() / 10),
              "p50_ms": .double((stats.p50Milliseconds * 1000).rounded() / 1000), "p99_ms": .double((stats.p99Milliseconds * 1000).rounded() / 1000),
              "total_s": .double((stats.totalSeconds * 1000).rounded() / 1000)])
    }
}
