import Foundation
import SehatFHIR
import SehatJSON

/// Bundles of a real-world bundle's shape: copies of its entries with fresh `urn:uuid:`
/// fullUrls and the references between them rewritten to match, so every copy is a new
/// patient's record with the same types, sizes, references and conditional lookups.
package struct SyntheaShape {
    /// The real-world bundle's entries.
    package let entries: [JSON]

    /// Reads the shape from a bundle file (the Synthea fixture).
    package init(file path: String) throws {
        let bundle = try JSON.parse(bytes: Array(try Data(contentsOf: URL(fileURLWithPath: path))))
        guard let entries = bundle["entry"]?.arrayValue, !entries.isEmpty else {
            throw SyncBenchmark.BenchError(message: "\(path) is not a bundle with entries")
        }
        self.entries = entries
    }

    /// Copy number `copy` of the entries (copy 0 is the original itself).
    package func copy(_ copy: Int) -> [JSON] {
        guard copy > 0 else { return entries }
        var renamed: [String: String] = [:]
        for entry in entries {
            if let url = entry["fullUrl"]?.stringValue, url.hasPrefix("urn:uuid:") { renamed[url] = "urn:uuid:" + SyntheaShape.uuid(copy, renamed.count) }
        }
        return entries.map { entry in
            var entry = entry
            if let url = entry["fullUrl"]?.stringValue, let new = renamed[url] { entry["fullUrl"] = .string(new) }
            if let resource = entry["resource"] {
                entry["resource"] = resource.rewritingReferences { reference in
                    if case .urn(let urn) = reference { return renamed[urn] }
                    return nil
                }
            }
            return entry
        }
    }

    /// A bundle of copy number `copy`, of the original's type.
    package func bundle(_ copy: Int) -> JSON {
        .obj(["resourceType": "Bundle", "type": "transaction", "entry": .array(self.copy(copy))])
    }

    /// Writes one transaction bundle of `count` entries — copies one after another, the last
    /// cut short — entry by entry, so the writer never holds the file.
    package func writeBundle(entries count: Int, to path: String) throws {
        FileManager.default.createFile(atPath: path, contents: nil)
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        defer { try? handle.close() }
        try handle.write(contentsOf: Data(#"{"resourceType":"Bundle","type":"transaction","entry":["#.utf8))
        var written = 0
        var copyNumber = 0
        while written < count {
            for entry in copy(copyNumber).prefix(count - written) {
                try handle.write(contentsOf: Data(((written > 0 ? ",\n" : "") + entry.text).utf8))
                written += 1
            }
            copyNumber += 1
        }
        try handle.write(contentsOf: Data("]}\n".utf8))
    }

    /// A UUID made of the copy and the entry's place (unique, and the same on every run).
    private static func uuid(_ copy: Int, _ index: Int) -> String {
        let hex = String(format: "%08x%024x", copy, index)
        let h = Array(hex)
        return String(h[0..<8]) + "-" + String(h[8..<12]) + "-4" + String(h[13..<16]) + "-8" + String(h[17..<20]) + "-" + String(h[20..<32])
    }
}
