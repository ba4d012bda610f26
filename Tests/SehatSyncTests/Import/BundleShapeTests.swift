import Foundation
import SehatFHIR
import SehatJSON
import XCTest

@testable import SehatSync

/// A bundle that is not what it claims is refused before anything is stored, naming the entry
/// index, the path, what was found and what was expected.
final class BundleShapeTests: XCTestCase {
    private static let patient = #"{"resourceType": "Patient", "name": [{"text": "A"}]}"#
    private static let uuid = "urn:uuid:61ebe359-bfdc-4613-8bf2-c5e300945f0a"

    private func bundle(type: String? = "transaction", entries: String) -> String {
        let typeMember = type.map { #""type": "\#($0)", "# } ?? ""
        return #"{"resourceType": "Bundle", \#(typeMember)"entry": \#(entries)}"#
    }

    func testMalformedBundlesAreRefusedWithTheEntryAndWhatWasExpected() throws {
        let clinic = try TestClinic(profile: .fhir, register: false)
        defer { clinic.remove() }
        let p = BundleShapeTests.patient
        let cases: [(String, String, String, String)] = [
            ("missing type", bundle(type: nil, entries: "[{\"resource\": \(p)}]"), "type", "is required (expected transaction, batch or collection)"),
            ("searchset", bundle(type: "searchset", entries: "[{\"resource\": \(p)}]"), "type", "\"searchset\" cannot be imported (expected"),
            ("entry is an object", bundle(entries: "{\"resource\": \(p)}"), "entry", "must be an array of entries, got an object"),
            ("no entries", bundle(entries: "[]"), "entry", "is empty"),
            ("a DELETE", bundle(entries: #"[{"request": {"method": "DELETE", "url": "Patient/1"}}]"#), "entry[0].request.method",
             "\"DELETE\" cannot be imported (expected POST or PUT)"),
            ("no resource", bundle(entries: "[{\"fullUrl\": \"\(BundleShapeTests.uuid)\"}]"), "entry[0].resource", "is required"),
            ("unknown type", bundle(entries: #"[{"resource": {"resourceType": "Foo"}}]"#), "entry[0].resource.resourceType",
             "\"Foo\" is not a FHIR R4 resource type"),
            ("not a UUID", bundle(entries: "[{\"fullUrl\": \"urn:uuid:not-a-uuid\", \"resource\": \(p)}]"), "entry[0].fullUrl",
             "is not a UUID URN (expected urn:uuid: and 8-4-4-4-12 hex digits)"),
            ("duplicate fullUrl", bundle(entries: "[{\"fullUrl\": \"\(BundleShapeTests.uuid)\", \"resource\": \(p)}, {\"fullUrl\": \"\(BundleShapeTests.uuid)\", \"resource\": \(p)}]"),
             "entry[1].fullUrl", "is also the fullUrl of entry[0]"),
            ("numeric reference", bundle(entries: #"[{"resource": {"resourceType": "Observation", "status": "final", "code": {"text": "x"}, "subject": {"reference": 42}}}]"#),
             "entry[0].resource.subject.reference", "must be a string such as \"Patient/123\""),
            ("reference in a list", bundle(entries: #"[{"resource": {"resourceType": "DiagnosticReport", "status": "final", "code": {"text": "x"}, "result": [{"reference": "Observation/1"}, {"reference": null}]}}]"#),
             "entry[0].resource.result[1].reference", "must be a string"),
            ("nested bundle", bundle(entries: #"[{"resource": {"resourceType": "Bundle", "type": "collection"}}]"#), "entry[0].resource.resourceType",
             "a Bundle inside a Bundle"),
            ("not an object", "[1, 2]", "(document)", "must be a FHIR Bundle (a JSON object), got an array"),
        ]
        let before = try clinic.tableCounts()
        for (name, text, field, reason) in cases {
            XCTAssertThrowsError(try clinic.client.importBundle(json: text), name) { error in
                let refusal = error as? FieldError
                XCTAssertEqual(refusal?.field, field, "\(name): \(error)")
                XCTAssertTrue(refusal?.reason.contains(reason) == true, "\(name): \(error)")
            }
            // The same bundle read from a file, entry by entry, is refused the same way.
            let file = clinic.directory + "/shape.json"
            try text.write(toFile: file, atomically: true, encoding: .utf8)
            XCTAssertThrowsError(try clinic.client.importBundle(file: file), name) { error in
                let refusal = error as? FieldError
                XCTAssertEqual(refusal?.field, field, "\(name), from a file: \(error)")
                let streamed = name == "not an object" ? "expected a JSON object ('{') at the start of the document" : reason
                XCTAssertTrue(refusal?.reason.contains(streamed) == true, "\(name), from a file: \(error)")
            }
        }
        // Bad JSON in a file is named by line and column, and writes nothing either.
        let broken = clinic.directory + "/broken.json"
        try bundle(entries: "[{\"resource\": \(p)},\n {\"resource\": {\"resourceType\": \"Patient\",}}]").write(toFile: broken, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try clinic.client.importBundle(file: broken)) { error in
            XCTAssertEqual((error as? FieldError)?.field, "(document)")
            XCTAssertTrue("\(error)".contains("line 2, column 42"), "\(error)")
        }
        XCTAssertEqual(try clinic.tableCounts(), before)
        // A Consent's provision.data.reference is a Reference object, not a bad reference.
        XCTAssertNil(BundleImporter.badReference(in: try JSON.parse(#"{"provision": {"data": [{"meaning": "related", "reference": {"reference": "Patient/1"}}]}}"#)))
    }

    func testEntriesAreBoundedAndSoIsTheText() throws {
        let entries = Array(repeating: JSON.obj(["resource": .obj(["resourceType": "Basic"])]), count: InputLimits.bundleEntries + 1)
        XCTAssertThrowsError(try BundleImporter.checkShape(.obj(["resourceType": "Bundle", "type": "collection", "entry": .array(entries)]))) { error in
            XCTAssertEqual((error as? FieldError)?.reason, "has 100001 entries; the limit is 100000")
        }
    }

    func testAFiftyThousandLongReferenceChainIsOrderedWithoutRecursion() {
        // Each resource references the one before it; the deepest dependency must come first.
        let count = 50_000
        let resources = (0..<count).map { i -> (id: String, json: JSON) in
            var json = JSON.obj(["resourceType": "Basic"])
            if i > 0 { json["subject"] = .obj(["reference": .string("Basic/b\(i - 1)")]) }
            return ("b\(i)", json)
        }.reversed()
        let ordered = BundleImporter.parentsFirst(Array(resources))
        XCTAssertEqual(ordered.count, count)
        XCTAssertEqual(ordered.first?.id, "b0")
        XCTAssertEqual(ordered.last?.id, "b\(count - 1)")
        // And every resource comes after the one it references.
        var position: [String: Int] = [:]
        for (index, resource) in ordered.enumerated() { position[resource.id] = index }
        XCTAssertTrue((1..<count).allSatisfy { position["b\($0)"]! > position["b\($0 - 1)"]! })
    }

    func testACycleIsBrokenWhereItIsMet() {
        let a = JSON.obj(["resourceType": "Basic", "subject": .obj(["reference": "Basic/b"])])
        let b = JSON.obj(["resourceType": "Basic", "subject": .obj(["reference": "Basic/a"])])
        XCTAssertEqual(BundleImporter.parentsFirst([("a", a), ("b", b)]).map(\.id), ["b", "a"])
    }
}

/// An import's local ids: one random prefix, the entry's index in the last group.
final class ImportIDsTests: XCTestCase {
    func testIdsAreDistinctUUIDsAndTheSameForTheSameIndex() {
        let ids = ImportIDs(base: UUID().uuidString.lowercased())
        let many = (0..<70_000).map { ids[$0] }
        XCTAssertEqual(Set(many).count, many.count)
        XCTAssertTrue(many.allSatisfy { BundleImporter.isUUID($0) }, "every id is a UUID, so urn:uuid: of it is a valid fullUrl")
        XCTAssertEqual(ids[65_535], many[65_535])
        XCTAssertTrue(ids[255].hasSuffix("0000000000ff"))
        // Two imports never share an id: their prefixes differ.
        XCTAssertNotEqual(ImportIDs(base: UUID().uuidString.lowercased())[0], ids[0])
    }
}
