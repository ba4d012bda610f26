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

    public init(_ text: String) {
        if text.hasPrefix("urn:") {
            self = .urn(text)
        } else if let question = text.firstIndex(of: "?"), FHIRReference.isTypeName(text[..<question]) {
            self = .conditional(type: String(text[..<question]), query: String(text[text.index(after: question)...]))
        } else {
            let parts = text.split(separator: "/", omittingEmptySubsequences: false)
            if parts.count == 2 || (parts.count == 4 && parts[2] == "_history"),
                FHIRReference.isTypeName(parts[0]), !parts[1].isEmpty
            {
                self = .relative(type: String(parts[0]), id: String(parts[1]))
            } else {
                self = .other(text)
            }
        }
    }

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
        guard let first = text.unicodeScalars.first, ("A"..."Z").contains(first) else { return false }
        return text.unicodeScalars.allSatisfy { ("A"..."Z").contains($0) || ("a"..."z").contains($0) }
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
    public let reference: FHIRReference
}

extension JSON {
    /// Every `reference` string inside this resource, in document order.
    ///
    ///     observation.references().map(\.path)  // ["subject.reference", "encounter.reference"]
    public func references() -> [ReferenceSite] {
        var sites: [ReferenceSite] = []
        collectReferences(path: "", into: &sites)
        return sites
    }

    private func collectReferences(path: String, into sites: inout [ReferenceSite]) {
        switch self {
        case .object(let members):
            for member in members {
                let childPath = path.isEmpty ? member.key : "\(path).\(member.key)"
                if member.key == "reference", case .string(let text) = member.value {
                    sites.append(ReferenceSite(path: childPath, reference: FHIRReference(text)))
                } else if member.key != "contained" {  // contained resources resolve locally
                    member.value.collectReferences(path: childPath, into: &sites)
                }
            }
        case .array(let items):
            for (i, item) in items.enumerated() { item.collectReferences(path: "\(path)[\(i)]", into: &sites) }
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
                if member.key == "contained" { return member }
                return Member(member.key, try member.value.rewritingReferences(rewrite))
            })
        case .array(let items):
            return .array(try items.map { try $0.rewritingReferences(rewrite) })
        default:
            return self
        }
    }
}
