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
        // Read on the bytes: every reference of every entry passes here.
        let parts = text.utf8.split(separator: UInt8(ascii: "/"), omittingEmptySubsequences: false)
        if parts.count == 2 || (parts.count == 4 && parts[2].elementsEqual("_history".utf8)), Self.isType(parts[0]), !parts[1].isEmpty {
            self = .local(type: String(Substring(parts[0])), id: String(Substring(parts[1])))
        } else {
            self = .other
        }
    }

    private static func isType(_ text: String) -> Bool { isType(Substring(text).utf8) }

    private static func isType(_ bytes: Substring.UTF8View) -> Bool {
        guard let first = bytes.first, (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(first) else { return false }
        return bytes.allSatisfy { (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains($0) || (UInt8(ascii: "a")...UInt8(ascii: "z")).contains($0) }
    }
}

/// Where a reference was found: the member names and array positions from the resource down.
/// Written out as a path (`subject.reference`, `contained[0].subject.reference`) only when an
/// issue names it.
struct ReferenceSite {
    enum Step {
        case member(String)
        case index(Int)
    }

    let steps: [Step]
    let text: String

    var path: String {
        var out = ""
        for step in steps {
            switch step {
            case .member(let name): out += (out.isEmpty ? "" : ".") + name
            case .index(let index): out += "[\(index)]"
            }
        }
        return out
    }
}

extension JSON {
    /// Every `reference` string with where it was found, contained resources included.
    func referenceTexts() -> [ReferenceSite] {
        var found: [ReferenceSite] = []
        var steps: [ReferenceSite.Step] = []
        collect(&steps, &found)
        return found
    }

    private func collect(_ steps: inout [ReferenceSite.Step], _ found: inout [ReferenceSite]) {
        switch self {
        case .object(let members):
            for member in members {
                if member.key == "reference", case .string(let text) = member.value {
                    found.append(ReferenceSite(steps: steps + [.member("reference")], text: text))
                    continue
                }
                switch member.value {
                case .object, .array:
                    steps.append(.member(member.key))
                    member.value.collect(&steps, &found)
                    steps.removeLast()
                default: break
                }
            }
        case .array(let items):
            for (index, item) in items.enumerated() {
                switch item {
                case .object, .array:
                    steps.append(.index(index))
                    item.collect(&steps, &found)
                    steps.removeLast()
                default: break
                }
            }
        default:
            break
        }
    }

    /// A copy with each `reference` string replaced by `replace`'s answer (nil keeps it).
    func replacingReferences(_ replace: (String) -> String?) -> JSON {
        replaced(replace) ?? self
    }

    /// The copy, or nil when nothing changed (nothing is rebuilt for a resource without a
    /// reference to replace).
    private func replaced(_ replace: (String) -> String?) -> JSON? {
        switch self {
        case .object(let members):
            var changed: [Member]?
            for (index, member) in members.enumerated() {
                let value: JSON?
                if member.key == "reference", case .string(let text) = member.value {
                    value = replace(text).map(JSON.string)
                } else {
                    value = member.value.replaced(replace)
                }
                guard let value else { continue }
                if changed == nil { changed = members }
                changed![index] = Member(member.key, value)
            }
            return changed.map(JSON.object)
        case .array(let items):
            var changed: [JSON]?
            for (index, item) in items.enumerated() {
                guard let value = item.replaced(replace) else { continue }
                if changed == nil { changed = items }
                changed![index] = value
            }
            return changed.map(JSON.array)
        default:
            return nil
        }
    }
}
