import Foundation
import SehatFHIR
import SehatJSON

/// A bundle the importer reads entry by entry, as often as it needs: a bundle already parsed,
/// or a file streamed a piece at a time (so a 50,000-entry file is never in memory whole).
struct BundleSource {
    /// Checks the bundle's own members (resourceType, type, the entry array's size).
    let checkHeader: () throws -> Void
    /// Calls `body` with each entry and its index, in order.
    let forEachEntry: (_ body: (Int, JSON) throws -> Void) throws -> Void

    /// A parsed bundle.
    init(_ bundle: JSON) {
        checkHeader = {
            guard case .object = bundle else { throw FieldError("(document)", "must be a FHIR Bundle (a JSON object), got \(bundle.kind)") }
            var header = bundle
            let entries = bundle["entry"]?.arrayValue
            if entries != nil { header["entry"] = nil }
            try BundleImporter.checkHeader(header, entries: entries?.count)
        }
        forEachEntry = { body in
            for (index, entry) in (bundle["entry"]?.arrayValue ?? []).enumerated() { try body(index, entry) }
        }
    }

    /// A bundle file, read from disk at each pass; bad JSON is refused naming its line and column.
    init(file path: String) throws {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else { throw FieldError("file", "\(path) does not exist") }
        guard !isDirectory.boolValue else { throw FieldError("file", "\(path) is a directory, not a document") }
        guard FileManager.default.isReadableFile(atPath: path),
              let size = (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? NSNumber)?.intValue
        else { throw FieldError("file", "cannot read \(path)") }
        guard size <= InputLimits.bundleFileBytes else { throw FieldError("(document)", "is \(size) bytes; the limit is \(InputLimits.bundleFileBytes)") }
        let stream = JSONObjectStream(path: path, arrayMember: "entry", maxValueBytes: InputLimits.entryBytes)
        /// Syntax errors as refusals of the document, naming line and column.
        func reading<T>(_ body: () throws -> T) throws -> T {
            do {
                return try body()
            } catch let error as JSONSyntaxError {
                throw FieldError("(document)", error.description)
            }
        }
        checkHeader = {
            var members: [JSON.Member] = []
            let entries = try reading { try stream.read(member: { members.append(JSON.Member($0, $1)) }) }
            try BundleImporter.checkHeader(.object(members), entries: entries)
        }
        forEachEntry = { body in try reading { _ = try stream.read(member: { _, _ in }, element: body) } }
    }
}
