import SehatJSON
/// Facts about FHIR R4 resource types that the generic path needs.
public enum ResourceTypes {
    /// R4 types with no `identifier` list (none at all, or a single `identifier`): the SDK
    /// marks these with a `meta.tag` instead, and finds them again by `_tag`.
    public static let withoutIdentifierList: Set<String> = [
        "Binary", "Bundle", "CapabilityStatement", "Composition", "Linkage", "MessageHeader", "OperationOutcome",
        "Parameters", "Provenance", "QuestionnaireResponse", "Subscription", "TerminologyCapabilities",
    ]

    /// Whether `type` carries an `identifier` list the SDK can add its own identifier to.
    public static func hasIdentifierList(_ type: String) -> Bool { !withoutIdentifierList.contains(type) }

    /// The search parameter that finds `resource` by `identifier`: `identifier` when the
    /// resource carries it as an identifier (a list, or the single one of a Composition),
    /// `_tag` when it carries it as a `meta.tag`.
    public static func searchParameter(finding identifier: BusinessIdentifier, in resource: JSON?) -> String {
        guard let resource else { return "identifier" }
        let identifiers = resource["identifier"]?.arrayValue ?? resource["identifier"].map { [$0] } ?? []
        if identifiers.contains(where: { $0["system"]?.stringValue == identifier.system && $0["value"]?.stringValue == identifier.value }) {
            return "identifier"
        }
        let tags = resource.value(at: "meta.tag")?.arrayValue ?? []
        return tags.contains { $0["system"]?.stringValue == identifier.system && $0["code"]?.stringValue == identifier.value } ? "_tag" : "identifier"
    }
}
