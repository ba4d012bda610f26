/// A lossless JSON value: object key order and the exact text of numbers are kept, so a
/// FHIR resource read and written again is byte-for-byte what came in (modulo whitespace).
///
///     let json = try JSON.parse(#"{"resourceType":"Patient","birthDate":"1990-01-01"}"#)
///     json["resourceType"]?.stringValue // "Patient"
public enum JSON: Sendable, Hashable {
    case null
    case bool(Bool)
    /// A number as written (e.g. `"120"`, `"36.60"`, `"1e3"`).
    case number(String)
    case string(String)
    case array([JSON])
    /// Members in document order.
    case object([Member])

    /// One object member.
    public struct Member: Sendable, Hashable {
        /// The member's name.
        public var key: String
        /// Its value.
        public var value: JSON
        /// A member.
        public init(_ key: String, _ value: JSON) {
            self.key = key
            self.value = value
        }
    }

    /// A number from an integer.
    public static func int(_ value: Int) -> JSON { .number(String(value)) }

    /// A number from a double, written in its shortest exact form (`120`, `36.6`).
    public static func double(_ value: Double) -> JSON {
        if value.rounded() == value, abs(value) < 1e15 { return .number(String(Int64(value))) }
        return .number(String(value))
    }

    /// An object from ordered pairs; pairs whose value is nil are left out.
    public static func obj(_ pairs: KeyValuePairs<String, JSON?>) -> JSON {
        .object(pairs.compactMap { key, value in value.map { Member(key, $0) } })
    }

    /// The string, when this is one.
    public var stringValue: String? { if case .string(let s) = self { return s } else { return nil } }
    /// The boolean, when this is one.
    public var boolValue: Bool? { if case .bool(let b) = self { return b } else { return nil } }
    /// The number as written, when this is one.
    public var numberText: String? { if case .number(let n) = self { return n } else { return nil } }
    /// The number as a Double, when this is one.
    public var doubleValue: Double? { numberText.flatMap(Double.init) }
    /// The number as an Int, when it is a whole one.
    public var intValue: Int? {
        guard let text = numberText else { return nil }
        if let int = Int(text) { return int }
        if let d = Double(text), d.rounded() == d, abs(d) < 9e15 { return Int(d) }
        return nil
    }
    /// The elements, when this is an array.
    public var arrayValue: [JSON]? { if case .array(let a) = self { return a } else { return nil } }
    /// The members in order, when this is an object.
    public var members: [Member]? { if case .object(let m) = self { return m } else { return nil } }
    /// Whether this is `null`.
    public var isNull: Bool { self == .null }

    /// The value of an object member (the first, if the key repeats).
    public subscript(key: String) -> JSON? {
        get { members?.first { $0.key == key }?.value }
        set {
            guard case .object(var members) = self else { return }
            if let index = members.firstIndex(where: { $0.key == key }) {
                if let newValue { members[index].value = newValue } else { members.remove(at: index) }
            } else if let newValue {
                members.append(Member(key, newValue))
            }
            self = .object(members)
        }
    }

    /// An array element, nil when out of range or not an array.
    public subscript(index: Int) -> JSON? {
        guard case .array(let items) = self, items.indices.contains(index) else { return nil }
        return items[index]
    }

    /// A value at a dotted path (`"subject.reference"`), through objects only.
    public func value(at path: String) -> JSON? {
        var current = self
        var rest = Substring(path)
        while let dot = rest.firstIndex(of: ".") {
            let key = rest[..<dot]
            rest = rest[rest.index(after: dot)...]
            if key.isEmpty { continue }  // as `split`: empty steps are skipped
            guard let next = current[String(key)] else { return nil }
            current = next
        }
        return rest.isEmpty ? current : current[String(rest)]
    }
}

extension JSON: ExpressibleByStringLiteral, ExpressibleByBooleanLiteral, ExpressibleByIntegerLiteral,
    ExpressibleByArrayLiteral, ExpressibleByNilLiteral
{
    /// A string literal.
    public init(stringLiteral value: String) { self = .string(value) }
    /// A boolean literal.
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    /// An integer literal.
    public init(integerLiteral value: Int) { self = .number(String(value)) }
    /// An array literal.
    public init(arrayLiteral elements: JSON...) { self = .array(elements) }
    /// `null`.
    public init(nilLiteral: ()) { self = .null }
}

extension JSON {
    /// The same value with every object's members in key order (recursively), so that two
    /// documents that differ only in member order compare equal:
    ///
    ///     try JSON.parse(#"{"b":1,"a":2}"#).keyOrdered == JSON.parse(#"{"a":2,"b":1}"#).keyOrdered  // true
    public var keyOrdered: JSON {
        switch self {
        case .object(let members): return .object(members.map { Member($0.key, $0.value.keyOrdered) }.sorted { $0.key < $1.key })
        case .array(let items): return .array(items.map(\.keyOrdered))
        default: return self
        }
    }
}
