import SehatJSON
/// Facts about FHIR R4 resource types that the generic path needs.
public enum ResourceTypes {
    /// R4 types with no `identifier` list (none at all, or a single `identifier`): the SDK
    /// marks these with a `meta.tag` instead, and finds them again by `_tag`.
    public static let withoutIdentifierList: Set<String> = [
        "Binary", "Bundle", "CapabilityStatement", "Composition", "Linkage", "MessageHeader", "OperationOutcome",
        "Parameters", "Provenance", "QuestionnaireResponse", "Subscription", "TerminologyCapabilities",
    ]

    /// Every resource type of FHIR R4 (4.0.1): a name outside it is not a resource any R4
    /// server has an endpoint for.
    public static let r4: Set<String> = [
        "Account", "ActivityDefinition", "AdverseEvent", "AllergyIntolerance", "Appointment", "AppointmentResponse",
        "AuditEvent", "Basic", "Binary", "BiologicallyDerivedProduct", "BodyStructure", "Bundle", "CapabilityStatement",
        "CarePlan", "CareTeam", "CatalogEntry", "ChargeItem", "ChargeItemDefinition", "Claim", "ClaimResponse",
        "ClinicalImpression", "CodeSystem", "Communication", "CommunicationRequest", "CompartmentDefinition", "Composition",
        "ConceptMap", "Condition", "Consent", "Contract", "Coverage", "CoverageEligibilityRequest",
        "CoverageEligibilityResponse", "DetectedIssue", "Device", "DeviceDefinition", "DeviceMetric", "DeviceRequest",
        "DeviceUseStatement", "DiagnosticReport", "DocumentManifest", "DocumentReference", "EffectEvidenceSynthesis",
        "Encounter", "Endpoint", "EnrollmentRequest", "EnrollmentResponse", "EpisodeOfCare", "EventDefinition", "Evidence",
        "EvidenceVariable", "ExampleScenario", "ExplanationOfBenefit", "FamilyMemberHistory", "Flag", "Goal",
        "GraphDefinition", "Group", "GuidanceResponse", "HealthcareService", "ImagingStudy", "Immunization",
        "ImmunizationEvaluation", "ImmunizationRecommendation", "ImplementationGuide", "InsurancePlan", "Invoice", "Library",
        "Linkage", "List", "Location", "Measure", "MeasureReport", "Media", "Medication", "MedicationAdministration",
        "MedicationDispense", "MedicationKnowledge", "MedicationRequest", "MedicationStatement", "MedicinalProduct",
        "MedicinalProductAuthorization", "MedicinalProductContraindication", "MedicinalProductIndication",
        "MedicinalProductIngredient", "MedicinalProductInteraction", "MedicinalProductManufactured",
        "MedicinalProductPackaged", "MedicinalProductPharmaceutical", "MedicinalProductUndesirableEffect", "MessageDefinition",
        "MessageHeader", "MolecularSequence", "NamingSystem", "NutritionOrder", "Observation", "ObservationDefinition",
        "OperationDefinition", "OperationOutcome", "Organization", "OrganizationAffiliation", "Parameters", "Patient",
        "PaymentNotice", "PaymentReconciliation", "Person", "PlanDefinition", "Practitioner", "PractitionerRole", "Procedure",
        "Provenance", "Questionnaire", "QuestionnaireResponse", "RelatedPerson", "RequestGroup", "ResearchDefinition",
        "ResearchElementDefinition", "ResearchStudy", "ResearchSubject", "RiskAssessment", "RiskEvidenceSynthesis", "Schedule",
        "SearchParameter", "ServiceRequest", "Slot", "Specimen", "SpecimenDefinition", "StructureDefinition", "StructureMap",
        "Subscription", "Substance", "SubstanceNucleicAcid", "SubstancePolymer", "SubstanceProtein",
        "SubstanceReferenceInformation", "SubstanceSourceMaterial", "SubstanceSpecification", "SupplyDelivery",
        "SupplyRequest", "Task", "TerminologyCapabilities", "TestReport", "TestScript", "ValueSet", "VerificationResult",
        "VisionPrescription"
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
