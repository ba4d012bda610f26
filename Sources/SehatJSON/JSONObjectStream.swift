import Foundation

/// Reads one JSON object from a file a piece at a time, handing over its top-level members
/// one by one — and the elements of one array member (a Bundle's `entry`) one by one — so a
/// document far larger than memory should hold is read in memory bounded by its largest
/// element. Syntax is checked as strictly as `JSON.parse`, and an error names the line and
/// column in the file.
///
///     let stream = JSONObjectStream(path: "bundle.json", arrayMember: "entry")
///     try stream.read(member: { key, value in … }, element: { index, entry in … })
public struct JSONObjectStream: Sendable {
    /// The file.
    public let path: String
    /// The member whose array elements are handed over one at a time.
    public let arrayMember: String
    /// The most bytes one member or element may have.
    public let maxValueBytes: Int

    /// A stream over `path`.
    public init(path: String, arrayMember: String, maxValueBytes: Int = 16 << 20) {
        self.path = path
        self.arrayMember = arrayMember
        self.maxValueBytes = maxValueBytes
    }

    /// Reads the file once, start to end. `member` receives every top-level member but the
    /// array (and the array member too, whole, when it is not an array); `element` receives
    /// each of its elements with its index. Returns how many elements the array has (nil when
    /// the object has no such array).
    @discardableResult
    public func read(member: (String, JSON) throws -> Void, element: (Int, JSON) throws -> Void) throws -> Int? {
        try read(member: member, element: element, parseElements: true)
    }

    /// Reads the members only, passing over the array's elements unparsed (their syntax is
    /// not checked); returns how many there are.
    @discardableResult
    public func read(member: (String, JSON) throws -> Void) throws -> Int? {
        try read(member: member, element: { _, _ in }, parseElements: false)
    }

    private func read(member: (String, JSON) throws -> Void, element: (Int, JSON) throws -> Void, parseElements: Bool) throws -> Int? {
        let reader = try ByteReader(path: path)
        defer { reader.close() }
        if try reader.peek() == 0xEF {
            for expected: UInt8 in [0xEF, 0xBB, 0xBF] where try reader.next() != expected { throw reader.fail("invalid UTF-8") }
        }
        try reader.skipWhitespace()
        guard try reader.peek() != nil else { throw reader.fail("the document is empty") }
        guard try reader.peek() == UInt8(ascii: "{") else { throw reader.fail("expected a JSON object ('{') at the start of the document") }
        _ = try reader.next()
        try reader.skipWhitespace()
        var seen = Set<String>()
        var elements: Int?
        if try reader.peek() == UInt8(ascii: "}") {
            _ = try reader.next()
        } else {
            while true {
                try reader.skipWhitespace()
                guard try reader.peek() == UInt8(ascii: "\"") else { throw reader.fail("expected a quoted member name, found \(reader.describePeek())") }
                let keyAt = reader.position
                guard let key = try parse(try reader.capture(limit: maxValueBytes), at: keyAt).stringValue else { throw reader.fail("bad member name") }
                guard seen.insert(key).inserted else {
                    throw reader.fail("the member name \"\(key.prefix(64))\" appears twice in one object (each name may appear once)", at: keyAt)
                }
                try reader.skipWhitespace()
                guard try reader.peek() == UInt8(ascii: ":") else { throw reader.fail("expected ':' after member name \"\(key.prefix(64))\"") }
                _ = try reader.next()
                try reader.skipWhitespace()
                if key == arrayMember, try reader.peek() == UInt8(ascii: "[") {
                    elements = try readElements(reader, parse: parseElements, element)
                } else {
                    let at = reader.position
                    try member(key, try parse(try reader.capture(limit: maxValueBytes), at: at))
                }
                try reader.skipWhitespace()
                switch try reader.next() {
                case UInt8(ascii: ","): continue
                case UInt8(ascii: "}"): break
                case nil: throw reader.fail("the document ends inside an object (missing '}')")
                default: throw reader.fail("expected ',' or '}' in an object", back: 1)
                }
                break
            }
        }
        try reader.skipWhitespace()
        if try reader.peek() != nil { throw reader.fail("unexpected \(reader.describePeek()) after the end of the value") }
        return elements
    }

    private func readElements(_ reader: ByteReader, parse: Bool, _ element: (Int, JSON) throws -> Void) throws -> Int {
        _ = try reader.next()  // [
        try reader.skipWhitespace()
        if try reader.peek() == UInt8(ascii: "]") {
            _ = try reader.next()
            return 0
        }
        var index = 0
        while true {
            try reader.skipWhitespace()
            let at = reader.position
            let bytes = try reader.capture(limit: maxValueBytes)
            if parse { try element(index, try self.parse(bytes, at: at)) }
            index += 1
            try reader.skipWhitespace()
            switch try reader.next() {
            case UInt8(ascii: ","): continue
            case UInt8(ascii: "]"): return index
            case nil: throw reader.fail("the document ends inside an array (missing ']')")
            default: throw reader.fail("expected ',' or ']' in an array", back: 1)
            }
        }
    }

    /// Parses one captured value, placing any error where it is in the file.
    private func parse(_ bytes: [UInt8], at start: ByteReader.Position) throws -> JSON {
        do {
            return try JSON.parse(bytes: bytes)
        } catch let error as JSONSyntaxError {
            throw JSONSyntaxError(line: start.line + error.line - 1, column: error.line == 1 ? start.column + error.column - 1 : error.column,
                                  reason: error.reason)
        }
    }
}

/// A file's bytes through a buffer, with the line and column of the next one.
private final class ByteReader {
    struct Position {
        var line = 1
        var column = 1
    }

    private let fd: Int32
    private var buffer = [UInt8](repeating: 0, count: 64 << 10)
    private var start = 0
    private var end = 0
    private(set) var position = Position()

    init(path: String) throws {
        fd = open(path, O_RDONLY)
        guard fd >= 0 else { throw CocoaError(.fileReadNoSuchFile, userInfo: [NSFilePathErrorKey: path]) }
    }

    func close() { _ = Foundation.close(fd) }

    func peek() throws -> UInt8? {
        if start == end { try fill() }
        return start < end ? buffer[start] : nil
    }

    func next() throws -> UInt8? {
        guard let byte = try peek() else { return nil }
        start += 1
        if byte == 0x0A {
            position.line += 1
            position.column = 1
        } else if byte & 0xC0 != 0x80 {
            position.column += 1
        }
        return byte
    }

    private func fill() throws {
        let count = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        guard count >= 0 else { throw CocoaError(.fileReadUnknown) }
        start = 0
        end = count
    }

    func skipWhitespace() throws {
        while let byte = try peek(), byte == 0x20 || byte == 0x0A || byte == 0x0D || byte == 0x09 { _ = try next() }
    }

    /// The bytes of the value that starts here: a string, an object or array (balanced, strings
    /// minded), or a bare word or number up to the next delimiter. Its syntax is the parser's
    /// to check; this only finds where it ends.
    func capture(limit: Int) throws -> [UInt8] {
        var bytes: [UInt8] = []
        func take() throws -> UInt8 {
            guard let byte = try next() else { throw fail("the document ends inside a value") }
            bytes.append(byte)
            if bytes.count > limit { throw fail("a value longer than \(limit) bytes") }
            return byte
        }
        guard let first = try peek() else { throw fail("the document ends where a value was expected") }
        switch first {
        case UInt8(ascii: "\""):
            let open = position
            _ = try take()
            try takeString(take, open: open)
        case UInt8(ascii: "{"), UInt8(ascii: "["):
            var depth = 0
            repeat {
                let open = position
                switch try take() {
                case UInt8(ascii: "{"), UInt8(ascii: "["): depth += 1
                case UInt8(ascii: "}"), UInt8(ascii: "]"): depth -= 1
                case UInt8(ascii: "\""): try takeString(take, open: open)
                default: break
                }
            } while depth > 0
        default:
            while let byte = try peek(), ![UInt8(ascii: ","), UInt8(ascii: "}"), UInt8(ascii: "]"), 0x20, 0x0A, 0x0D, 0x09].contains(byte) {
                _ = try take()
            }
            if bytes.isEmpty { throw fail("unexpected \(describePeek()) where a value was expected") }
        }
        return bytes
    }

    /// The rest of a string whose opening quote was taken (at `open`).
    private func takeString(_ take: () throws -> UInt8, open: Position) throws {
        while true {
            guard try peek() != nil else { throw fail("a string is not closed (missing '\"')", at: open) }
            switch try take() {
            case UInt8(ascii: "\""): return
            case UInt8(ascii: "\\"): _ = try take()
            default: continue
            }
        }
    }

    func describePeek() -> String {
        guard let byte = try? peek() else { return "the end of the document" }
        return byte >= 0x20 && byte < 0x7F ? "'\(Character(Unicode.Scalar(byte)))'" : "byte 0x\(String(byte, radix: 16))"
    }

    func fail(_ reason: String, at place: Position? = nil, back: Int = 0) -> JSONSyntaxError {
        let place = place ?? position
        return JSONSyntaxError(line: place.line, column: max(1, place.column - back), reason: reason)
    }
}
