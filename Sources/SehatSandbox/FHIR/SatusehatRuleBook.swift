import Foundation
import SehatJSON

/// The sandbox's SATUSEHAT rules, written from what is known of the real platform
/// (SATUSEHAT.md: "Validation rules the server enforces", "Encounter"), independently of the
/// SDK's own validation — a judge must not share the code it judges. Each problem names the
/// path and the rule, as the platform's OperationOutcome does.
struct SatusehatRuleBook {
    /// The platform refuses date-times before this day.
    static let earliest = ISO8601DateFormatter().date(from: "2022-08-31T00:00:00Z")!
    static let encounterClasses: Set<String> = ["AMB", "EMER", "IMP", "HH", "TELE"]
    static let encounterStatuses: Set<String> = ["planned", "arrived", "triaged", "in-progress", "onleave", "finished", "cancelled"]
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
            required(["clinicalStatus", "category", "code", "subject", "encounter"])
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

    /// `YYYY-MM-DDThh:mm:ss[.fff](Z|±hh:mm)`.
    static func instant(_ text: String) -> Date? {
        guard text.range(of: #"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$"#, options: .regularExpression) != nil else {
            return nil
        }
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = text.contains(".") ? [.withInternetDateTime, .withFractionalSeconds] : [.withInternetDateTime]
        return formatter.date(from: text)
    }

    /// `lastUpdated` as the platform writes it: UTC with `+00:00`.
    static func stamp(_ date: Date) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.timeZone = TimeZone(identifier: "UTC")
        return formatter.string(from: date).replacingOccurrences(of: "Z", with: "+00:00")
    }
}
