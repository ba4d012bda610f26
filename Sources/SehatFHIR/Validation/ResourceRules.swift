import SehatJSON
import Foundation

/// Required-field rules for whole resources, as SATUSEHAT checks them; used on everything
/// built or imported before it is stored, so that a record the server would refuse is
/// refused on the device, while a person can still fix it.
///
///     let problems = ResourceRules.issues(in: encounter, profile: .satusehat, now: Date())
public enum ResourceRules {
    /// Which server's rules apply.
    public enum Profile: String, Sendable, CaseIterable {
        /// SATUSEHAT: required fields, identifier systems, statusHistory, date limits.
        case satusehat
        /// A plain FHIR R4 server: structural checks only.
        case fhir
    }

    /// Every problem found, each naming its field path.
    public static func issues(in resource: JSON, profile: Profile, now: Date) -> [FieldError] {
        var found: [FieldError] = []
        func require(_ path: String, _ reason: String = "is required") {
            if resource.value(at: path) == nil || resource.value(at: path) == .null { found.append(FieldError(path, reason)) }
        }
        guard let type = resource["resourceType"]?.stringValue else {
            return [FieldError("resourceType", "is required")]
        }
        if resource["id"] != nil, resource["id"]?.stringValue.map(isValidID) != true {
            found.append(FieldError("id", "must be 1-64 characters of A-Z a-z 0-9 - ."))
        }
        guard profile == .satusehat else { return found }
        found += dateTimeIssues(in: resource, now: now)
        switch type {
        case "Encounter":
            for path in ["identifier", "status", "class", "subject", "period.start", "serviceProvider", "statusHistory"] {
                require(path)
            }
            if resource["participant"]?[0]?["individual"] == nil { found.append(FieldError("participant[0].individual", "is required")) }
            if resource["location"]?[0]?["location"] == nil { found.append(FieldError("location[0].location", "is required")) }
            if let code = resource.value(at: "class.code")?.stringValue, SatusehatRules.encounterClasses[code] == nil {
                found.append(FieldError("class.code", "must be one of AMB, EMER, IMP, HH, TELE"))
            }
            let status = resource["status"]?.stringValue
            if let status, !["arrived", "in-progress", "finished", "cancelled"].contains(status) {
                found.append(FieldError("status", "\"\(status)\" is not a status SATUSEHAT accepts"))
            }
            if status == "finished" {
                let start = (resource.value(at: "period.start")?.stringValue).flatMap { try? FHIRDateTime.parse($0) }
                let end = (resource.value(at: "period.end")?.stringValue).flatMap { try? FHIRDateTime.parse($0) }
                if end == nil {
                    found.append(FieldError("period.end", "is required when the encounter is finished"))
                } else if let start, let end, end <= start {
                    found.append(FieldError("period.end", "must be after period.start"))
                }
            }
        case "Condition":
            for path in ["clinicalStatus", "category", "code", "subject", "encounter"] { require(path) }
            if let system = resource.value(at: "code")?["coding"]?[0]?["system"]?.stringValue, system != Systems.icd10 {
                found.append(FieldError("code.coding[0].system", "must be \(Systems.icd10)"))
            }
        case "Observation":
            for path in ["status", "category", "code", "subject", "encounter"] { require(path) }
        case "Composition", "Procedure", "MedicationRequest", "MedicationDispense", "ServiceRequest", "DiagnosticReport":
            for path in ["subject", "status"] { require(path) }
        default: break
        }
        return found
    }

    /// FHIR `id`: 1-64 of `[A-Za-z0-9\-\.]`.
    public static func isValidID(_ id: String) -> Bool {
        (1...64).contains(id.utf8.count)
            && id.utf8.allSatisfy { ($0 >= 48 && $0 <= 57) || ($0 >= 65 && $0 <= 90) || ($0 >= 97 && $0 <= 122) || $0 == 45 || $0 == 46 }
    }

    private static let dateTimeFields = [
        "effectiveDateTime", "issued", "authoredOn", "recordedDate", "date", "whenHandedOver", "occurrenceDateTime",
    ]

    private static func dateTimeIssues(in resource: JSON, now: Date) -> [FieldError] {
        var found: [FieldError] = []
        var checks: [(String, String)] = dateTimeFields.compactMap { field in resource[field]?.stringValue.map { (field, $0) } }
        for field in ["period.start", "period.end", "performedPeriod.start", "performedPeriod.end"] {
            if let text = resource.value(at: field)?.stringValue { checks.append((field, text)) }
        }
        for (field, text) in checks where text.count > 10 {  // plain dates (YYYY-MM-DD) carry no offset
            do {
                try SatusehatRules.checkDateTime(try FHIRDateTime.parse(text), field: field, now: now)
            } catch let error as FieldError {
                found.append(error)
            } catch let error as FHIRDateTime.FormatError {
                found.append(FieldError(field, error.reason))
            } catch {
                found.append(FieldError(field, "\(error)"))
            }
        }
        return found
    }
}
