import Foundation
import SehatJSON
import SehatSync

/// `sehat bench import`: writes a transaction bundle of N entries of a real-world bundle's
/// shape to a file, imports it the way `sehat import FILE` does (entry by entry), and
/// measures the process's peak memory during the import beside the baseline of the same run:
/// what the whole-text way needs before it imports anything — the file read and parsed whole.
package enum ImportBenchmark {
    package struct Result {
        package let entries: Int
        package let fileBytes: Int
        package let importSeconds: Double
        /// Resident memory before the import, and the highest during it (bytes).
        package let residentBefore: Int
        package let importPeak: Int
        /// The baseline: reading the file whole and parsing it.
        package let baselineSeconds: Double
        package let baselinePeak: Int
        package let outboxItems: Int
    }

    package static func run(entries: Int, shapeFrom fixture: String, directory: String, progress: (String) -> Void) throws -> Result {
        let file = directory + "/bench-import.json"
        try SyntheaShape(file: fixture).writeBundle(entries: entries, to: file)
        let size = (try FileManager.default.attributesOfItem(atPath: file)[.size] as? NSNumber)?.intValue ?? 0
        progress("wrote \(entries) entries (\(size / 1_048_576) MiB) of the shape of \((fixture as NSString).lastPathComponent)")

        let path = directory + "/bench-import.db"
        for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + suffix) }
        let client = try SehatClient(path: path)
        try SampleClinic.configure(client, directory: directory)
        var configuration = try client.configuration()!
        configuration.profile = .fhir  // Synthea's resources are US ones: the generic FHIR path
        try client.configure(configuration)

        // The streamed import first, so the baseline's freed memory cannot flatter it.
        ProcessMemory.resetPeak()
        let residentBefore = ProcessMemory.resident() ?? 0
        var imported: ImportedBundle?
        let importSeconds = try measure { imported = try client.importBundle(file: file) }
        let importPeak = ProcessMemory.peak() ?? 0
        progress(String(format: "imported %d resources in %.1f s", imported?.resourceIDs.count ?? 0, importSeconds))

        ProcessMemory.resetPeak()
        var parsedEntries = 0
        let baselineSeconds = try measure {
            let whole = try JSON.parse(bytes: Array(try Data(contentsOf: URL(fileURLWithPath: file))))
            parsedEntries = whole["entry"]?.arrayValue?.count ?? 0
        }
        let baselinePeak = ProcessMemory.peak() ?? 0
        guard parsedEntries == entries, imported?.resourceIDs.count == entries else {
            throw SyncBenchmark.BenchError(message: "imported \(imported?.resourceIDs.count ?? 0) and parsed \(parsedEntries) of \(entries) entries")
        }
        return Result(entries: entries, fileBytes: size, importSeconds: importSeconds, residentBefore: residentBefore, importPeak: importPeak,
                      baselineSeconds: baselineSeconds, baselinePeak: baselinePeak, outboxItems: imported?.outboxItemIDs.count ?? 0)
    }
}
