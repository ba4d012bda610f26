import SehatJSON
import Foundation

/// Builds one encounter's resources in SATUSEHAT's shape (seeds/004, US-11.4): every
/// resource carries a `sys-ids` business identifier of the credentials' organization and
/// references its patient, practitioner and encounter through `Link`s (local ids on the
/// device, rewritten to server ids when a request is built).
///
///     let b = EncounterBuilder(orgID: org, patient: p, practitioner: dr, location: poli, encounter: enc)
///     let bp = b.vital(identifier: "…", loinc: "8480-6", display: "Systolic blood pressure",
///                      value: 120, unit: "mm[Hg]", at: arrived)
public struct EncounterBuilder: Sendable {
    /// The organization bound to the credentials.
    public let orgID: String
    /// The visit's patient.
    public let patient: Link
    /// The practitioner who saw them.
    public let practitioner: Link
    /// The polyclinic.
    public let location: Link
    /// The Encounter itself.
    public let encounter: Link

    /// A builder for one visit's resources.
    public init(orgID: String, patient: Link, practitioner: Link, location: Link, encounter: Link) {
        self.orgID = orgID
        self.patient = patient
        self.practitioner = practitioner
        self.location = location
        self.encounter = encounter
    }

    /// The business identifier `http://sys-ids.kemkes.go.id/{kind}/{org}|{value}`.
    public func identifier(_ kind: String, _ value: String) -> BusinessIdentifier {
        BusinessIdentifier(system: Systems.business(kind, org: orgID), value: value)
    }

    private var subject: JSON { patient.json }
    private var encounterRef: JSON { .obj(["reference": .string(encounter.reference)]) }
    private func time(_ date: Date) -> JSON { .string(FHIRDateTime.format(date)) }

    /// The Encounter: `arrived` (only `period.start`) when `finishedAt` is nil, otherwise
    /// `finished` with the full statusHistory (arrived → in-progress → finished) and diagnoses.
    public func encounter(
        identifier value: String, classCode: String, arrivedAt: Date, inProgressAt: Date, finishedAt: Date?,
        diagnoses: [(condition: Link, rank: Int)] = []
    ) -> JSON {
        var history: [JSON] = []
        if let finishedAt {
            history = [
                .obj(["status": "arrived", "period": .obj(["start": time(arrivedAt), "end": time(inProgressAt)])]),
                .obj(["status": "in-progress", "period": .obj(["start": time(inProgressAt), "end": time(finishedAt)])]),
                .obj(["status": "finished", "period": .obj(["start": time(finishedAt), "end": time(finishedAt)])]),
            ]
        } else {
            history = [.obj(["status": "arrived", "period": .obj(["start": time(arrivedAt)])])]
        }
        let diagnosisJSON: JSON? = diagnoses.isEmpty ? nil : .array(diagnoses.map { entry in
            .obj([
                "condition": entry.condition.json,
                "use": .concept("http://terminology.hl7.org/CodeSystem/diagnosis-role", "DD", "Discharge diagnosis"),
                "rank": .int(entry.rank),
            ])
        })
        return .obj([
            "resourceType": "Encounter",
            "identifier": [identifier("encounter", value).json],
            "status": finishedAt == nil ? "arrived" : "finished",
            "class": .obj([
                "system": .string(Systems.actCode), "code": .string(classCode),
                "display": SatusehatRules.encounterClasses[classCode].map(JSON.string),
            ]),
            "subject": subject,
            "participant": [.obj([
                "type": [.concept("http://terminology.hl7.org/CodeSystem/v3-ParticipationType", "ATND", "attender")],
                "individual": practitioner.json,
            ])],
            "period": .obj(["start": time(arrivedAt), "end": finishedAt.map(time)]),
            "location": [.obj(["location": location.json])],
            "diagnosis": diagnosisJSON,
            "statusHistory": .array(history),
            "serviceProvider": .obj(["reference": .string("Organization/\(orgID)")]),
        ])
    }

    /// A vital-sign Observation (LOINC code, UCUM quantity).
    public func vital(identifier value: String, loinc: String, display: String, value quantity: Double, unit: String, at: Date) -> JSON {
        observation(identifier: value, category: ("vital-signs", "Vital Signs"), loinc: loinc, display: display, value: quantity, unit: unit, at: at, order: nil)
    }

    /// A diagnosis as an encounter-diagnosis Condition (ICD-10).
    public func condition(identifier value: String, icd10: String, display: String, clinicalStatus: String, at: Date) -> JSON {
        .obj([
            "resourceType": "Condition",
            "identifier": [identifier("condition", value).json],
            "clinicalStatus": .concept("http://terminology.hl7.org/CodeSystem/condition-clinical", clinicalStatus, clinicalStatus.capitalized),
            "category": [.concept("http://terminology.hl7.org/CodeSystem/condition-category", "encounter-diagnosis", "Encounter Diagnosis")],
            "code": .concept(Systems.icd10, icd10, display),
            "subject": subject,
            "encounter": encounterRef,
            "onsetDateTime": time(at),
            "recordedDate": time(at),
        ])
    }

    /// A Procedure coded in ICD-9-CM.
    public func procedure(identifier value: String, icd9cm: String, display: String, start: Date, end: Date) -> JSON {
        .obj([
            "resourceType": "Procedure",
            "identifier": [identifier("procedure", value).json],
            "status": "completed",
            "category": .concept(Systems.snomed, "103693007", "Diagnostic procedure"),
            "code": .concept(Systems.icd9cm, icd9cm, display),
            "subject": subject,
            "encounter": encounterRef,
            "performedPeriod": .obj(["start": time(start), "end": time(end)]),
            "performer": [.obj(["actor": practitioner.json])],
        ])
    }

    /// The drug of a prescription, coded in KFA.
    public func medication(identifier value: String, kfa: String, display: String) -> JSON {
        .obj([
            "resourceType": "Medication",
            "identifier": [identifier("medication", value).json],
            "code": .concept(Systems.kfa, kfa, display),
            "status": "active",
            "extension": [EncounterBuilder.medicationType("NC", "Non-compound")],
        ])
    }

    /// A compound (racikan): MedicationType `C` and its ingredients, each by its KFA code.
    public func compoundMedication(identifier value: String, display: String, ingredients: [(kfa: String, display: String)]) -> JSON {
        .obj([
            "resourceType": "Medication",
            "identifier": [identifier("medication", value).json],
            "code": .obj(["text": .string(display)]),
            "status": "active",
            "ingredient": .array(ingredients.map { .obj(["itemCodeableConcept": .concept(Systems.kfa, $0.kfa, $0.display), "isActive": true]) }),
            "extension": [EncounterBuilder.medicationType("C", "Compound")],
        ])
    }

    /// SATUSEHAT's mandatory MedicationType extension (RuleNumber 10031): `NC` non-compound,
    /// `C` compound (racikan), `SD`, `EP`.
    static func medicationType(_ code: String, _ display: String) -> JSON {
        .obj([
            "url": "https://fhir.kemkes.go.id/r4/StructureDefinition/MedicationType",
            "valueCodeableConcept": .concept("http://terminology.kemkes.go.id/CodeSystem/medication-type", code, display),
        ])
    }

    /// A prescription line.
    public func medicationRequest(identifier value: String, medication: Link, dosage: String, quantity: Double, unit: String, at: Date) -> JSON {
        .obj([
            "resourceType": "MedicationRequest",
            "identifier": [identifier("prescription", encounter.id).json, identifier("prescription-item", value).json],
            "status": "completed",
            "intent": "order",
            "category": [.concept("http://terminology.hl7.org/CodeSystem/medicationrequest-category", "outpatient", "Outpatient")],
            "medicationReference": medication.json,
            "subject": subject,
            "encounter": encounterRef,
            "authoredOn": time(at),
            "requester": practitioner.json,
            "dosageInstruction": [.obj(["sequence": 1, "text": .string(dosage)])],
            "dispenseRequest": .obj(["quantity": .quantity(quantity, unit: unit)]),
        ])
    }

    /// The pharmacy handing over a prescription line.
    public func medicationDispense(identifier value: String, medication: Link, request: Link, quantity: Double, unit: String, at: Date) -> JSON {
        .obj([
            "resourceType": "MedicationDispense",
            "identifier": [identifier("prescription", encounter.id).json, identifier("prescription-item", value).json],
            "status": "completed",
            "category": .concept("http://terminology.hl7.org/fhir/CodeSystem/medicationdispense-category", "outpatient", "Outpatient"),
            "medicationReference": medication.json,
            "subject": subject,
            "context": encounterRef,
            "performer": [.obj(["actor": practitioner.json])],
            "location": location.json,
            "authorizingPrescription": [.obj(["reference": .string(request.reference)])],
            "quantity": .quantity(quantity, unit: unit),
            "whenHandedOver": time(at),
        ])
    }

    /// A laboratory order.
    public func serviceRequest(identifier value: String, loinc: String, display: String, at: Date) -> JSON {
        .obj([
            "resourceType": "ServiceRequest",
            "identifier": [identifier("servicerequest", value).json],
            "status": "active",
            "intent": "original-order",
            "priority": "routine",
            "category": [.concept(Systems.snomed, "108252007", "Laboratory procedure")],
            "code": .concept(Systems.loinc, loinc, display),
            "subject": subject,
            "encounter": encounterRef,
            "occurrenceDateTime": time(at),
            "authoredOn": time(at),
            "requester": practitioner.json,
        ])
    }

    /// A laboratory result value, based on its order.
    public func labObservation(identifier value: String, loinc: String, display: String, value quantity: Double, unit: String, at: Date, order: Link) -> JSON {
        observation(identifier: value, category: ("laboratory", "Laboratory"), loinc: loinc, display: display, value: quantity, unit: unit, at: at, order: order)
    }

    private func observation(
        identifier value: String, category: (code: String, display: String), loinc: String, display: String, value quantity: Double,
        unit: String, at: Date, order: Link?
    ) -> JSON {
        .obj([
            "resourceType": "Observation",
            "identifier": [identifier("observation", value).json],
            "status": "final",
            "category": [.concept("http://terminology.hl7.org/CodeSystem/observation-category", category.code, category.display)],
            "code": .concept(Systems.loinc, loinc, display),
            "subject": subject,
            "performer": [practitioner.json],
            "encounter": encounterRef,
            "effectiveDateTime": time(at),
            "issued": time(at),
            "basedOn": order.map { [.obj(["reference": .string($0.reference)])] },
            "valueQuantity": .quantity(quantity, unit: unit),
        ])
    }

    /// A lab report's business identifier: SATUSEHAT's `…/diagnostic/{org}/lab` system.
    public func labReportIdentifier(_ value: String) -> BusinessIdentifier {
        BusinessIdentifier(system: Systems.business("diagnostic", org: orgID) + "/lab", value: value)
    }

    /// The laboratory report that groups results for an order.
    public func diagnosticReport(identifier value: String, loinc: String, display: String, at: Date, order: Link, results: [Link], conclusion: String?) -> JSON {
        .obj([
            "resourceType": "DiagnosticReport",
            "identifier": [labReportIdentifier(value).json],
            "basedOn": [.obj(["reference": .string(order.reference)])],
            "status": "final",
            "category": [.concept("http://terminology.hl7.org/CodeSystem/v2-0074", "LAB", "Laboratory")],
            "code": .concept(Systems.loinc, loinc, display),
            "subject": subject,
            "encounter": encounterRef,
            "effectiveDateTime": time(at),
            "issued": time(at),
            "performer": [practitioner.json],
            "result": .array(results.map { .obj(["reference": .string($0.reference)]) }),
            "conclusion": conclusion.map(JSON.string),
        ])
    }

    /// The encounter summary (Resume Medis) as a Composition; `entries` are the resources it cites.
    public func composition(identifier value: String, title: String, text: String, at: Date, entries: [Link]) -> JSON {
        let div = "<div xmlns=\"http://www.w3.org/1999/xhtml\">\(EncounterBuilder.escapeXML(text))</div>"
        return .obj([
            "resourceType": "Composition",
            "identifier": identifier("composition", value).json,
            "status": "final",
            "type": .concept(Systems.loinc, "18842-5", "Discharge summary"),
            "category": [.concept(Systems.loinc, "LP173421-1", "Report")],
            "subject": subject,
            "encounter": encounterRef,
            "date": time(at),
            "author": [practitioner.json],
            "title": .string(title),
            "custodian": .obj(["reference": .string("Organization/\(orgID)")]),
            "section": [.obj([
                "title": .string(title),
                "text": .obj(["status": "generated", "div": .string(div)]),
                "entry": entries.isEmpty ? nil : .array(entries.map { .obj(["reference": .string($0.reference)]) }),
            ])],
        ])
    }

    static func escapeXML(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;")
    }
}
