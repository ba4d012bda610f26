/// Why a text is not JSON, with the 1-based line and column of the first bad character.
public struct JSONSyntaxError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The line (from 1).
    public let line: Int
    /// The column (from 1).
    public let column: Int
    /// What was expected.
    public let reason: String

    /// For a person.
    public var description: String { "invalid JSON at line \(line), column \(column): \(reason)" }
}

extension JSON {
    /// Parses JSON text (RFC 8259), keeping key order and number text.
    ///
    ///     let value = try JSON.parse("[1, 2.50]")   // .array([.number("1"), .number("2.50")])
    public static func parse(_ text: String) throws -> JSON {
        var parser = JSONParser(bytes: Array(text.utf8))
        return try parser.parseDocument()
    }

    /// Parses JSON bytes (UTF-8).
    public static func parse(bytes: [UInt8]) throws -> JSON {
        var parser = JSONParser(bytes: bytes)
        return try parser.parseDocument()
    }
}

/// A recursive-descent parser over UTF-8 bytes that tracks line and column.
struct JSONParser {
    let bytes: [UInt8]
    var index = 0
    var depth = 0
    /// The deepest nesting accepted. FHIR resources nest about 15 levels (a `contained`
    /// resource adds its own); 100 leaves room and keeps every recursion over a parsed value
    /// (writing, comparing, walking references) far from the end of a thread's stack.
    static let maxDepth = 100

    init(bytes: [UInt8]) { self.bytes = bytes }

    mutating func parseDocument() throws -> JSON {
        if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { index = 3 }
        skipWhitespace()
        guard index < bytes.count else { throw fail("the document is empty") }
        let value = try parseValue()
        skipWhitespace()
        guard index == bytes.count else { throw fail("unexpected \(describe(bytes[index])) after the end of the value") }
        return value
    }

    private func fail(_ reason: String, at position: Int? = nil) -> JSONSyntaxError {
        let position = min(position ?? index, bytes.count)
        var line = 1
        var column = 1
        var i = 0
        while i < position {
            let byte = bytes[i]
            if byte == 0x0A {
                line += 1
                column = 1
            } else if byte & 0xC0 != 0x80 {  // count characters, not UTF-8 continuation bytes
                column += 1
            }
            i += 1
        }
        return JSONSyntaxError(line: line, column: column, reason: reason)
    }

    private func describe(_ byte: UInt8) -> String {
        (0x21...0x7E).contains(byte) ? "'\(Character(Unicode.Scalar(byte)))'" : String(format: byte)
    }

    private func String(format byte: UInt8) -> Swift.String { "byte 0x" + Swift.String(byte, radix: 16) }

    private mutating func skipWhitespace() {
        while index < bytes.count {
            switch bytes[index] {
            case 0x20, 0x09, 0x0A, 0x0D: index += 1
            default: return
            }
        }
    }

    private mutating func parseValue() throws -> JSON {
        guard index < bytes.count else { throw fail("the document ends where a value was expected") }
        switch bytes[index] {
        case UInt8(ascii: "{"): return try parseObject()
        case UInt8(ascii: "["): return try parseArray()
        case UInt8(ascii: "\""): return .string(try parseString())
        case UInt8(ascii: "t"): return try parseLiteral("true", .bool(true))
        case UInt8(ascii: "f"): return try parseLiteral("false", .bool(false))
        case UInt8(ascii: "n"): return try parseLiteral("null", .null)
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return try parseNumber()
        default: throw fail("unexpected \(describe(bytes[index])) where a value was expected")
        }
    }

    private mutating func parseLiteral(_ word: Swift.String, _ value: JSON) throws -> JSON {
        let utf8 = Array(word.utf8)
        guard bytes.count - index >= utf8.count, Array(bytes[index..<index + utf8.count]) == utf8 else {
            throw fail("unknown word (expected \(word))")
        }
        index += utf8.count
        return value
    }

    private mutating func enter() throws {
        depth += 1
        if depth > JSONParser.maxDepth { throw fail("nesting deeper than \(JSONParser.maxDepth) levels") }
    }

    private mutating func parseObject() throws -> JSON {
        try enter()
        defer { depth -= 1 }
        index += 1
        var members: [JSON.Member] = []
        var names: Set<Swift.String> = []
        skipWhitespace()
        if index < bytes.count, bytes[index] == UInt8(ascii: "}") {
            index += 1
            return .object(members)
        }
        while true {
            skipWhitespace()
            guard index < bytes.count else { throw fail("the document ends inside an object (missing '}')") }
            guard bytes[index] == UInt8(ascii: "\"") else {
                throw fail("expected a quoted member name, found \(describe(bytes[index]))")
            }
            let keyStart = index
            let key = try parseString()
            // RFC 8259 leaves repeated names undefined; readers disagree on which one wins, so
            // a document that repeats one means two things at once and is refused.
            if members.count < 16 ? members.contains(where: { $0.key == key }) : !seen(&names, members, key) {
                throw fail("the member name \"\(key.prefix(64))\" appears twice in one object (each name may appear once)", at: keyStart)
            }
            skipWhitespace()
            guard index < bytes.count, bytes[index] == UInt8(ascii: ":") else {
                throw fail("expected ':' after member name \"\(key.prefix(64))\"")
            }
            index += 1
            skipWhitespace()
            members.append(JSON.Member(key, try parseValue()))
            skipWhitespace()
            guard index < bytes.count else { throw fail("the document ends inside an object (missing '}')") }
            if bytes[index] == UInt8(ascii: ",") {
                index += 1
                continue
            }
            if bytes[index] == UInt8(ascii: "}") {
                index += 1
                return .object(members)
            }
            throw fail("expected ',' or '}' in an object, found \(describe(bytes[index]))")
        }
    }

    /// Adds `key` to the names of a large object (filled on first use); false when it was there.
    private func seen(_ names: inout Set<Swift.String>, _ members: [JSON.Member], _ key: Swift.String) -> Bool {
        if names.isEmpty { names = Set(members.map(\.key)) }
        return names.insert(key).inserted
    }

    private mutating func parseArray() throws -> JSON {
        try enter()
        defer { depth -= 1 }
        index += 1
        var items: [JSON] = []
        skipWhitespace()
        if index < bytes.count, bytes[index] == UInt8(ascii: "]") {
            index += 1
            return .array(items)
        }
        while true {
            skipWhitespace()
            items.append(try parseValue())
            skipWhitespace()
            guard index < bytes.count else { throw fail("the document ends inside an array (missing ']')") }
            if bytes[index] == UInt8(ascii: ",") {
                index += 1
                continue
            }
            if bytes[index] == UInt8(ascii: "]") {
                index += 1
                return .array(items)
            }
            throw fail("expected ',' or ']' in an array, found \(describe(bytes[index]))")
        }
    }

    private mutating func parseNumber() throws -> JSON {
        let start = index
        if bytes[index] == UInt8(ascii: "-") { index += 1 }
        func digits() -> Int {
            let from = index
            while index < bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[index]) { index += 1 }
            return index - from
        }
        guard index < bytes.count else { throw fail("a number ends after '-'") }
        if bytes[index] == UInt8(ascii: "0") {
            index += 1
            if index < bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[index]) {
                throw fail("a number may not have a leading zero")
            }
        } else if digits() == 0 {
            throw fail("expected a digit in a number")
        }
        if index < bytes.count, bytes[index] == UInt8(ascii: ".") {
            index += 1
            guard digits() > 0 else { throw fail("expected a digit after the decimal point") }
        }
        if index < bytes.count, bytes[index] == UInt8(ascii: "e") || bytes[index] == UInt8(ascii: "E") {
            index += 1
            if index < bytes.count, bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-") { index += 1 }
            guard digits() > 0 else { throw fail("expected a digit in the exponent") }
        }
        return .number(Swift.String(decoding: bytes[start..<index], as: UTF8.self))
    }

    private mutating func parseString() throws -> Swift.String {
        let open = index
        index += 1
        // Most strings hold no escape: scan them once and make the string from the bytes.
        let start = index
        while index < bytes.count {
            let byte = bytes[index]
            if byte == UInt8(ascii: "\"") {
                defer { index += 1 }
                return text(start, index)
            }
            if byte == UInt8(ascii: "\\") { break }
            if byte < 0x20 { throw fail("a control character must be escaped inside a string") }
            if byte >= 0x80 { try validateUTF8Sequence() } else { index += 1 }
        }
        guard index < bytes.count else { throw fail("a string is not closed (missing '\"')", at: open) }
        var result = text(start, index)
        var runStart = index
        while true {
            guard index < bytes.count else { throw fail("a string is not closed (missing '\"')", at: open) }
            let byte = bytes[index]
            if byte == UInt8(ascii: "\"") {
                result += text(runStart, index)
                index += 1
                return result
            }
            if byte < 0x20 { throw fail("a control character must be escaped inside a string") }
            if byte == UInt8(ascii: "\\") {
                result += text(runStart, index)
                index += 1
                guard index < bytes.count else { throw fail("a string ends inside an escape") }
                let escape = bytes[index]
                index += 1
                switch escape {
                case UInt8(ascii: "\""): result += "\""
                case UInt8(ascii: "\\"): result += "\\"
                case UInt8(ascii: "/"): result += "/"
                case UInt8(ascii: "b"): result += "\u{08}"
                case UInt8(ascii: "f"): result += "\u{0C}"
                case UInt8(ascii: "n"): result += "\n"
                case UInt8(ascii: "r"): result += "\r"
                case UInt8(ascii: "t"): result += "\t"
                case UInt8(ascii: "u"): result.unicodeScalars.append(try parseUnicodeEscape())
                default: throw fail("unknown escape '\\\(Character(Unicode.Scalar(escape)))'", at: index - 2)
                }
                runStart = index
                continue
            }
            if byte >= 0x80 { try validateUTF8Sequence() } else { index += 1 }
        }
    }

    /// The text of bytes already checked as UTF-8.
    private func text(_ start: Int, _ end: Int) -> Swift.String {
        guard end > start else { return "" }
        return bytes.withUnsafeBufferPointer { Swift.String(decoding: UnsafeBufferPointer(rebasing: $0[start..<end]), as: UTF8.self) }
    }

    /// Checks one multi-byte UTF-8 sequence and steps over it.
    private mutating func validateUTF8Sequence() throws {
        let lead = bytes[index]
        let length: Int
        switch lead {
        case 0xC2...0xDF: length = 2
        case 0xE0...0xEF: length = 3
        case 0xF0...0xF4: length = 4
        default: throw fail("invalid UTF-8")
        }
        guard index + length <= bytes.count,
            bytes[(index + 1)..<(index + length)].allSatisfy({ $0 & 0xC0 == 0x80 }),
            Swift.String(validating: bytes[index..<(index + length)], as: UTF8.self) != nil
        else { throw fail("invalid UTF-8") }
        index += length
    }

    private mutating func readHex4() throws -> UInt32 {
        guard index + 4 <= bytes.count else { throw fail("a \\u escape needs four hex digits") }
        var value: UInt32 = 0
        for _ in 0..<4 {
            guard let digit = hexValue(bytes[index]) else { throw fail("a \\u escape needs four hex digits") }
            value = value * 16 + digit
            index += 1
        }
        return value
    }

    private func hexValue(_ byte: UInt8) -> UInt32? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return UInt32(byte - UInt8(ascii: "0"))
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return UInt32(byte - UInt8(ascii: "a") + 10)
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return UInt32(byte - UInt8(ascii: "A") + 10)
        default: return nil
        }
    }

    private mutating func parseUnicodeEscape() throws -> Unicode.Scalar {
        let high = try readHex4()
        if (0xD800...0xDBFF).contains(high) {
            guard index + 2 <= bytes.count, bytes[index] == UInt8(ascii: "\\"), bytes[index + 1] == UInt8(ascii: "u") else {
                throw fail("a high surrogate must be followed by a low surrogate")
            }
            index += 2
            let low = try readHex4()
            guard (0xDC00...0xDFFF).contains(low) else { throw fail("a high surrogate must be followed by a low surrogate") }
            return Unicode.Scalar(0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00))!
        }
        guard let scalar = Unicode.Scalar(high) else { throw fail("a lone low surrogate is not a character") }
        return scalar
    }
}
