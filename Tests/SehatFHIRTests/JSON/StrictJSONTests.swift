import Foundation
import SehatJSON
import XCTest

/// What the parser refuses that a lenient one would quietly accept (issue: hostile input).
final class StrictJSONTests: XCTestCase {
    private func error(_ bytes: [UInt8]) -> JSONSyntaxError? {
        do { _ = try JSON.parse(bytes: bytes); return nil } catch { return error as? JSONSyntaxError }
    }
    private func error(_ text: String) -> JSONSyntaxError? { error(Array(text.utf8)) }

    func testARepeatedMemberNameIsRefusedAtItsLineAndColumn() throws {
        let refused = try XCTUnwrap(error("{\"patient_nik\": \"1\",\n \"patient_nik\": \"2\"}"))
        XCTAssertEqual([refused.line, refused.column], [2, 2])
        XCTAssertTrue(refused.reason.contains("\"patient_nik\" appears twice"), refused.reason)
        // Large objects use a set: the 40th name repeating the 3rd is still found.
        let members = (0..<40).map { "\"k\($0)\": \($0)" } + ["\"k3\": 0"]
        XCTAssertTrue(try XCTUnwrap(error("{" + members.joined(separator: ",") + "}")).reason.contains("\"k3\" appears twice"))
        // The same name in different objects is fine.
        XCTAssertNoThrow(try JSON.parse(#"{"a": {"id": 1}, "b": {"id": 2}}"#))
    }

    func testInvalidUTF8IsRefusedNotReplaced() {
        let inString: [UInt8] = Array(#"{"type": "f"#.utf8) + [0xFF] + Array(#"all"}"#.utf8)
        XCTAssertEqual(error(inString).map { [$0.line, $0.column] }, [1, 12])
        XCTAssertEqual(error(inString)?.reason, "invalid UTF-8")
        let overlong: [UInt8] = Array("[\"".utf8) + [0xC0, 0xAF] + Array("\"]".utf8)
        XCTAssertEqual(error(overlong)?.reason, "invalid UTF-8")
        let surrogate: [UInt8] = Array("[\"".utf8) + [0xED, 0xA0, 0x80] + Array("\"]".utf8)
        XCTAssertEqual(error(surrogate)?.reason, "invalid UTF-8")
        XCTAssertNotNil(error([0x5B, 0xFE, 0x5D]), "a stray byte outside a string")
    }

    func testNumbersFollowTheGrammarOnly() {
        for text in ["[0x10]", "[+1]", "[.5]", "[1.]", "[01]", "[NaN]", "[Infinity]", "[-]", "[1e]"] {
            XCTAssertNotNil(error(text), text)
        }
        // Huge numbers parse (their text is kept); what a field accepts is the field's business.
        XCTAssertEqual(try? JSON.parse("[1e400]")[0]?.numberText, "1e400")
    }

    func testNestingIsBoundedSoNoRecursionRunsOffTheStack() {
        let deep = String(repeating: "[", count: 101) + String(repeating: "]", count: 101)
        XCTAssertTrue(error(deep)?.reason.contains("nesting deeper than 100") == true)
        let ok = String(repeating: "[", count: 100) + String(repeating: "]", count: 100)
        XCTAssertNoThrow(try JSON.parse(ok))
        // A million open brackets: refused at the limit, not a stack overflow.
        XCTAssertNotNil(error(String(repeating: "[", count: 1_000_000)))
    }

    func testControlCharactersMustBeEscaped() {
        XCTAssertEqual(error("[\"a\u{0}b\"]")?.reason, "a control character must be escaped inside a string")
        // An escaped NUL is valid JSON; the fields that cannot hold one refuse it (InputLimits).
        XCTAssertEqual(try? JSON.parse(#"["a\u0000b"]"#)[0]?.stringValue?.unicodeScalars.count, 3)
    }
}
