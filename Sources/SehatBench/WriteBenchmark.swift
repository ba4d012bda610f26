import Foundation
import SehatFHIR
import SehatJSON
import SehatSync
import SehatStore

/// `sehat bench write`: records encounters through the public API with full durability,
/// and writes the very same rows with plain prepared statements, one transaction per
/// encounter, into a copy of the same database (the baseline), the two sides alternating
/// in chunks of 50 encounters; then compares them. The batch path does the same with 50
/// visits per transaction (`recordEncounters`, for an import or a migration) beside the
/// same rows written by prepared statements in one transaction per 50.
public enum WriteBenchmark {
    /// What one run measured.
    public struct Result: Sendable {
        /// Encounters recorded on each side.
        public let encounters: Int
        /// FHIR resources each encounter produced.
        public let resourcesPerEncounter: Int
        /// Rows each encounter wrote, outbox included.
        public let rowsPerEncounter: Double
        /// The SDK's record path.
        public let sdk: LatencyStats
        /// The same rows by plain prepared statements.
        public let baseline: LatencyStats
        /// SDK time ÷ baseline time (lower is better; the target is ≤ 2).
        public var ratio: Double { baseline.totalSeconds > 0 ? sdk.totalSeconds / baseline.totalSeconds : 0 }
        /// Visits per transaction on the batch path.
        public let batchSize: Int
        /// `recordEncounters`: one sample per batch of `batchSize` visits, one commit each.
        public let batchSDK: LatencyStats
        /// The same rows by plain prepared statements, one transaction per batch.
        public let batchBaseline: LatencyStats
        /// Batch SDK time ÷ batch baseline time.
        public var batchRatio: Double { batchBaseline.totalSeconds > 0 ? batchSDK.totalSeconds / batchBaseline.totalSeconds : 0 }
    }

    /// The encounter-scoped tables and the column naming the encounter, parents before
    /// children (foreign-key order).
    static let tables = [
        ("resources", "encounter_id"), ("encounters", "local_id"), ("vitals", "encounter_id"), ("diagnoses", "encounter_id"),
        ("procedures", "encounter_id"), ("prescriptions", "encounter_id"), ("dispenses", "encounter_id"),
        ("lab_orders", "encounter_id"), ("lab_results", "encounter_id"), ("summaries", "encounter_id"), ("outbox", "encounter_id"),
    ]

    /// Runs the benchmark in `directory` (which it fills with two database files).
    public static func run(encounters: Int, directory: String, progress: (String) -> Void = { _ in }) throws -> Result {
        let sdkPath = directory + "/bench-sdk.db"
        let baselinePath = directory + "/bench-baseline.db"
        for path in [sdkPath, baselinePath] { for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + suffix) } }

        let client = try SehatClient(path: sdkPath)
        try SampleClinic.configure(client, directory: directory)
        let patients = try SampleClinic.register(client, patientCount: 50)
        // Every practitioner's role at every polyclinic exists before the timed part, so each
        // encounter writes the same rows on both sides.
        for (nik, _) in SampleClinic.practitioners {
            for (code, _) in SampleClinic.locations { try client.linkPractitioner(nik: nik, toLocation: code) }
        }
        try client.database.withoutTransaction { try $0.executeScript("PRAGMA wal_checkpoint(TRUNCATE)") }
        try FileManager.default.copyItem(atPath: sdkPath, toPath: baselinePath)

        // The two sides alternate in chunks, so both meet the same disk and machine conditions.
        let baselineDB = try Database(path: baselinePath)
        let now = client.clock.now()
        var sdkSamples: [Double] = []
        var baselineSamples: [Double] = []
        var batchSamples: [Double] = []
        var batchBaselineSamples: [Double] = []
        var resources = 0
        var rowCount = 0
        /// Writes `groups` with plain prepared statements, `perTransaction` groups a commit; one sample per commit.
        func writeBaseline(_ groups: [[(String, [SQLValue])]], perTransaction: Int) throws -> [Double] {
            try baselineDB.withoutTransaction { conn in
                let begin = try conn.prepare("BEGIN IMMEDIATE")
                let commit = try conn.prepare("COMMIT")
                return try stride(from: 0, to: groups.count, by: perTransaction).map { start in
                    try measure {
                        try begin.run()
                        for group in groups[start..<min(groups.count, start + perTransaction)] {
                            for (sql, values) in group { try conn.prepare(sql).run(values) }
                        }
                        try commit.run()
                    }
                }
            }
        }
        func visits(_ prefix: String, _ range: Range<Int>) -> [EncounterDocument] {
            range.map { i in SampleClinic.visit(number: "\(prefix)-\(i)", patient: patients[i % patients.count], finishedBefore: now, offsetMinutes: i % 600) }
        }
        for chunkStart in stride(from: 0, to: encounters, by: chunkSize) {
            let range = chunkStart..<min(encounters, chunkStart + chunkSize)
            // The SDK: validate, build FHIR, store rows, derive outbox edges; one durable transaction each.
            var encounterIDs: [String] = []
            for doc in visits("BENCH", range) {
                var recorded: RecordedEncounter?
                sdkSamples.append(try measure { recorded = try client.recordEncounter(doc) })
                encounterIDs.append(recorded!.encounterID)
                resources = recorded!.resourceIDs.count
            }
            // The very same rows, read back (not timed) …
            let groups = try client.database.read { conn in try encounterIDs.map { try rows(of: $0, conn) } }
            rowCount += groups.reduce(0) { $0 + $1.count }
            // … and written with plain prepared statements, one transaction per encounter.
            baselineSamples += try writeBaseline(groups, perTransaction: 1)

            // The batch path: the whole chunk in one transaction, on both sides.
            let batch = visits("BATCH", range)
            var recorded: [RecordedEncounter] = []
            batchSamples.append(try measure { recorded = try client.recordEncounters(batch) })
            let batchGroups = try client.database.read { conn in try recorded.map { try rows(of: $0.encounterID, conn) } }
            batchBaselineSamples += try writeBaseline(batchGroups, perTransaction: batchGroups.count)
            progress("\(sdkSamples.count)/\(encounters) encounters on each side, one by one and in batches")
        }
        return Result(encounters: encounters, resourcesPerEncounter: resources, rowsPerEncounter: Double(rowCount) / Double(max(1, encounters)),
                      sdk: LatencyStats(samples: sdkSamples), baseline: LatencyStats(samples: baselineSamples),
                      batchSize: chunkSize, batchSDK: LatencyStats(samples: batchSamples), batchBaseline: LatencyStats(samples: batchBaselineSamples))
    }

    static let chunkSize = 50

    /// Every row one encounter wrote, as INSERT statements with their values, parents first.
    static func rows(of encounterID: String, _ conn: Connection) throws -> [(String, [SQLValue])] {
        var rows: [(String, [SQLValue])] = []
        for (table, key) in tables {
            let columns = try insertableColumns(conn, table)
            let sql = "INSERT INTO \(table)(\(columns.joined(separator: ", "))) VALUES (\(columns.map { _ in "?" }.joined(separator: ", ")))"
            for row in try conn.query("SELECT * FROM \(table) WHERE \(key) = ? ORDER BY rowid", [.text(encounterID)]) {
                rows.append((sql, columns.map { row[$0] }))
            }
        }
        for row in try conn.query(
            "SELECT d.item_id, d.depends_on FROM outbox_deps d JOIN outbox o ON o.id = d.item_id WHERE o.encounter_id = ? ORDER BY d.item_id, d.depends_on",
            [.text(encounterID)])
        {
            rows.append(("INSERT INTO outbox_deps(item_id, depends_on) VALUES (?, ?)", row.values))
        }
        return rows
    }

    /// Columns that can be inserted (generated columns are left out).
    static func insertableColumns(_ conn: Connection, _ table: String) throws -> [String] {
        try conn.query("SELECT name, hidden FROM pragma_table_xinfo(?) ORDER BY cid", [.text(table)])
            .filter { ($0["hidden"].int ?? 0) == 0 }.map { try $0.string("name") }
    }
}
