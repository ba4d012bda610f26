import XCTest

@testable import SehatFHIR
import SehatJSON

final class ReferenceTests: XCTestCase {
    func testClassifiesReferenceForms() {
        XCTAssertEqual(FHIRReference("Patient/P02478375538"), .relative(type: "Patient", id: "P02478375538"))
        XCTAssertEqual(FHIRReference("Encounter/abc/_history/2"), .relative(type: "Encounter", id: "abc"))
        XCTAssertEqual(FHIRReference("urn:uuid:9f1c"), .urn("urn:uuid:9f1c"))
        XCTAssertEqual(FHIRReference("Practitioner?identifier=http://hl7.org/fhir/sid/us-npi|9999962229"),
                       .conditional(type: "Practitioner", query: "identifier=http://hl7.org/fhir/sid/us-npi|9999962229"))
        XCTAssertEqual(FHIRReference("https://example.org/fhir/Patient/1"), .other("https://example.org/fhir/Patient/1"))
        XCTAssertEqual(FHIRReference("#contained"), .other("#contained"))
        XCTAssertEqual(FHIRReference("patient/1"), .other("patient/1"))
    }

    func testConditionalIdentifierIsDecoded() {
        let ref = FHIRReference("Organization?identifier=https%3A%2F%2Fgithub.com%2Fsynthetichealth%2Fsynthea%7C12c9")
        XCTAssertEqual(ref.conditionalIdentifier?.system, "https://github.com/synthetichealth/synthea")
        XCTAssertEqual(ref.conditionalIdentifier?.value, "12c9")
    }

    func testScansEveryReferenceWithItsPath() throws {
        let json = try JSON.parse(#"""
            {"resourceType":"DiagnosticReport","subject":{"reference":"Patient/p"},"result":[{"reference":"Observation/a"},{"reference":"Observation/b"}],
             "contained":[{"resourceType":"Observation","subject":{"reference":"Patient/inner"}}],"code":{"text":"reference"}}
            """#)
        XCTAssertEqual(json.references().map(\.path),
                       ["subject.reference", "result[0].reference", "result[1].reference", "contained[0].subject.reference"])
        XCTAssertEqual(json.references().last?.reference, .relative(type: "Patient", id: "inner"))
    }

    /// References inside `contained` resources leave the device with them, so they are
    /// rewritten too (a contained ServiceRequest's `urn:uuid:` subject, as in Synthea's
    /// ExplanationOfBenefit); `#id` references to a contained resource stay as they are.
    func testContainedReferencesAreRewrittenToo() throws {
        let stored = try JSON.parse(#"""
            {"resourceType":"ExplanationOfBenefit","contained":[{"resourceType":"ServiceRequest","id":"referral","subject":{"reference":"urn:uuid:p1"}}],
             "referral":{"reference":"#referral"},"patient":{"reference":"urn:uuid:p1"}}
            """#)
        let sent = stored.rewritingReferences { ref in ref == .urn("urn:uuid:p1") ? "Patient/server-p1" : nil }
        XCTAssertEqual(sent.value(at: "contained")?[0]?.value(at: "subject.reference")?.stringValue, "Patient/server-p1")
        XCTAssertEqual(sent.value(at: "patient.reference")?.stringValue, "Patient/server-p1")
        XCTAssertEqual(sent.value(at: "referral.reference")?.stringValue, "#referral")
    }

    func testRewritesACopyOnly() throws {
        let stored = try JSON.parse(#"{"subject":{"reference":"Patient/local-1","display":"Budi"},"basedOn":[{"reference":"ServiceRequest/local-2"}]}"#)
        let sent = stored.rewritingReferences { ref in
            if case .relative(let type, let id) = ref, id.hasPrefix("local-") { return "\(type)/server-\(id.dropFirst(6))" }
            return nil
        }
        XCTAssertEqual(sent.value(at: "subject.reference")?.stringValue, "Patient/server-1")
        XCTAssertEqual(sent.value(at: "subject.display")?.stringValue, "Budi")
        XCTAssertEqual(sent["basedOn"]?[0]?["reference"]?.stringValue, "ServiceRequest/server-2")
        XCTAssertEqual(stored.value(at: "subject.reference")?.stringValue, "Patient/local-1")
    }
}

final class ResourceTypesTests: XCTestCase {
    func testTheSearchFollowsHowTheResourceIsMarked() throws {
        let id = BusinessIdentifier(system: "urn:x", value: "1")
        let listed = try JSON.parse(#"{"resourceType":"Observation","identifier":[{"system":"a","value":"b"},{"system":"urn:x","value":"1"}]}"#)
        let single = try JSON.parse(#"{"resourceType":"Composition","identifier":{"system":"urn:x","value":"1"}}"#)
        let tagged = try JSON.parse(#"{"resourceType":"Provenance","meta":{"tag":[{"system":"urn:x","code":"1"}]}}"#)
        XCTAssertEqual(ResourceTypes.searchParameter(finding: id, in: listed), "identifier")
        XCTAssertEqual(ResourceTypes.searchParameter(finding: id, in: single), "identifier")
        XCTAssertEqual(ResourceTypes.searchParameter(finding: id, in: tagged), "_tag")
        XCTAssertFalse(ResourceTypes.hasIdentifierList("Provenance"))
        XCTAssertTrue(ResourceTypes.hasIdentifierList("ExplanationOfBenefit"))
    }
}
