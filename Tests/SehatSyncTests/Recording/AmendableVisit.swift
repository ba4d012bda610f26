import Foundation
import SehatFHIR
import SehatJSON
import SehatSandbox

@testable import SehatSync

/// The schema's example visit with its systolic pressure set, for amending it again and again;
/// and that Observation as a sandbox holds it.
enum AmendableVisit {
    static let example = try! String(contentsOf: TestClinic.repositoryRoot.appendingPathComponent("Schemas/examples/encounter.json"), encoding: .utf8)
    static let number = "ENC-20251226-0001"

    static func document(systolic: Int) throws -> EncounterDocument {
        var json = try JSON.parse(example)
        var vitals = json["vitals"]!.arrayValue!
        vitals[0]["value"] = .int(systolic)
        json["vitals"] = .array(vitals)
        return try EncounterDocument(json: json.text)
    }

    /// Every systolic Observation the sandbox holds.
    static func systolic(on sandbox: Sandbox) -> [JSON] {
        sandbox.resources(ofType: "Observation").filter { $0.value(at: "code.coding")?[0]?["code"]?.stringValue == "8480-6" }
    }
}
