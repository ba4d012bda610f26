import Foundation
import SehatFHIR
import SehatJSON

/// One clinic visit as the clinic records it: who, where, when, and what was done.
/// `Schemas/encounter.schema.json` describes its JSON form.
///
///     let doc = try EncounterDocument(json: text)
///     let recorded = try client.recordEncounter(doc)
public struct EncounterDocument: Sendable, Equatable {
    /// The clinic's own encounter number; a second record with the same number is refused.
    /// When nil, the local id is used.
    public var number: String?
    /// The registered patient's NIK.
    public var patientNIK: String
    /// The registered practitioner's NIK.
    public var practitionerNIK: String
    /// The registered polyclinic's code.
    public var locationCode: String
    /// AMB, EMER, IMP, HH or TELE.
    public var encounterClass: String
    /// When the patient arrived.
    public var arrivedAt: Date
    /// When the consultation began; defaults to `arrivedAt`.
    public var inProgressAt: Date?
    /// When the visit ended.
    public var finishedAt: Date
    /// Vital signs.
    public var vitals: [Vital]
    /// Diagnoses, primary first.
    public var diagnoses: [Diagnosis]
    /// Procedures done.
    public var procedures: [ProcedureDone]
    /// Prescriptions.
    public var prescriptions: [Prescription]
    /// Lab tests ordered (with results when known).
    public var lab: [LabTest]
    /// The visit's summary (a Composition).
    public var summary: Summary?

    /// A vital sign (an Observation).
    public struct Vital: Sendable, Equatable {
        /// Its LOINC code.
        public var loinc: String
        /// Its display text.
        public var display: String?
        /// The value.
        public var value: Double
        /// Its UCUM unit.
        public var unit: String
        /// When measured (default: arrival).
        public var measuredAt: Date?
        /// A vital sign.
        public init(loinc: String, display: String? = nil, value: Double, unit: String, measuredAt: Date? = nil) {
            (self.loinc, self.display, self.value, self.unit, self.measuredAt) = (loinc, display, value, unit, measuredAt)
        }
    }

    /// A diagnosis (a Condition).
    public struct Diagnosis: Sendable, Equatable {
        /// Its ICD-10 code.
        public var icd10: String
        /// Its display text.
        public var display: String
        /// `active`, `resolved`, …
        public var clinicalStatus: String
        /// A diagnosis.
        public init(icd10: String, display: String, clinicalStatus: String = "active") {
            (self.icd10, self.display, self.clinicalStatus) = (icd10, display, clinicalStatus)
        }
    }

    /// A procedure (ICD-9-CM).
    public struct ProcedureDone: Sendable, Equatable {
        /// Its ICD-9-CM code.
        public var icd9cm: String
        /// Its display text.
        public var display: String
        /// When it started.
        public var start: Date?
        /// When it ended.
        public var end: Date?
        /// A procedure.
        public init(icd9cm: String, display: String, start: Date? = nil, end: Date? = nil) {
            (self.icd9cm, self.display, self.start, self.end) = (icd9cm, display, start, end)
        }
    }

    /// One ingredient of a compound prescription (racikan).
    public struct Ingredient: Sendable, Equatable {
        /// Its KFA code (SATUSEHAT requires one for every ingredient).
        public var kfaCode: String
        /// Its display text.
        public var display: String
        /// An ingredient.
        public init(kfaCode: String, display: String) { (self.kfaCode, self.display) = (kfaCode, display) }
    }

    /// A prescription (Medication and MedicationRequest; a dispense when dispensed): a single
    /// product by its KFA code, or a compound (racikan) by its KFA-coded ingredients.
    public struct Prescription: Sendable, Equatable {
        /// The drug's KFA code; empty for a compound, which names its `ingredients` instead.
        public var kfaCode: String
        /// A compound's ingredients (its Medication is `C`, compound); empty for a single product.
        public var ingredients: [Ingredient] = []
        /// Its display text.
        public var display: String
        /// The dosage instruction.
        public var dosage: String
        /// How much.
        public var quantity: Double
        /// Its UCUM unit.
        public var unit: String
        /// When the pharmacy handed it over; nil when not (yet) dispensed.
        public var dispensedAt: Date?
        /// A prescription.
        public init(kfaCode: String, display: String, dosage: String, quantity: Double, unit: String, dispensedAt: Date? = nil) {
            (self.kfaCode, self.display, self.dosage, self.quantity, self.unit, self.dispensedAt) =
                (kfaCode, display, dosage, quantity, unit, dispensedAt)
        }

        /// A compound prescription (racikan) of KFA-coded ingredients.
        public init(compound display: String, ingredients: [Ingredient], dosage: String, quantity: Double, unit: String, dispensedAt: Date? = nil) {
            self.init(kfaCode: "", display: display, dosage: dosage, quantity: quantity, unit: unit, dispensedAt: dispensedAt)
            self.ingredients = ingredients
        }
    }

    /// A lab test (a ServiceRequest; with its result an Observation and a DiagnosticReport).
    public struct LabTest: Sendable, Equatable {
        /// Its LOINC code.
        public var loinc: String
        /// Its display text.
        public var display: String
        /// When ordered.
        public var orderedAt: Date?
        /// Its result, when known.
        public var result: LabResult?
        /// A lab test.
        public init(loinc: String, display: String, orderedAt: Date? = nil, result: LabResult? = nil) {
            (self.loinc, self.display, self.orderedAt, self.result) = (loinc, display, orderedAt, result)
        }
    }

    /// A lab result.
    public struct LabResult: Sendable, Equatable {
        /// The value.
        public var value: Double
        /// Its UCUM unit.
        public var unit: String
        /// Its result, when known.
        public var resultedAt: Date
        /// The conclusion text.
        public var conclusion: String?
        /// A lab result.
        public init(value: Double, unit: String, resultedAt: Date, conclusion: String? = nil) {
            (self.value, self.unit, self.resultedAt, self.conclusion) = (value, unit, resultedAt, conclusion)
        }
    }

    /// The visit's summary.
    public struct Summary: Sendable, Equatable {
        /// Its title.
        public var title: String
        /// Its text.
        public var text: String
        /// A summary.
        public init(title: String = "Resume Medis", text: String) { (self.title, self.text) = (title, text) }
    }

    /// A visit.
    public init(
        number: String? = nil, patientNIK: String, practitionerNIK: String, locationCode: String,
        encounterClass: String = "AMB", arrivedAt: Date, inProgressAt: Date? = nil, finishedAt: Date,
        vitals: [Vital] = [], diagnoses: [Diagnosis] = [], procedures: [ProcedureDone] = [],
        prescriptions: [Prescription] = [], lab: [LabTest] = [], summary: Summary? = nil
    ) {
        self.number = number
        self.patientNIK = patientNIK
        self.practitionerNIK = practitionerNIK
        self.locationCode = locationCode
        self.encounterClass = encounterClass
        self.arrivedAt = arrivedAt
        self.inProgressAt = inProgressAt
        self.finishedAt = finishedAt
        self.vitals = vitals
        self.diagnoses = diagnoses
        self.procedures = procedures
        self.prescriptions = prescriptions
        self.lab = lab
        self.summary = summary
    }

    /// Parses the JSON form; a syntax error names its line and column, a bad field its path.
    public init(json text: String) throws {
        try self.init(document: try JSON.parseDocument(text))
    }

    init(document: JSON) throws {
        let doc = try DocumentFields(document)
        try doc.only([
            "$schema", "number", "patient_nik", "practitioner_nik", "location_code", "class", "arrived_at", "in_progress_at",
            "finished_at", "vitals", "diagnoses", "procedures", "prescriptions", "lab", "summary",
        ])
        self.init(
            number: try doc.optionalIdentifier("number"), patientNIK: try doc.string("patient_nik"),
            practitionerNIK: try doc.string("practitioner_nik"), locationCode: try doc.string("location_code", max: InputLimits.identifierLength),
            encounterClass: try doc.optionalString("class") ?? "AMB", arrivedAt: try doc.dateTime("arrived_at"),
            inProgressAt: try doc.optionalDateTime("in_progress_at"), finishedAt: try doc.dateTime("finished_at"),
            vitals: try doc.list("vitals").map { v in
                try v.only(["code", "display", "value", "unit", "measured_at"])
                return Vital(loinc: try v.string("code"), display: try v.optionalString("display"), value: try v.number("value"),
                             unit: try v.string("unit"), measuredAt: try v.optionalDateTime("measured_at"))
            },
            diagnoses: try doc.list("diagnoses").map { d in
                try d.only(["icd10", "display", "clinical_status"])
                return Diagnosis(icd10: try d.string("icd10"), display: try d.string("display"),
                                 clinicalStatus: try d.optionalString("clinical_status") ?? "active")
            },
            procedures: try doc.list("procedures").map { p in
                try p.only(["icd9cm", "display", "start", "end"])
                return ProcedureDone(icd9cm: try p.string("icd9cm"), display: try p.string("display"),
                                     start: try p.optionalDateTime("start"), end: try p.optionalDateTime("end"))
            },
            prescriptions: try doc.list("prescriptions").map { p in
                try p.only(["kfa_code", "ingredients", "display", "dosage", "quantity", "unit", "dispensed_at"])
                var prescription = Prescription(
                    kfaCode: try p.optionalString("kfa_code") ?? "", display: try p.string("display"), dosage: try p.string("dosage"),
                    quantity: try p.number("quantity"), unit: try p.string("unit"), dispensedAt: try p.optionalDateTime("dispensed_at"))
                prescription.ingredients = try p.list("ingredients").map { i in
                    try i.only(["kfa_code", "display"])
                    return Ingredient(kfaCode: try i.string("kfa_code"), display: try i.string("display"))
                }
                return prescription
            },
            lab: try doc.list("lab").map { l in
                try l.only(["loinc", "display", "ordered_at", "result"])
                let result = try l.object("result").map { r in
                    try r.only(["value", "unit", "resulted_at", "conclusion"])
                    return LabResult(value: try r.number("value"), unit: try r.string("unit"), resultedAt: try r.dateTime("resulted_at"),
                                     conclusion: try r.optionalString("conclusion", max: InputLimits.narrativeLength, multiline: true))
                }
                return LabTest(loinc: try l.string("loinc"), display: try l.string("display"),
                               orderedAt: try l.optionalDateTime("ordered_at"), result: result)
            },
            summary: try doc.object("summary").map { s in
                try s.only(["title", "text"])
                return Summary(title: try s.optionalString("title", max: InputLimits.nameLength) ?? "Resume Medis",
                               text: try s.string("text", max: InputLimits.narrativeLength, multiline: true))
            }
        )
    }

    /// Common vital signs: LOINC code → (display, UCUM unit).
    static let knownVitals: [String: (display: String, unit: String)] = [
        "8480-6": ("Systolic blood pressure", "mm[Hg]"), "8462-4": ("Diastolic blood pressure", "mm[Hg]"),
        "8867-4": ("Heart rate", "/min"), "9279-1": ("Respiratory rate", "/min"), "8310-5": ("Body temperature", "Cel"),
        "29463-7": ("Body weight", "kg"), "8302-2": ("Body height", "cm"), "59408-5": ("Oxygen saturation", "%"),
    ]

    static let clinicalStatuses: Set<String> = ["active", "recurrence", "relapse", "inactive", "remission", "resolved"]

    /// Checks every rule that needs no database: codes, clock order, the future, SATUSEHAT's
    /// earliest date. Each refusal names the field.
    func validate(now: Date, profile: Profile) throws {
        let enforceEarliest = profile == .satusehat
        func checkTime(_ date: Date, _ field: String) throws {
            try SatusehatRules.checkDateTime(date, field: field, now: now, enforceEarliest: enforceEarliest)
        }
        try checkSizes()
        try SatusehatRules.checkNIK(patientNIK, field: "patient_nik")
        try SatusehatRules.checkNIK(practitionerNIK, field: "practitioner_nik")
        guard SatusehatRules.encounterClasses[encounterClass] != nil else {
            throw FieldError("class", "\"\(encounterClass)\" is not one of AMB, EMER, IMP, HH, TELE")
        }
        try checkTime(arrivedAt, "arrived_at")
        try checkTime(finishedAt, "finished_at")
        guard finishedAt > arrivedAt else {
            throw FieldError("finished_at", "\(FHIRDateTime.format(finishedAt)) is not after arrived_at \(FHIRDateTime.format(arrivedAt))")
        }
        if let inProgressAt, !(arrivedAt...finishedAt).contains(inProgressAt) {
            throw FieldError("in_progress_at", "must lie between arrived_at and finished_at")
        }
        let window = arrivedAt...finishedAt
        func checkInVisit(_ date: Date?, _ field: String) throws {
            guard let date else { return }
            try checkTime(date, field)
            guard window.contains(date) else { throw FieldError(field, "must lie between arrived_at and finished_at") }
        }
        for (i, vital) in vitals.enumerated() {
            try SatusehatRules.checkLOINC(vital.loinc, field: "vitals[\(i)].code")
            if vital.display == nil, EncounterDocument.knownVitals[vital.loinc] == nil {
                throw FieldError("vitals[\(i)].display", "is required for LOINC \(vital.loinc), which is not a common vital sign")
            }
            guard vital.value >= 0 else { throw FieldError("vitals[\(i)].value", "cannot be negative") }
            try InputLimits.checkVital(code: vital.loinc, value: vital.value, unit: vital.unit, field: "vitals[\(i)].value")
            try checkInVisit(vital.measuredAt, "vitals[\(i)].measured_at")
        }
        for (i, diagnosis) in diagnoses.enumerated() {
            try SatusehatRules.checkICD10(diagnosis.icd10, field: "diagnoses[\(i)].icd10")
            guard EncounterDocument.clinicalStatuses.contains(diagnosis.clinicalStatus) else {
                throw FieldError("diagnoses[\(i)].clinical_status", "must be one of \(EncounterDocument.clinicalStatuses.sorted().joined(separator: ", "))")
            }
        }
        for (i, procedure) in procedures.enumerated() {
            try SatusehatRules.checkICD9CM(procedure.icd9cm, field: "procedures[\(i)].icd9cm")
            try checkInVisit(procedure.start, "procedures[\(i)].start")
            try checkInVisit(procedure.end, "procedures[\(i)].end")
            if let start = procedure.start, let end = procedure.end, end < start {
                throw FieldError("procedures[\(i)].end", "is before procedures[\(i)].start")
            }
        }
        for (i, prescription) in prescriptions.enumerated() {
            if prescription.ingredients.isEmpty {
                try SatusehatRules.checkKFA(prescription.kfaCode, field: "prescriptions[\(i)].kfa_code")
            } else {
                guard prescription.kfaCode.isEmpty else {
                    throw FieldError("prescriptions[\(i)].kfa_code", "a compound names its ingredients instead of one KFA code")
                }
                for (j, ingredient) in prescription.ingredients.enumerated() {
                    try SatusehatRules.checkKFA(ingredient.kfaCode, field: "prescriptions[\(i)].ingredients[\(j)].kfa_code")
                }
            }
            guard prescription.quantity > 0 else { throw FieldError("prescriptions[\(i)].quantity", "must be more than 0") }
            try InputLimits.checkQuantity(prescription.quantity, field: "prescriptions[\(i)].quantity")
            if let dispensedAt = prescription.dispensedAt {
                try checkTime(dispensedAt, "prescriptions[\(i)].dispensed_at")
                guard dispensedAt >= arrivedAt else { throw FieldError("prescriptions[\(i)].dispensed_at", "is before arrived_at") }
            }
        }
        for (i, test) in lab.enumerated() {
            try SatusehatRules.checkLOINC(test.loinc, field: "lab[\(i)].loinc")
            try checkInVisit(test.orderedAt, "lab[\(i)].ordered_at")
            if let result = test.result {
                try InputLimits.checkQuantity(result.value, field: "lab[\(i)].result.value")
                try checkTime(result.resultedAt, "lab[\(i)].result.resulted_at")
                guard result.resultedAt >= (test.orderedAt ?? arrivedAt) else {
                    throw FieldError("lab[\(i)].result.resulted_at", "is before the test was ordered")
                }
            }
        }
        if let summary, summary.text.isEmpty { throw FieldError("summary.text", "is required") }
    }

    /// Every text within its limit and free of control characters, every list within its
    /// count: the same limits whether the document came as JSON or was built in code.
    private func checkSizes() throws {
        typealias Limits = InputLimits
        if let number { try Limits.checkIdentifier(number, field: "number") }
        try Limits.checkIdentifier(locationCode, field: "location_code")
        for (name, count) in [("vitals", vitals.count), ("diagnoses", diagnoses.count), ("procedures", procedures.count),
                              ("prescriptions", prescriptions.count), ("lab", lab.count)] where count > Limits.listItems {
            throw FieldError(name, "has \(count) items; the limit is \(Limits.listItems)")
        }
        func text(_ value: String?, _ field: String, _ max: Int = Limits.textLength, multiline: Bool = false) throws {
            if let value { try Limits.checkText(value, field: field, max: max, multiline: multiline) }
        }
        for (i, vital) in vitals.enumerated() {
            try text(vital.display, "vitals[\(i)].display")
            try text(vital.unit, "vitals[\(i)].unit", Limits.unitLength)
        }
        for (i, diagnosis) in diagnoses.enumerated() { try text(diagnosis.display, "diagnoses[\(i)].display") }
        for (i, procedure) in procedures.enumerated() { try text(procedure.display, "procedures[\(i)].display") }
        for (i, prescription) in prescriptions.enumerated() {
            try text(prescription.display, "prescriptions[\(i)].display")
            try text(prescription.dosage, "prescriptions[\(i)].dosage")
            try text(prescription.unit, "prescriptions[\(i)].unit", Limits.unitLength)
            guard prescription.ingredients.count <= Limits.listItems else {
                throw FieldError("prescriptions[\(i)].ingredients", "has \(prescription.ingredients.count) items; the limit is \(Limits.listItems)")
            }
            for (j, ingredient) in prescription.ingredients.enumerated() { try text(ingredient.display, "prescriptions[\(i)].ingredients[\(j)].display") }
        }
        for (i, test) in lab.enumerated() {
            try text(test.display, "lab[\(i)].display")
            try text(test.result?.unit, "lab[\(i)].result.unit", Limits.unitLength)
            try text(test.result?.conclusion, "lab[\(i)].result.conclusion", Limits.narrativeLength, multiline: true)
        }
        try text(summary?.title, "summary.title", Limits.nameLength)
        try text(summary?.text, "summary.text", Limits.narrativeLength, multiline: true)
    }
}
