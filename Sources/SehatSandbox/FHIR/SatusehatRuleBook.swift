import Foundation
import SehatJSON
import SehatSupport

/// The sandbox's SATUSEHAT rules, written from what is known of the real platform
/// (SATUSEHAT.md: "Validation rules the server enforces", "Encounter"), independently of the
/// SDK's own validation — a judge must not share the code it judges. Each problem names the
/// path and the rule, as the platform's OperationOutcome does.
struct SatusehatRuleBook {
    /// The platform refuses date-times before this day (2022-08-31T00:00:00Z).
    static let earliest = Date(timeIntervalSince1970: 1_661_904_000)
    static let encounterClasses: Set<String> = ["AMB", "EMER", "IMP", "HH", "TELE"]
    static let encounterStatuses: Set<String> = ["planned", "arrived", "triaged", "in-progress", "onleave", "finished", "cancelled", "entered-in-error"]
    static let icd10 = "http://hl7.org/fhir/sid/icd-10"

    let now: Date

    /// Every problem of one resource: (path, what is wrong).
    func problems(_ resource: JSON) -> [(path: String, text: String)] {
        var found: [(path: String, text: String)] = []
        func present(_ value: JSON?) -> Bool { value != nil && value != .null }
        func required(_ paths: [String]) {
            for path in paths where !present(resource.value(at: path)) { found.append((path, "is required")) }
        }
        found += dateTimeProblems(resource)
        switch resource["resourceType"]?.stringValue {
        case "Encounter":
            required(["identifier", "status", "class", "subject", "period.start", "serviceProvider", "statusHistory"])
            if !present(resource["participant"]?[0]?["individual"]) { found.append(("participant[0].individual", "is required")) }
            if !present(resource["location"]?[0]?["location"]) { found.append(("location[0].location", "is required")) }
            if let code = resource.value(at: "class.code")?.stringValue, !Self.encounterClasses.contains(code) {
                found.append(("class.code", "must be one of AMB, EMER, IMP, HH, TELE"))
            }
            if let status = resource["status"]?.stringValue, !Self.encounterStatuses.contains(status) {
                found.append(("status", "\"\(status)\" is not an Encounter status"))
            }
            if resource["status"]?.stringValue == "finished" {
                let start = resource.value(at: "period.start")?.stringValue.flatMap(Self.instant)
                guard let end = resource.value(at: "period.end")?.stringValue.flatMap(Self.instant) else {
                    found.append(("period.end", "is required when the Encounter is finished"))
                    break
                }
                if let start, end <= start { found.append(("period.end", "must be after period.start")) }
            }
        case "Condition":
            // FHIR R4 con-5: a Condition entered in error has no clinical status; any other needs one.
            let enteredInError = resource.value(at: "verificationStatus.coding")?[0]?["code"]?.stringValue == "entered-in-error"
            required((enteredInError ? [] : ["clinicalStatus"]) + ["category", "code", "subject", "encounter"])
            if enteredInError, present(resource["clinicalStatus"]) {
                found.append(("clinicalStatus", "must be absent when verificationStatus is entered-in-error (con-5)"))
            }
            if let system = resource.value(at: "code.coding")?[0]?["system"]?.stringValue, system != Self.icd10 {
                found.append(("code.coding[0].system", "must be \(Self.icd10)"))
            }
        case "Observation":
            required(["status", "category", "code", "subject", "encounter"])
        case "Composition", "Procedure", "MedicationRequest", "MedicationDispense", "ServiceRequest", "DiagnosticReport":
            required(["subject", "status"])
        default:
            break
        }
        return found
    }

    static let medicationTypeURL = "https://fhir.kemkes.go.id/r4/StructureDefinition/MedicationType"
    static let medicationTypes: Set<String> = ["NC", "C", "SD", "EP"]
    static let kfa = "http://sys-ids.kemkes.go.id/kfa"

    /// The numbered rules of medication and dispensing (SATUSEHAT.md, "Medication and
    /// dispensing"): (rule, path, what is wrong).
    func numberedProblems(_ resource: JSON) -> [(rule: Int, path: String, text: String)] {
        var found: [(rule: Int, path: String, text: String)] = []
        func identifierKinds() -> [String] {
            (resource["identifier"]?.arrayValue ?? []).compactMap { $0["system"]?.stringValue?.split(separator: "/").dropLast().last.map(String.init) }
        }
        switch resource["resourceType"]?.stringValue {
        case "Medication":
            let type = (resource["extension"]?.arrayValue ?? []).first { $0["url"]?.stringValue == Self.medicationTypeURL }
            guard let code = type?.value(at: "valueCodeableConcept.coding")?[0]?["code"]?.stringValue else {
                found.append((10_031, "extension", "Medication.extension MedicationType is required"))
                break
            }
            if !Self.medicationTypes.contains(code) { found.append((10_031, "extension", "MedicationType \(code) is not one of NC, C, SD, EP")) }
            if code == "C" {
                let ingredients = resource["ingredient"]?.arrayValue ?? []
                if ingredients.isEmpty { found.append((10_031, "ingredient", "a compound (C) Medication lists its ingredients")) }
                for (i, ingredient) in ingredients.enumerated()
                where ingredient.value(at: "itemCodeableConcept.coding")?[0]?["system"]?.stringValue != Self.kfa {
                    found.append((10_031, "ingredient[\(i)].itemCodeableConcept", "each ingredient carries a KFA code"))
                }
            }
        case "PractitionerRole":
            for path in ["practitioner", "organization", "location"] where resource[path] == nil || resource[path] == .null {
                found.append((10_400, path, "PractitionerRole.\(path) is required"))
            }
        case "MedicationRequest", "MedicationDispense":
            let isRequest = resource["resourceType"]?.stringValue == "MedicationRequest"
            if resource["medicationReference"] == nil {
                found.append((isRequest ? 10_135 : 10_138, "medicationReference", "a Medication must be referenced"))
            }
            let kinds = identifierKinds()
            if !kinds.contains("prescription") { found.append((10_388, "identifier", "the prescription's identifier is required")) }
            if !kinds.contains("prescription-item") { found.append((10_389, "identifier", "the prescription item's identifier is required")) }
            if !isRequest, resource["authorizingPrescription"]?.arrayValue?.isEmpty ?? true {
                found.append((10_393, "authorizingPrescription", "a dispense names its prescription"))
            }
        default:
            break
        }
        return found
    }

    /// Date-times must carry an offset, and lie between 2022-08-31 and now (a minute of skew).
    private func dateTimeProblems(_ resource: JSON) -> [(path: String, text: String)] {
        let fields = ["effectiveDateTime", "issued", "authoredOn", "recordedDate", "date", "whenHandedOver", "occurrenceDateTime",
                      "period.start", "period.end", "performedPeriod.start", "performedPeriod.end"]
        var found: [(path: String, text: String)] = []
        for field in fields {
            guard let text = resource.value(at: field)?.stringValue, text.count > 10 else { continue }  // a plain date has no time
            guard let instant = Self.instant(text) else {
                found.append((field, "\"\(text)\" is not a date-time with a UTC offset"))
                continue
            }
            if instant > now.addingTimeInterval(60) { found.append((field, "\(text) is in the future")) }
            if instant < Self.earliest { found.append((field, "\(text) is before 2022-08-31")) }
        }
        return found
    }

    /// `YYYY-MM-DDThh:mm:ss[.fff](Z|±hh:mm)`, read by hand (a formatter per call is slow on
    /// Linux, and the sandbox checks every date of every resource).
    static func instant(_ text: String) -> Date? {
        let b = Array(text.utf8)
        func digits(_ from: Int, _ count: Int) -> Int? {
            guard from + count <= b.count else { return nil }
            var value = 0
            for i in from..<(from + count) {
                guard (48...57).contains(b[i]) else { return nil }
                value = value * 10 + Int(b[i] - 48)
            }
            return value
        }
        guard b.count >= 20, b[4] == 45, b[7] == 45, b[10] == 84, b[13] == 58, b[16] == 58,
            let year = digits(0, 4), let month = digits(5, 2), let day = digits(8, 2),
            let hour = digits(11, 2), let minute = digits(14, 2), let second = digits(17, 2),
            (1...12).contains(month), (1...31).contains(day), hour < 24, minute < 60, second < 61
        else { return nil }
        var i = 19
        var fraction = 0.0
        if b[i] == 46 {  // '.'
            var scale = 0.1
            i += 1
            let start = i
            while i < b.count, (48...57).contains(b[i]) {
                fraction += Double(b[i] - 48) * scale
                scale /= 10
                i += 1
            }
            guard i > start else { return nil }
        }
        var offset = 0
        if i == b.count - 1, b[i] == 90 {  // 'Z'
            offset = 0
        } else if i == b.count - 6, b[i] == 43 || b[i] == 45, b[i + 3] == 58, let h = digits(i + 1, 2), let m = digits(i + 4, 2) {
            offset = (b[i] == 45 ? -1 : 1) * (h * 3600 + m * 60)
        } else {
            return nil
        }
        // Days from 1970-01-01 to the civil date (Howard Hinnant's algorithm).
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let dayOfYear = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        let days = era * 146_097 + dayOfEra - 719_468
        let seconds = days * 86_400 + hour * 3600 + minute * 60 + second - offset
        return Date(timeIntervalSince1970: Double(seconds) + fraction)
    }

    /// `lastUpdated` as the platform writes it: UTC with `+00:00`.
    static func stamp(_ date: Date) -> String {
        let second = Int(date.timeIntervalSince1970.rounded(.down))
        // Every resource of a transaction is stamped in the same second: format it once.
        return lastStamp.withLock { last in
            if last.second == second { return last.text }
            let text = stampFormatter.string(from: Date(timeIntervalSince1970: Double(second))).replacingOccurrences(of: "Z", with: "+00:00")
            last = (second, text)
            return text
        }
    }

    private static let lastStamp = Locked((second: Int.min, text: ""))

    /// Used only under `lastStamp`'s lock.
    nonisolated(unsafe) private static let stampFormatter: ISO8601DateFormatter = {
        let formatter = ISO8601DateFormatter()
        formatter.timeZone = TimeZone(identifier: "UTC")
        return formatter
    }()
}
