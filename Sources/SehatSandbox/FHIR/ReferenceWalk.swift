import Foundation
import SehatJSON

/// The sandbox's own reading of FHIR references (written from the FHIR R4 spec, not shared
/// with the SDK): every `reference` string anywhere in a resource, `contained` resources
/// included — a real server checks those too.
enum ReferenceText: Equatable {
    /// `Type/id` or `Type/id/_history/n`.
    case local(type: String, id: String)
    /// `urn:uuid:…` / `urn:oid:…`: only meaningful inside a transaction bundle.
    case urn(String)
    /// `Type?identifier=system|value` (a conditional reference).
    case search(type: String, system: String?, value: String?)
    /// `#id` (a contained resource), an absolute URL, or anything else.
    case other

    init(_ text: String) {
        if text.hasPrefix("urn:") {
            self = .urn(text)
            return
        }
        if let question = text.firstIndex(of: "?") {
            let type = String(text[..<question])
            guard Self.isType(type) else { self = .other; return }
            let query = text[text.index(after: question)...]
            var system: String?
            var value: String?
            for pair in query.split(separator: "&") {
                let parts = pair.split(separator: "=", maxSplits: 1).map(String.init)
                guard parts.count == 2, parts[0] == "identifier" else { continue }
                let decoded = parts[1].removingPercentEncoding ?? parts[1]
                if let bar = decoded.firstIndex(of: "|") {
                    system = String(decoded[..<bar])
                    value = String(decoded[decoded.index(after: bar)...])
                } else {
                    value = decoded
                }
            }
            self = .search(type: type, system: system, value: value)
            return
        }
        let parts = text.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        if parts.count == 2 || (parts.count == 4 && parts[2] == "_history"), Self.isType(parts[0]), !parts[1].isEmpty {
            self = .local(type: parts[0], id: parts[1])
        } else {
            self = .other
        }
    }

    private static func isType(_ text: String) -> Bool {
        guard let first = text.unicodeScalars.first, ("A"..."Z").contains(first) else { return false }
        return text.unicodeScalars.allSatisfy { ("A"..."Z").contains($0) || ("a"..."z").contains($0) }
    }
}

extension JSON {
    /// Every `reference` string with its path, contained resources included. Paths are
    /// written out only where a reference is found.
    func referenceTexts() -> [(path: String, text: String)] {
        var found: [(path: String, text: String)] = []
        var steps: [String] = []
        collect(&steps, &found)
        return found
    }

    private func collect(_ steps: inout [String], _ found: inout [(path: String, text: String)]) {
        switch self {
        case .object(let members):
            for member in members {
                if member.key == "reference", case .string(let text) = member.value {
                    found.append(((steps + ["reference"]).joined(separator: ".").replacingOccurrences(of: ".[", with: "["), text))
                    continue
                }
                switch member.value {
                case .object, .array:
                    steps.append(member.key)
                    member.value.collect(&steps, &found)
                    steps.removeLast()
                default: break
                }
            }
        case .array(let items):
            for (index, item) in items.enumerated() {
                steps.append("[\(index)]")
                item.collect(&steps, &found)
                steps.removeLast()
            }
        default:
            break
        }
    }

    /// A copy with each `reference` string replaced by `replace`'s answer (nil keeps it).
    func replacingReferences(_ replace: (String) -> String?) -> JSON {
        switch self {
        case .object(let members):
            return .object(members.map { member in
                if member.key == "reference", case .string(let text) = member.value { return Member(member.key, .string(replace(text) ?? text)) }
                return Member(member.key, member.value.replacingReferences(replace))
            })
        case .array(let items):
            return .array(items.map { $0.replacingReferences(replace) })
        default:
            return self
        }
    }
}
