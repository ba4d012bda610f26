import Foundation
import SehatFHIR
import SehatJSON
import SehatStore

/// What recording an encounter produced.
public struct RecordedEncounter: Sendable, Equatable {
    /// The encounter's local id.
    public let encounterID: String
    /// Its business identifier value (the clinic's number, or the local id).
    public let number: String
    /// Every resource stored, encounter first.
    public let resourceIDs: [String]
    /// Every outbox item queued, in sequence.
    public let outboxItemIDs: [Int64]
    /// Why the registry says the practitioner's STR was not valid on the visit's date, when
    /// it does (and the device's STR check is `warn`); kept with the encounter.
    public internal(set) var strWarning: String? = nil
}

/// Turns an `EncounterDocument` into SATUSEHAT resources and their outbox items, inside the
/// caller's transaction. The groups's shape, from DESIGN.md: the Encounter is created
/// `arrived`; each clinical resource follows it; the closing `finished` update waits for
/// everything recorded within the visit; the Composition (summary) comes last.
struct EncounterRecorder {
    let context: RecordContext

    func record(_ doc: EncounterDocument) throws -> RecordedEncounter {
        let conn = context.connection
        guard let patient = try conn.queryFirst("SELECT local_id, name FROM patients WHERE nik = ?", [.text(doc.patientNIK)]) else {
            throw FieldError("patient_nik", "no patient with NIK \(maskNIK(doc.patientNIK)) is registered on this device (register the patient first)")
        }
        guard let practitioner = try conn.queryFirst("SELECT local_id, name FROM practitioners WHERE nik = ?", [.text(doc.practitionerNIK)]) else {
            throw FieldError("practitioner_nik", "no practitioner with NIK \(maskNIK(doc.practitionerNIK)) is registered on this device (register the practitioner first)")
        }
        guard let location = try conn.queryFirst("SELECT local_id, name FROM locations WHERE code = ?", [.text(doc.locationCode)]) else {
            throw FieldError("location_code", "no location with code \(doc.locationCode) is registered on this device (register the location first)")
        }
        let encounterID = context.newID()
        let number = doc.number ?? encounterID
        if let existing = try conn.scalar("SELECT local_id FROM encounters WHERE number = ?", [.text(number)]).string {
            throw FieldError("number", "encounter \(number) is already recorded (local id \(existing))")
        }
        let b = EncounterBuilder(
            orgID: context.orgID,
            patient: Link("Patient", try patient.string("local_id"), display: try patient.string("name")),
            practitioner: Link("Practitioner", try practitioner.string("local_id"), display: try practitioner.string("name")),
            location: Link("Location", try location.string("local_id"), display: try location.string("name")),
            encounter: Link("Encounter", encounterID))
        var group = Group(context: context, encounterID: encounterID, patientID: try patient.string("local_id"))
        let inProgressAt = doc.inProgressAt ?? doc.arrivedAt

        // The Encounter: stored as finished, created as arrived.
        let conditionIDs = doc.diagnoses.map { _ in context.newID() }
        let finished = b.encounter(
            identifier: number, classCode: doc.encounterClass, arrivedAt: doc.arrivedAt, inProgressAt: inProgressAt,
            finishedAt: doc.finishedAt,
            diagnoses: conditionIDs.enumerated().map { (Link("Condition", $1, display: doc.diagnoses[$0].display), $0 + 1) })
        let arrived = b.encounter(
            identifier: number, classCode: doc.encounterClass, arrivedAt: doc.arrivedAt, inProgressAt: inProgressAt, finishedAt: nil)
        try context.checkResource(arrived)
        try context.insertResource(localID: encounterID, identifier: b.identifier("encounter", number), json: finished, encounterID: encounterID)
        try conn.execute(
            """
            INSERT INTO encounters(local_id, number, patient_id, practitioner_id, location_id, class, arrived_at, in_progress_at, finished_at, created_at)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """,
            [
                .text(encounterID), .text(number), .text(b.patient.id), .text(b.practitioner.id), .text(b.location.id),
                .text(doc.encounterClass), .text(FHIRDateTime.format(doc.arrivedAt)), .text(FHIRDateTime.format(inProgressAt)),
                .text(FHIRDateTime.format(doc.finishedAt)), .text(context.stamp),
            ])
        // The practitioner serves at this polyclinic (a PractitionerRole, queued the first time
        // the pair is seen); the encounter is created after it.
        let role = try RegistryRecorder(context: context).role(practitioner: b.practitioner.id, at: b.location.id)
        group.resourceIDs.append(encounterID)
        group.itemIDs.append(try group.enqueue(id: encounterID, type: "Encounter", operation: .create, payload: arrived, json: finished,
                                               after: role.map { [$0] } ?? []))

        // Vital signs.
        for vital in doc.vitals {
            let known = EncounterDocument.knownVitals[vital.loinc]
            let display = vital.display ?? known?.display ?? vital.loinc
            let at = vital.measuredAt ?? inProgressAt
            let id = context.newID()
            let json = b.vital(identifier: id, loinc: vital.loinc, display: display, value: vital.value, unit: vital.unit, at: at)
            try group.member(id: id, kind: "observation", json: json, row: (
                "INSERT INTO vitals(local_id, encounter_id, loinc, display, value, unit, measured_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                [.text(id), .text(encounterID), .text(vital.loinc), .text(display), .real(vital.value), .text(vital.unit), .text(FHIRDateTime.format(at))]))
        }

        // Diagnoses.
        var cited: [Link] = []
        for (rank, (diagnosis, id)) in zip(doc.diagnoses, conditionIDs).enumerated() {
            let json = b.condition(identifier: id, icd10: diagnosis.icd10, display: diagnosis.display,
                                   clinicalStatus: diagnosis.clinicalStatus, at: inProgressAt)
            try group.member(id: id, kind: "condition", json: json, row: (
                "INSERT INTO diagnoses(local_id, encounter_id, icd10, display, clinical_status, rank) VALUES (?, ?, ?, ?, ?, ?)",
                [.text(id), .text(encounterID), .text(diagnosis.icd10), .text(diagnosis.display), .text(diagnosis.clinicalStatus), .integer(Int64(rank + 1))]))
            cited.append(Link("Condition", id))
        }

        // Procedures.
        for procedure in doc.procedures {
            let id = context.newID()
            let start = procedure.start ?? inProgressAt
            let end = procedure.end ?? doc.finishedAt
            let json = b.procedure(identifier: id, icd9cm: procedure.icd9cm, display: procedure.display, start: start, end: end)
            try group.member(id: id, kind: "procedure", json: json, row: (
                "INSERT INTO procedures(local_id, encounter_id, icd9cm, display, performed_start, performed_end) VALUES (?, ?, ?, ?, ?, ?)",
                [.text(id), .text(encounterID), .text(procedure.icd9cm), .text(procedure.display), .text(FHIRDateTime.format(start)), .text(FHIRDateTime.format(end))]))
        }

        // Prescriptions: the drug (Medication), the order (MedicationRequest), and the dispense when handed over.
        for prescription in doc.prescriptions {
            let medicationID = context.newID()
            let requestID = context.newID()
            let medication = prescription.ingredients.isEmpty
                ? b.medication(identifier: medicationID, kfa: prescription.kfaCode, display: prescription.display)
                : b.compoundMedication(identifier: medicationID, display: prescription.display,
                                       ingredients: prescription.ingredients.map { ($0.kfaCode, $0.display) })
            try group.member(id: medicationID, kind: "medication", json: medication, row: nil)
            let request = b.medicationRequest(
                identifier: requestID, medication: Link("Medication", medicationID, display: prescription.display),
                dosage: prescription.dosage, quantity: prescription.quantity, unit: prescription.unit, at: inProgressAt)
            try group.member(id: requestID, kind: "prescription-item", json: request, row: (
                "INSERT INTO prescriptions(local_id, medication_id, encounter_id, kfa_code, display, dosage, quantity, unit) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                // A compound's kfa_code is empty: its ingredients' codes are in its Medication.
                [.text(requestID), .text(medicationID), .text(encounterID), .text(prescription.kfaCode), .text(prescription.display),
                 .text(prescription.dosage), .real(prescription.quantity), .text(prescription.unit)]))
            if let dispensedAt = prescription.dispensedAt {
                let dispenseID = context.newID()
                let dispense = b.medicationDispense(
                    identifier: dispenseID, medication: Link("Medication", medicationID, display: prescription.display),
                    request: Link("MedicationRequest", requestID), quantity: prescription.quantity, unit: prescription.unit, at: dispensedAt)
                try group.member(id: dispenseID, kind: "prescription-item", json: dispense, row: (
                    "INSERT INTO dispenses(local_id, prescription_id, encounter_id, quantity, unit, dispensed_at) VALUES (?, ?, ?, ?, ?, ?)",
                    [.text(dispenseID), .text(requestID), .text(encounterID), .real(prescription.quantity), .text(prescription.unit), .text(FHIRDateTime.format(dispensedAt))]))
            }
        }

        // Laboratory: the order (ServiceRequest), and when resulted the value (Observation) and report (DiagnosticReport).
        for test in doc.lab {
            let orderID = context.newID()
            let orderedAt = test.orderedAt ?? inProgressAt
            try group.member(id: orderID, kind: "servicerequest",
                             json: b.serviceRequest(identifier: orderID, loinc: test.loinc, display: test.display, at: orderedAt), row: (
                "INSERT INTO lab_orders(local_id, encounter_id, loinc, display, ordered_at) VALUES (?, ?, ?, ?, ?)",
                [.text(orderID), .text(encounterID), .text(test.loinc), .text(test.display), .text(FHIRDateTime.format(orderedAt))]))
            guard let result = test.result else { continue }
            let observationID = context.newID()
            let reportID = context.newID()
            let order = Link("ServiceRequest", orderID)
            try group.member(id: observationID, kind: "observation", json: b.labObservation(
                identifier: observationID, loinc: test.loinc, display: test.display, value: result.value, unit: result.unit,
                at: result.resultedAt, order: order), row: nil)
            let report = b.diagnosticReport(
                identifier: reportID, loinc: test.loinc, display: test.display, at: result.resultedAt, order: order,
                results: [Link("Observation", observationID)], conclusion: result.conclusion)
            try group.member(id: reportID, identifier: b.labReportIdentifier(reportID), json: report, row: nil)
            try conn.execute(
                "INSERT INTO lab_results(local_id, order_id, report_id, encounter_id, value, unit, conclusion, resulted_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [.text(observationID), .text(orderID), .text(reportID), .text(encounterID), .real(result.value), .text(result.unit),
                 SQLValue(result.conclusion), .text(FHIRDateTime.format(result.resultedAt))])
            cited.append(Link("DiagnosticReport", reportID))
        }

        // The closing update waits for every member of the visit.
        let close = try group.enqueue(id: encounterID, type: "Encounter", operation: .update, payload: nil, json: finished, after: group.memberItems)
        group.itemIDs.append(close)

        // The summary comes last.
        if let summary = doc.summary {
            let id = context.newID()
            let json = b.composition(identifier: id, title: summary.title, text: summary.text, at: doc.finishedAt, entries: cited)
            try context.insertResource(localID: id, identifier: b.identifier("composition", id), json: json, encounterID: encounterID)
            try conn.execute(
                "INSERT INTO summaries(local_id, encounter_id, title, text, written_at) VALUES (?, ?, ?, ?, ?)",
                [.text(id), .text(encounterID), .text(summary.title), .text(summary.text), .text(FHIRDateTime.format(doc.finishedAt))])
            group.resourceIDs.append(id)
            group.itemIDs.append(try group.enqueue(id: id, type: "Composition", operation: .create, payload: nil, json: json, after: [close]))
        }
        return RecordedEncounter(encounterID: encounterID, number: number, resourceIDs: group.resourceIDs, outboxItemIDs: group.itemIDs)
    }

    /// The resources and items of one visit, as they are written.
    private struct Group {
        let context: RecordContext
        let encounterID: String
        let patientID: String
        var resourceIDs: [String] = []
        var itemIDs: [Int64] = []
        var memberItems: [Int64] = []

        /// Stores a clinical resource of the visit, its record row, and its create item.
        mutating func member(id: String, kind: String? = nil, identifier: BusinessIdentifier? = nil, json: JSON, row: (String, [SQLValue])?) throws {
            let identifier = identifier ?? BusinessIdentifier(system: Systems.business(kind ?? "", org: context.orgID), value: id)
            try context.insertResource(localID: id, identifier: identifier, json: json, encounterID: encounterID)
            if let row { try context.connection.execute(row.0, row.1) }
            let type = json["resourceType"]?.stringValue ?? ""
            let item = try enqueue(id: id, type: type, operation: .create, payload: nil, json: json)
            resourceIDs.append(id)
            itemIDs.append(item)
            memberItems.append(item)
        }

        func enqueue(id: String, type: String, operation: Operation, payload: JSON?, json: JSON, after: [Int64] = []) throws -> Int64 {
            try context.outbox.enqueue(
                NewOutboxItem(
                    queue: context.clinicQueue(type), operation: operation, resourceType: type, resourceID: id,
                    encounterID: encounterID, patientID: patientID, payload: payload, priority: ClinicPriority.encounter,
                    maxRetries: RecordContext.clinicMaxRetries, extraDependencies: after),
                resourceJSON: json)
        }
    }
}
