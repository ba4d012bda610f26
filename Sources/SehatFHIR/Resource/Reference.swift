import SehatJSON
/// A FHIR `Reference.reference` string, classified.
///
///     FHIRReference("Patient/P02478375538")           // .relative(type: "Patient", id: "P02478375538")
///     FHIRReference("urn:uuid:9f1c…")                   // .urn("urn:uuid:9f1c…")
///     FHIRReference("Practitioner?identifier=s|v")      // .conditional(type: "Practitioner", query: "identifier=s|v")
public enum FHIRReference: Sendable, Hashable, CustomStringConvertible {
    /// `Type/id` (optionally `Type/id/_history/vid`, the version dropped).
    case relative(type: String, id: String)
    /// `urn:uuid:…` or `urn:oid:…`, resolved inside a Bundle.
    case urn(String)
    /// `Type?query`, resolved by a search on the server.
    case conditional(type: String, query: String)
    /// Anything else (an absolute URL, a contained `#id`).
    case other(String)

    /// Classifies a reference string.
    public init(_ text: String) {
        let utf8 = text.utf8
        if utf8.starts(with: "urn:".utf8) {
            self = .urn(text)
            return
        }
        // Scan once for the first '?' and the '/' separators (hot: every reference of every record).
        var slashes: [String.Index] = []
        var question: String.Index?
        var i = utf8.startIndex
        while i != utf8.endIndex {
            let byte = utf8[i]
            if byte == UInt8(ascii: "?") { question = i; break }
            if byte == UInt8(ascii: "/") {
                slashes.append(i)
                if slashes.count > 3 { break }
            }
            i = utf8.index(after: i)
        }
        if let question, slashes.isEmpty, FHIRReference.isTypeName(text[..<question]) {
            self = .conditional(type: String(text[..<question]), query: String(text[text.index(after: question)...]))
            return
        }
        if question == nil, slashes.count == 1 || (slashes.count == 3 && text[text.index(after: slashes[1])..<slashes[2]] == "_history") {
            let type = text[..<slashes[0]]
            let idEnd = slashes.count == 1 ? text.endIndex : slashes[1]
            let id = text[text.index(after: slashes[0])..<idEnd]
            if !id.isEmpty, FHIRReference.isTypeName(type) {
                self = .relative(type: String(type), id: String(id))
                return
            }
        }
        self = .other(text)
    }

    /// The reference as written.
    public var description: String {
        switch self {
        case .relative(let type, let id): return "\(type)/\(id)"
        case .urn(let text), .other(let text): return text
        case .conditional(let type, let query): return "\(type)?\(query)"
        }
    }

    /// The `identifier=system|value` pair of a conditional reference, percent-decoded.
    public var conditionalIdentifier: (system: String, value: String)? {
        guard case .conditional(_, let query) = self else { return nil }
        for pair in query.split(separator: "&") where pair.hasPrefix("identifier=") {
            let raw = String(pair.dropFirst("identifier=".count))
            let decoded = raw.removingPercentEncodingSafe
            guard let bar = decoded.firstIndex(of: "|") else { return ("", decoded) }
            return (String(decoded[..<bar]), String(decoded[decoded.index(after: bar)...]))
        }
        return nil
    }

    static func isTypeName(_ text: Substring) -> Bool {
        guard let first = text.utf8.first, (65...90).contains(first) else { return false }
        return text.utf8.allSatisfy { (65...90).contains($0) || (97...122).contains($0) }
    }
}

extension String {
    /// Percent-decoding without Foundation; invalid escapes are kept as written.
    var removingPercentEncodingSafe: String {
        var bytes: [UInt8] = []
        var utf8 = Array(self.utf8)[...]
        while let byte = utf8.popFirst() {
            if byte == UInt8(ascii: "%"), utf8.count >= 2,
                let value = UInt8(String(decoding: utf8.prefix(2), as: UTF8.self), radix: 16)
            {
                bytes.append(value)
                utf8 = utf8.dropFirst(2)
            } else {
                bytes.append(byte)
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}

/// Where a reference sits inside a resource, and what it says.
public struct ReferenceSite: Sendable, Hashable {
    /// A path such as `subject.reference` or `result[1].reference`.
    public let path: String
    /// What it says.
    public let reference: FHIRReference
}

extension JSON {
    /// Every `reference` string inside this resource, in document order.
    ///
    ///     observation.references().map(\.path)  // ["subject.reference", "encounter.reference"]
    public func references() -> [ReferenceSite] {
        var sites: [ReferenceSite] = []
        var path: [PathStep] = []
        collectReferences(path: &path, into: &sites)
        return sites
    }

    /// One step into a document; joined into a path string only where a reference is found.
    private enum PathStep {
        case key(String)
        case index(Int)
    }

    private static func render(_ path: [PathStep]) -> String {
        var text = ""
        for step in path {
            switch step {
            case .key(let key): text += text.isEmpty ? key : "." + key
            case .index(let i): text += "[\(i)]"
            }
        }
        return text
    }

    private func collectReferences(path: inout [PathStep], into sites: inout [ReferenceSite]) {
        switch self {
        case .object(let members):
            for member in members {
                if member.key == "reference", case .string(let text) = member.value {
                    path.append(.key(member.key))
                    sites.append(ReferenceSite(path: JSON.render(path), reference: FHIRReference(text)))
                    path.removeLast()
                } else {  // contained resources too: their references leave the device with them
                    switch member.value {
                    case .object, .array:
                        path.append(.key(member.key))
                        member.value.collectReferences(path: &path, into: &sites)
                        path.removeLast()
                    default: break
                    }
                }
            }
        case .array(let items):
            for (i, item) in items.enumerated() {
                path.append(.index(i))
                item.collectReferences(path: &path, into: &sites)
                path.removeLast()
            }
        default: break
        }
    }

    /// A copy with every `reference` string passed through `rewrite` (nil keeps it as is).
    /// Stored history is never edited: callers rewrite a copy when they build a request.
    ///
    ///     let sent = stored.rewritingReferences { ref in serverIDs[ref] }
    public func rewritingReferences(_ rewrite: (FHIRReference) throws -> String?) rethrows -> JSON {
        switch self {
        case .object(let members):
            return .object(try members.map { member in
                if member.key == "reference", case .string(let text) = member.value {
                    return Member(member.key, .string(try rewrite(FHIRReference(text)) ?? text))
                }
                return Member(member.key, try member.value.rewritingReferences(rewrite))
            })
        case .array(let items):
            return .array(try items.map { try $0.rewritingReferences(rewrite) })
        default:
            return self
        }
    }
}
