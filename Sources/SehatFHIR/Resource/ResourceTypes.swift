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

    /// The search parameter that finds a resource of `type` by the SDK's business identifier.
    public static func searchParameter(for type: String) -> String { hasIdentifierList(type) ? "identifier" : "_tag" }
}
