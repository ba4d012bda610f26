import SehatJSON

/// FHIR's way to withdraw a record that was sent in error: the same resource, updated to
/// `entered-in-error`, rather than deleted (a record others may have read stays readable as
/// withdrawn).
///
///     let withdrawn = Withdrawal.enteredInError(observation)   // status: entered-in-error
public enum Withdrawal {
    /// Types whose `status` takes `entered-in-error`.
    static let statusTypes: Set<String> = [
        "Encounter", "Observation", "Procedure", "Medication", "MedicationRequest", "MedicationDispense", "ServiceRequest",
        "DiagnosticReport", "Composition",
    ]

    /// The resource withdrawn; nil for a type that cannot be withdrawn this way. A Condition
    /// takes `verificationStatus: entered-in-error` and loses its `clinicalStatus` (FHIR R4
    /// con-5: a Condition entered in error has no clinical status).
    public static func enteredInError(_ resource: JSON) -> JSON? {
        guard let type = resource["resourceType"]?.stringValue else { return nil }
        var withdrawn = resource
        if type == "Condition" {
            withdrawn["clinicalStatus"] = nil
            withdrawn["verificationStatus"] = .obj([
                "coding": [.obj(["system": "http://terminology.hl7.org/CodeSystem/condition-ver-status", "code": "entered-in-error",
                                 "display": "Entered in Error"])],
            ])
            return withdrawn
        }
        guard statusTypes.contains(type) else { return nil }
        withdrawn["status"] = "entered-in-error"
        return withdrawn
    }
}
