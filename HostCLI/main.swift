import Foundation
import SehatSync

/// Every command, in the order `sehat --help` lists them.
let commands: [Command] = [
    SetupCommands.initialize,
    ConfigCommand.config,
    SetupCommands.locationAdd,
    SetupCommands.practitionerAdd,
    SetupCommands.patientAdd,
    SetupCommands.patientConsent,
    SetupCommands.patientUpdate,
    SetupCommands.practitionerUpdate,
    RecordCommands.encounterRecord,
    AmendCommand.amend,
    CancelCommand.cancel,
    HistoryCommand.history,
    RecordCommands.panic,
    EmergencyCommands.list,
    EmergencyCommands.status,
    EmergencyCommands.update,
    ImportCommand.importBundle,
    OutboxCommand.list,
    OutboxCommand.show,
    OutboxCommand.why,
    OutboxCommand.retry,
    OutboxCommand.ignore,
    OutboxCommand.resolve,
    SyncCommand.sync,
    RegistryCommands.sourceSet,
    RegistryCommands.pull,
    RegistryCommands.history,
    RegistryCommands.list,
    RegistryCommands.showEntry,
    RegistryCommands.rejected,
    FieldCommands.status,
    FieldCommands.health,
    FieldCommands.metrics,
    ReportCommand.report,
    FieldCommands.net,
    SandboxCommand.sandbox,
    DemoCommand.demo,
    BenchCommands.write,
    BenchCommands.ready,
    BenchCommands.sync,
    BenchCommands.emergency,
    BenchCommands.pull,
    BenchCommands.scale,
    BenchCommands.drain,
    BenchCommands.importBundle,
]

let overview = """
    sehat — the SehatSync field host: records clinic encounters and panic reports offline into a
    durable outbox bound for SATUSEHAT (FHIR R4) and the emergency service.

    Usage: sehat [--db PATH] COMMAND [OPTIONS]

    The database is PATH, else $SEHAT_DB, else ./sehat.db.

    Commands:
    \(commands.map { "  " + $0.words.joined(separator: " ").padding(toLength: 22, withPad: " ", startingAt: 0) + $0.summary }.joined(separator: "\n"))

    Run `sehat COMMAND --help` for a command's options.
    """

func run(_ arguments: [String]) -> Int32 {
    var rest = arguments
    var databasePath = ProcessInfo.processInfo.environment["SEHAT_DB"].flatMap { $0.isEmpty ? nil : $0 } ?? "sehat.db"
    while let first = rest.first, first.hasPrefix("--db") {
        if first == "--db" {
            guard rest.count >= 2 else {
                Output.error("--db needs a value (PATH)")
                return 2
            }
            databasePath = rest[1]
            rest.removeFirst(2)
        } else if first.hasPrefix("--db=") {
            databasePath = String(first.dropFirst(5))
            rest.removeFirst()
        } else {
            break
        }
    }
    if rest.isEmpty || rest == ["--help"] || rest == ["-h"] || rest == ["help"] {
        Output.line(overview)
        return rest.isEmpty ? 2 : 0
    }
    if rest.first == "help" { rest = Array(rest.dropFirst()) + ["--help"] }
    // The longest run of leading words that names a command.
    let words = Array(rest.prefix { !$0.hasPrefix("-") })
    guard let command = commands.filter({ words.starts(with: $0.words) }).max(by: { $0.words.count < $1.words.count }) else {
        let group = commands.filter { $0.words.first == words.first }
        if !group.isEmpty, words.count <= 1 {
            let wantsHelp = rest.contains("--help") || rest.contains("-h")
            let list = group.map { "  sehat " + $0.words.joined(separator: " ") + " — " + $0.summary }.joined(separator: "\n")
            if wantsHelp {
                Output.line("Commands under `\(words[0])`:\n\(list)")
                return 0
            }
            Output.error("`\(words.first!)` needs a subcommand:\n\(list)")
            return 2
        }
        Output.error("unknown command `\(words.joined(separator: " "))`; run `sehat --help` for the list")
        return 2
    }
    let options = Array(rest.dropFirst(command.words.count))
    if options.contains("--help") || options.contains("-h") {
        Output.line(command.help)
        return 0
    }
    do {
        let invocation = try command.parse(options, databasePath: databasePath)
        return try command.run(invocation)
    } catch let error as UsageError {
        Output.error(error.message)
        Output.note("usage: \((error.command ?? command).usage)")
        return 2
    } catch let error as DatabaseError where error.isDiskFull {
        Output.error("the disk is full: nothing was written (the database is intact); free some space and try again [\(error)]")
        return 1
    } catch is NotConfiguredError {
        Output.error("this device is not set up yet: run `sehat init` first")
        return 1
    } catch {
        Output.error("\(error)")
        return 1
    }
}

CrashGuard.install()
exit(run(Array(CommandLine.arguments.dropFirst())))
