import Foundation
import SehatJSON
import SehatSupport
import SehatSync

/// `sehat source set`, `sehat pull`, `sehat pull history`, `sehat registry …`: the inbound half.
enum RegistryCommands {
    static let sourceSet = Command(
        words: ["source", "set"], summary: "Set up a workforce-registry source (kki or sisdmk) to pull from.", positional: "kki|sisdmk",
        options: [
            OptionSpec(name: "base-url", value: "URL", help: "The source's API root", required: true),
            OptionSpec(name: "auth-url", value: "URL", help: "Its OAuth2 token endpoint", required: true),
            OptionSpec(name: "client-id", value: "ID", help: "OAuth2 client id", required: true),
            OptionSpec(name: "client-secret-file", value: "FILE", help: "File holding the client secret (read when needed, never stored)", required: true),
            OptionSpec(name: "schedule", value: "daily|hourly|off", help: "How often `sehat sync --watch` pulls it (default daily)"),
        ],
        details: "HTTPS is required except to loopback. `sehat sandbox` serves both sources: KKI at {root}/kki, SISDMK at\n{root}/sisdmk, each with its token endpoint at …/oauth/token."
    ) { invocation in
        let settings = try RegistrySourceSettings(
            source: try source(invocation), baseURL: invocation.required("base-url"), authURL: invocation.required("auth-url"),
            clientID: invocation.required("client-id"), clientSecretFile: absolutePath(invocation.required("client-secret-file")),
            schedule: try invocation.choice("schedule", PullSchedule.self) ?? .daily)
        try openClient(invocation).setRegistrySource(settings)
        Output.line("\(settings.source.rawValue): \(settings.baseURL), pulled \(settings.schedule.rawValue); the client secret stays in \(settings.clientSecretFile)")
        return 0
    }

    static let pull = Command(
        words: ["pull"], summary: "Pull the workforce registry from a source now (one batch; resumes an unfinished one).", positional: "kki|sisdmk",
        options: [
            OptionSpec(name: "full", value: nil, help: "Ask for everything, not only what changed since the last batch"),
            OptionSpec(name: "page-size", value: "N", help: "Rows per page (1-10000, default 500)"),
            OptionSpec(name: "quiet", value: nil, help: "Print only the batch at the end (no progress lines on stderr)"),
            .json("the batch"),
        ],
        details: "Exit status: 0 completed; 4 completed with more than 20 % of the rows rejected (an alert is raised);\n3 stopped before the end (the source unreachable after 3 tries, its credentials refused): the next pull resumes."
    ) { invocation in
        let client = try openClient(invocation)
        let puller = RegistryPuller(client: client, transport: hostTransport(client),
                                    pageSize: try invocation.int("page-size", default: 500, range: 1...10_000) ?? 500)
        let source = try source(invocation)
        // Progress on stderr after each page: rewritten in place on a terminal, a line per page on a pipe.
        let lines = invocation.has("quiet") ? nil : ProgressLines(inPlace: isatty(STDERR_FILENO) == 1)
        let report = try waitFor { try await puller.pull(source, full: invocation.has("full"), progress: lines?.show) }
        if invocation.has("json") {
            Output.json(.obj([
                "source": .string(report.source.rawValue), "trace_id": .string(report.traceID), "status": .string(report.status.rawValue),
                "reason": report.reason.map { .string($0.rawValue) } ?? .null, "pages": .int(report.pages), "fetched": .int(report.fetched),
                "inserted": .int(report.inserted), "updated": .int(report.updated), "unchanged": .int(report.unchanged),
                "rejected": .int(report.rejected), "failure_rate": .double((report.failureRate * 10_000).rounded() / 10_000),
                "alert": .bool(report.alert), "seconds": .double((report.seconds * 1000).rounded() / 1000),
            ]))
        } else {
            Output.line("\(report.source.rawValue) \(report.status.rawValue) (trace \(report.traceID)): \(report.pages) pages, \(report.fetched) rows — "
                + "\(report.inserted) new, \(report.updated) updated, \(report.unchanged) unchanged, \(report.rejected) rejected in \(String(format: "%.1f", report.seconds)) s")
            if let reason = report.reason { Output.line("stopped: \(stopSentence(reason)) — \(report.detail ?? "")") }
            if report.rejected > 0 { Output.line("rejected rows: `sehat registry rejected --trace \(report.traceID)`") }
            if report.alert, report.status == .completed {
                Output.line("alert: \(Int((report.failureRate * 100).rounded())) % of the rows were rejected (above 20 %)")
            }
        }
        if report.status == .stopped { return 3 }
        return report.alert ? 4 : 0
    }

    static let history = Command(
        words: ["pull", "history"], summary: "The batch audit: every pull with its counts, status and duration, newest first.",
        options: [OptionSpec(name: "source", value: "kki|sisdmk", help: "Only this source"), OptionSpec(name: "limit", value: "N", help: "At most N batches (default 50)"),
                  .json("the batches")]
    ) { invocation in
        let batches = try openClient(invocation).pullHistory(source: try invocation.choice("source", RegistrySource.self),
                                                             limit: try invocation.int("limit", default: 50, range: 1...100_000) ?? 50)
        if invocation.has("json") {
            Output.json(.array(batches.map { b in
                .obj([
                    "trace_id": .string(b.traceID), "source": .string(b.source.rawValue), "full": .bool(b.full), "since": b.since.map(JSON.string),
                    "resumes": b.resumes.map(JSON.string), "status": .string(b.status.rawValue), "reason": b.reason.map { .string($0.rawValue) },
                    "detail": b.detail.map(JSON.string), "pages": .int(b.pages), "fetched": .int(b.fetched), "inserted": .int(b.inserted),
                    "updated": .int(b.updated), "unchanged": .int(b.unchanged), "rejected": .int(b.rejected), "alert": .bool(b.alert),
                    "started_at": .string(b.startedAt), "finished_at": b.finishedAt.map(JSON.string), "duration_ms": b.milliseconds.map(JSON.int),
                ])
            }))
        } else {
            Output.table(["STARTED", "SOURCE", "STATUS", "PAGES", "FETCHED", "NEW", "UPDATED", "SAME", "REJECTED", "SECONDS", "TRACE"], batches.map { b in
                [b.startedAt, b.source.rawValue, b.status.rawValue + (b.reason.map { " (\($0.rawValue))" } ?? "") + (b.alert ? " !" : ""), "\(b.pages)",
                 "\(b.fetched)", "\(b.inserted)", "\(b.updated)", "\(b.unchanged)", "\(b.rejected)",
                 b.milliseconds.map { String(format: "%.1f", Double($0) / 1000) } ?? "-", b.traceID]
            })
        }
        return 0
    }

    static let rejected = Command(
        words: ["registry", "rejected"], summary: "Rows a source sent that were refused: the batch, the row's key, the field and the reason.",
        options: [OptionSpec(name: "trace", value: "ID", help: "Only this batch"), OptionSpec(name: "limit", value: "N", help: "At most N rows (default 200)"),
                  .json("the rows")]
    ) { invocation in
        let rows = try openClient(invocation).pullRejections(traceID: invocation.value("trace"),
                                                             limit: try invocation.int("limit", default: 200, range: 1...1_000_000) ?? 200)
        if invocation.has("json") {
            Output.json(.array(rows.map { r in
                .obj(["source": .string(r.source.rawValue), "trace_id": .string(r.traceID), "row": .string(r.rowKey), "field": .string(r.field),
                      "reason": .string(r.reason), "at": .string(r.at)])
            }))
        } else {
            Output.table(["SOURCE", "ROW", "FIELD", "REASON", "TRACE"], rows.map { [$0.source.rawValue, $0.rowKey, $0.field, $0.reason, $0.traceID] })
        }
        return 0
    }

    static let list = Command(
        words: ["registry", "list"], summary: "The workforce registry on this device (works offline), by name.",
        options: [OptionSpec(name: "limit", value: "N", help: "At most N entries (default 100)"), OptionSpec(name: "offset", value: "N", help: "Skip N entries"),
                  .json("the entries")]
    ) { invocation in
        let client = try openClient(invocation)
        let entries = try client.registryEntries(limit: try invocation.int("limit", default: 100, range: 1...1_000_000) ?? 100,
                                                 offset: try invocation.int("offset", default: 0, range: 0...Int(Int32.max)) ?? 0)
        try show(entries, client: client, invocation: invocation, revealNIK: false)
        return 0
    }

    static let showEntry = Command(
        words: ["registry", "show"], summary: "One person in the registry, by NIK or STR number (works offline).",
        options: [OptionSpec(name: "nik", value: "NIK", help: "Their NIK"), OptionSpec(name: "str", value: "NUMBER", help: "Their STR number"), .json("the entries")]
    ) { invocation in
        let client = try openClient(invocation)
        let entries: [RegistryEntry]
        switch (invocation.value("nik"), invocation.value("str")) {
        case (let nik?, nil): entries = try client.registryEntries(nik: nik)
        case (nil, let str?): entries = try client.registryEntries(str: str)
        default: throw UsageError(message: "give --nik or --str (one of them)", command: nil)
        }
        guard !entries.isEmpty else { throw FieldError(invocation.value("nik") != nil ? "nik" : "str", "no one in the registry on this device has it") }
        try show(entries, client: client, invocation: invocation, revealNIK: invocation.value("nik") != nil)
        return 0
    }

    /// Entries as a table or JSON, with how fresh the cache is. NIKs are masked unless the caller gave one.
    private static func show(_ entries: [RegistryEntry], client: SehatClient, invocation: Invocation, revealNIK: Bool) throws {
        let fresh = try freshness(client)
        func nik(_ e: RegistryEntry) -> String { revealNIK ? e.nik : LogMasking.mask(e.nik) }
        if invocation.has("json") {
            Output.json(.obj([
                "entries": .array(entries.map { e in
                    .obj([
                        "str_number": e.strNumber.map(JSON.string), "nik": .string(nik(e)), "name": .string(e.name), "birth_place": .string(e.birthPlace),
                        "birth_date": e.birthDate.map(JSON.string), "profession": e.profession.map(JSON.string),
                        "str_status": e.strStatus.map { .string($0.rawValue) }, "str_valid_until": e.strValidUntil.map(JSON.string),
                        "facility": e.facilityCode.map { .obj(["code": .string($0), "name": e.facilityName.map(JSON.string)]) },
                        "sources": .array(e.sources.map { .string($0.rawValue) }), "updated_at": .string(e.updatedAt), "pulled_at": .string(e.pulledAt),
                    ])
                }),
                "freshness": .object(fresh.map { JSON.Member($0.0.rawValue, $0.1.map(JSON.string) ?? .null) }),
            ]))
        } else {
            Output.table(["STR", "NIK", "NAME", "BIRTH PLACE", "PROFESSION", "STR STATUS", "VALID UNTIL", "SOURCES"], entries.map { e in
                [e.strNumber ?? "-", nik(e), e.name, e.birthPlace, e.profession ?? "-", e.strStatus?.rawValue ?? "-", e.strValidUntil ?? "-",
                 e.sources.map(\.rawValue).joined(separator: "+")]
            })
            Output.line("cache: " + fresh.map { "\($0.0.rawValue) last completed \($0.1 ?? "never")" }.joined(separator: "; "))
        }
    }

    /// When each source last completed a batch.
    private static func freshness(_ client: SehatClient) throws -> [(RegistrySource, String?)] {
        try RegistrySource.allCases.map { ($0, try client.lastCompletedPull($0)) }
    }

    private static func source(_ invocation: Invocation) throws -> RegistrySource {
        guard let source = RegistrySource(rawValue: invocation.argument ?? "") else {
            throw UsageError(message: "give the source: kki or sisdmk, got \"\(invocation.argument ?? "")\"", command: nil)
        }
        return source
    }

    static func stopSentence(_ reason: PullStopReason) -> String {
        switch reason {
        case .unreachable: return "the source did not answer after 3 tries; the next pull resumes here"
        case .authRefused: return "the source refused the credentials (or a fresh token); check them with `sehat source set`"
        case .malformedPage: return "the source answered something that is not its page (a login page?) 3 times; the next pull resumes here"
        case .superseded: return "another pull of this source took over"
        case .cancelled: return "asked to stop; the next pull resumes here"
        }
    }
}
