import Foundation
import SehatFHIR
import SehatJSON
import SehatStore
import SehatSync

/// A small, realistic clinic used by the demo and the benchmarks: one organization, two
/// polyclinics, two practitioners, patients, and encounters whose times end before `now`.
public enum SampleClinic {
    /// The sample organization (the sandbox's default client is bound to it).
    public static let orgID = "10000004"
    /// Polyclinics: (code, name).
    public static let locations = [("POLI-UMUM", "Poli Umum"), ("POLI-GIGI", "Poli Gigi")]
    /// Practitioners: (NIK, name).
    public static let practitioners = [("3171021505800003", "dr. Siti Rahmawati"), ("3171022001750004", "drg. Andi Pratama")]
    /// Patients with their consent.
    public static let patients = [
        PatientInput(nik: "3171022309900001", name: "Budi Santoso", gender: .male, birthDate: "1990-09-23"),
        PatientInput(nik: "3171026504850002", name: "Dewi Lestari", gender: .female, birthDate: "1985-04-25"),
        PatientInput(nik: "3174011207600005", name: "Slamet Riyadi", gender: .male, birthDate: "1960-07-12", consent: .encounterOnly),
    ]

    /// Writes a secret file into `directory` and configures `client` for the sample org, by
    /// default with the in-process sandbox's client (`sandbox-client` / `sandbox-secret`).
    public static func configure(_ client: SehatClient, directory: String, baseURL: String = Configuration.sandboxBaseURL,
                                 authURL: String = Configuration.sandboxAuthURL, emergencyURL: String? = nil,
                                 clientID: String = "sandbox-client", secret: String = "sandbox-secret") throws {
        let secretFile = directory + "/client-secret.txt"
        try (secret + "\n").write(toFile: secretFile, atomically: true, encoding: .utf8)
        chmod(secretFile, 0o600)
        try client.configure(Configuration(orgID: orgID, clientID: clientID, clientSecretFile: secretFile,
                                           baseURL: baseURL, authURL: authURL, emergencyURL: emergencyURL))
    }

    /// Registers the sample locations, practitioners and `patientCount` patients (the named
    /// ones first, then generated NIKs).
    public static func register(_ client: SehatClient, patientCount: Int = patients.count) throws -> [PatientInput] {
        for (code, name) in locations { try client.addLocation(code: code, name: name) }
        for (nik, name) in practitioners { try client.addPractitioner(nik: nik, name: name) }
        var registered: [PatientInput] = []
        for i in 0..<patientCount {
            let patient = i < patients.count ? patients[i] : PatientInput(
                nik: String(format: "35%014d", i), name: "Pasien \(i)", gender: i % 2 == 0 ? .female : .male, birthDate: "1980-01-01")
            try client.addPatient(patient)
            registered.append(patient)
        }
        return registered
    }

    /// A general-practice visit with ten resources: Encounter, four vital signs, a diagnosis,
    /// a procedure, a prescription (Medication + MedicationRequest) and a summary.
    public static func visit(number: String, patient: PatientInput, finishedBefore now: Date, offsetMinutes: Int = 0) -> EncounterDocument {
        let finished = now.addingTimeInterval(-Double(60 * (30 + offsetMinutes)))
        let arrived = finished.addingTimeInterval(-40 * 60)
        let inProgress = arrived.addingTimeInterval(10 * 60)
        return EncounterDocument(
            number: number, patientNIK: patient.nik, practitionerNIK: practitioners[0].0, locationCode: locations[0].0,
            arrivedAt: arrived, inProgressAt: inProgress, finishedAt: finished,
            vitals: [
                .init(loinc: "8480-6", value: 120, unit: "mm[Hg]"), .init(loinc: "8462-4", value: 80, unit: "mm[Hg]"),
                .init(loinc: "8867-4", value: 84, unit: "/min"), .init(loinc: "8310-5", value: 37.8, unit: "Cel"),
            ],
            diagnoses: [.init(icd10: "J06.9", display: "Acute upper respiratory infection, unspecified")],
            procedures: [.init(icd9cm: "89.52", display: "Electrocardiogram")],
            prescriptions: [.init(kfaCode: "93001019", display: "Paracetamol 500 mg Tablet", dosage: "3 x 1 tablet after meals", quantity: 10, unit: "TAB")],
            summary: .init(text: "ISPA; paracetamol for fever, return if not better in three days."))
    }

    /// A visit with lab work and a dispensed prescription, for the demo's variety.
    public static func labVisit(number: String, patient: PatientInput, finishedBefore now: Date) -> EncounterDocument {
        var doc = visit(number: number, patient: patient, finishedBefore: now, offsetMinutes: 90)
        doc.diagnoses = [.init(icd10: "E11.9", display: "Type 2 diabetes mellitus without complications")]
        doc.procedures = []
        doc.prescriptions = [.init(kfaCode: "93000343", display: "Metformin 500 mg Tablet", dosage: "2 x 1 tablet", quantity: 60, unit: "TAB",
                                   dispensedAt: doc.finishedAt)]
        doc.lab = [.init(loinc: "2345-7", display: "Glucose [Mass/volume] in Serum or Plasma", orderedAt: doc.inProgressAt,
                         result: .init(value: 182, unit: "mg/dL", resultedAt: doc.finishedAt, conclusion: "Hyperglycaemia"))]
        doc.summary = .init(text: "Known T2DM, fasting glucose high; metformin continued.")
        return doc
    }
}
