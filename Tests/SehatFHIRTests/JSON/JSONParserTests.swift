import Foundation
import XCTest

@testable import SehatFHIR
import SehatJSON

final class JSONParserTests: XCTestCase {
    func testKeepsKeyOrderAndNumberText() throws {
        let text = #"{"z":1,"a":[1.50,-0,2e10,true,false,null],"m":{"k":"v"}}"#
        let json = try JSON.parse(text)
        XCTAssertEqual(json.members?.map(\.key), ["z", "a", "m"])
        XCTAssertEqual(json["a"]?[0], .number("1.50"))
        XCTAssertEqual(json.text, text)
    }

    func testStringEscapesAndUnicode() throws {
        let json = try JSON.parse(#"["a\"b\\c\/d\n\t", "\u00e9\ud83d\ude91", "Jl. Merdeka — ✓"]"#)
        XCTAssertEqual(json[0]?.stringValue, "a\"b\\c/d\n\t")
        XCTAssertEqual(json[1]?.stringValue, "é🚑")
        XCTAssertEqual(json[2]?.stringValue, "Jl. Merdeka — ✓")
        XCTAssertEqual(try JSON.parse(json.text), json)
    }

    /// Strings without an escape are made from their bytes at once; the first escape switches
    /// to building piece by piece: the same text either way, wherever the escapes fall.
    func testEscapesAnywhereInAString() throws {
        let cases: [(String, String)] = [
            (#""""#, ""), (#""\n""#, "\n"), (#""\"a""#, "\"a"), (#""a\"""#, "a\""), (#""é\tü""#, "é\tü"),
            (#""\\\\""#, "\\\\"), (#""Jl. \u004Derdeka\u0021 ✓""#, "Jl. Merdeka! ✓"), (#""plain text, no escape""#, "plain text, no escape"),
        ]
        for (text, expected) in cases {
            XCTAssertEqual(try JSON.parse(text).stringValue, expected, text)
            XCTAssertEqual(try JSON.parse(JSON.string(expected).text).stringValue, expected, text)
        }
    }

    func testSyntaxErrorsNameLineAndColumn() {
        func error(_ text: String) -> JSONSyntaxError? {
            do { _ = try JSON.parse(text); return nil } catch { return error as? JSONSyntaxError }
        }
        XCTAssertEqual(error("{\n  \"a\": [1,,2]\n}").map { [$0.line, $0.column] }, [2, 11])
        XCTAssertEqual(error("{\"a\": 1,}").map { [$0.line, $0.column] }, [1, 9])
        XCTAssertEqual(error("{\"é\": tru}").map { [$0.line, $0.column] }, [1, 7])
        XCTAssertEqual(error("{\"a\": 1} x")?.reason, "unexpected 'x' after the end of the value")
        XCTAssertEqual(error("")?.reason, "the document is empty")
        XCTAssertEqual(error("[01]")?.reason, "a number may not have a leading zero")
        XCTAssertEqual(error("{\"a\": \"open")?.line, 1)
        XCTAssertNotNil(error("\"\u{01}\""))
        XCTAssertNotNil(error("\"\\ud800\""))
        XCTAssertNotNil(error(String(repeating: "[", count: 600) + String(repeating: "]", count: 600)))
        XCTAssertEqual(error("{\n\"a\" 1}")?.description, "invalid JSON at line 2, column 5: expected ':' after member name \"a\"")
    }

    func testRejectsInvalidUTF8() {
        XCTAssertThrowsError(try JSON.parse(bytes: [0x22, 0xC3, 0x28, 0x22]))
        XCTAssertThrowsError(try JSON.parse(bytes: [0x22, 0xED, 0xA0, 0x80, 0x22]), "UTF-8 encoded surrogate")
    }

    func testSubscriptSetAndPath() throws {
        var json = try JSON.parse(#"{"subject":{"reference":"Patient/1"}}"#)
        XCTAssertEqual(json.value(at: "subject.reference")?.stringValue, "Patient/1")
        XCTAssertEqual(json.value(at: "subject..reference")?.stringValue, "Patient/1", "empty steps are skipped")
        XCTAssertEqual(json.value(at: "subject"), .obj(["reference": "Patient/1"]))
        XCTAssertNil(json.value(at: "subject.reference.more"))
        XCTAssertNil(json.value(at: "other.reference"))
        json["id"] = "abc"
        json["subject"] = nil
        XCTAssertEqual(json.text, #"{"id":"abc"}"#)
    }

    func testDoubleFormatting() {
        XCTAssertEqual(JSON.double(120).text, "120")
        XCTAssertEqual(JSON.double(37.8).text, "37.8")
        XCTAssertEqual(JSON.double(-6.2088).text, "-6.2088")
    }

    /// A real-world bundle nobody here wrote: parse, write, and compare with Foundation's reading.
    func testSyntheaBundleRoundTripsLosslessly() throws {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("shared/fixtures/synthea-sample-patient.json")
        let data = try Data(contentsOf: url)
        let json = try JSON.parse(bytes: Array(data))
        XCTAssertEqual(json["resourceType"]?.stringValue, "Bundle")
        XCTAssertGreaterThan(json["entry"]?.arrayValue?.count ?? 0, 100)
        let ours = try JSONSerialization.jsonObject(with: Data(json.text.utf8)) as? NSDictionary
        let theirs = try JSONSerialization.jsonObject(with: data) as? NSDictionary
        XCTAssertEqual(ours, theirs)
        XCTAssertEqual(try JSON.parse(json.prettyText), json)
    }
}
