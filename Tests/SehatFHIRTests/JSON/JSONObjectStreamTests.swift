import Foundation
import SehatJSON
import XCTest

/// The streamed reader hands over what `JSON.parse` would build, piece by piece, and refuses
/// what it refuses, at the same line and column.
final class JSONObjectStreamTests: XCTestCase {
    private var directory = ""

    override func setUpWithError() throws {
        directory = NSTemporaryDirectory() + "json-stream-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    }

    override func tearDown() { try? FileManager.default.removeItem(atPath: directory) }

    private func file(_ bytes: [UInt8]) throws -> String {
        let path = directory + "/\(UUID().uuidString).json"
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        return path
    }

    /// The document put back together from the stream (members in order, the array in place).
    private func reassembled(_ bytes: [UInt8], maxValueBytes: Int = 1 << 20) throws -> JSON {
        var members: [JSON.Member] = []
        var elements: [JSON] = []
        var arrayAt: Int?
        let stream = JSONObjectStream(path: try file(bytes), arrayMember: "entry", maxValueBytes: maxValueBytes)
        let count = try stream.read(member: { members.append(JSON.Member($0, $1)) }, element: { index, value in
            XCTAssertEqual(index, elements.count)
            if arrayAt == nil { arrayAt = members.count }
            elements.append(value)
        })
        XCTAssertEqual(count.map { $0 == elements.count }, count == nil ? nil : true)
        if let count {
            members.insert(JSON.Member("entry", .array(elements)), at: count == 0 ? members.count : arrayAt!)
        }
        return .object(members)
    }

    func testARealBundleComesOutAsParsedEntryByEntry() throws {
        let fixture = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("shared/fixtures/synthea-sample-patient.json")
        let bytes = Array(try Data(contentsOf: fixture))
        let parsed = try JSON.parse(bytes: bytes)
        XCTAssertEqual(try reassembled(bytes), parsed)
        XCTAssertGreaterThan(parsed["entry"]?.arrayValue?.count ?? 0, 10)
        // Members only: the entries are counted, not parsed.
        var keys: [String] = []
        let count = try JSONObjectStream(path: try file(bytes), arrayMember: "entry").read(member: { key, _ in keys.append(key) })
        XCTAssertEqual(count, parsed["entry"]?.arrayValue?.count)
        XCTAssertFalse(keys.contains("entry"))
    }

    func testOddButValidDocumentsComeOutAsParsed() throws {
        let documents = [
            "{}", " \n{ \"entry\" : [ ] }\n", "{\"entry\":[1,\"a,]}\",{\"x\":[{}]},null,true,-0.5e3]}",
            "{\"a\":\"\\\"}\",\"entry\":[{\"s\":\"\\\\\"}],\"z\":{\"entry\":[]}}", "\u{FEFF}{\"resourceType\":\"Bundle\",\"entry\":[{\"k\":\"ä€😀\"}]}",
            "{\"entry\":{\"not\":\"an array\"}}",
        ]
        for text in documents {
            XCTAssertEqual(try reassembled(Array(text.utf8)), try JSON.parse(text), text)
        }
    }

    func testBadDocumentsAreRefusedAtTheLineAndColumnTheParserNames() throws {
        let documents = [
            "", "{\"entry\":[1,]}", "{\"entry\":[1 2]}", "{\"entry\":[{\"a\":1,}]}", "{\"a\":1,\n\"a\":2}", "{\"entry\":[1]",
            "{\"entry\":[\"x]}", "{\"a\" 1}", "{\"entry\":[01]}", "{\"entry\":[tru]}", "{}\n x", "{\"a\":1}{", "{\"entry\":[\n  {\"b\":\n  nope}]}",
            "{\"entry\":[{\"s\":\"\u{1}\"}]}", "{\"x\":\"ü\",\"entry\":[1,\n\"é\" ,{\"q\": [}]}", "{\"a\":1 \"b\":2}",
        ]
        for text in documents {
            let expected: JSONSyntaxError?
            do { _ = try JSON.parse(text); expected = nil } catch { expected = error as? JSONSyntaxError }
            guard let expected else {
                XCTFail("the parser accepts \(text)")
                continue
            }
            XCTAssertThrowsError(try reassembled(Array(text.utf8)), text) { error in
                let streamed = error as? JSONSyntaxError
                XCTAssertEqual(streamed.map { [$0.line, $0.column] }, [expected.line, expected.column], "\(text): \(error) vs \(expected)")
            }
        }
        // Valid JSON that is not an object is refused by name.
        XCTAssertThrowsError(try reassembled(Array(" [1]".utf8))) { error in
            XCTAssertEqual((error as? JSONSyntaxError).map { [$0.line, $0.column] }, [1, 2])
            XCTAssertTrue("\(error)".contains("expected a JSON object"), "\(error)")
        }
    }

    func testAValueLargerThanTheLimitIsRefusedNotRead() throws {
        let text = "{\"entry\":[\"" + String(repeating: "x", count: 5000) + "\"]}"
        XCTAssertThrowsError(try reassembled(Array(text.utf8), maxValueBytes: 1000)) { error in
            XCTAssertTrue("\(error)".contains("longer than 1000 bytes"), "\(error)")
        }
    }

    func testElementsArriveOneAtATimeAcrossBufferBoundaries() throws {
        // 3,000 entries of ~200 bytes: many 64 KiB buffers, entries split across them.
        let entries = (0..<3000).map { #"{"fullUrl":"urn:uuid:\#(UUID().uuidString.lowercased())","resource":{"resourceType":"Observation","valueString":"\#(String(repeating: "é", count: $0 % 50))"}}"# }
        let text = "{\"resourceType\":\"Bundle\",\"entry\":[" + entries.joined(separator: ",\n") + "],\"type\":\"collection\"}"
        XCTAssertEqual(try reassembled(Array(text.utf8)), try JSON.parse(text))
    }
}
