import Foundation
import SehatFHIR
import SehatJSON
import SehatStore

/// What amending a visit did.
public struct AmendedEncounter: Sendable, Equatable {
    /// The encounter's local id.
    public let encounterID: String
    /// Resources whose content changed (a new version stored, the old one kept).
    public let changedResources: [String]
    /// Items that had not reached the server and now send the new version (failed ones revived).
    public let resentItems: [Int64]
    /// Updates queued for resources the server has (or may have).
    public let outboxItemIDs: [Int64]
}

/// Amends a recorded visit (`sehat encounter amend`): the whole document again, with the same
/// number. The amended resources are built by the recorder itself — the document is recorded
/// under a scratch number inside a savepoint that is then rolled back — so recording and
/// amending cannot build a visit differently. Each part is matched to the recorded one by
/// kind and position; a changed resource keeps its old version in `resource_history`; one the
/// server does not have yet sends the new version (a refused one is revived, and what waited
/// on it follows); one the server has (or may have) gets an update queued after whatever is in
/// flight for it.
///
/// Vitals, diagnoses and procedures are matched by code, so one can be added (created as the
/// recorder built it) or removed (withdrawn: `entered-in-error` where the server has it); the
/// other parts by position. Not yet: adding or removing a prescription or a lab test, changing
/// the practitioner or location (each is refused with the field and the way out: cancel the
/// visit and record it again).
struct EncounterAmendment {
    let context: RecordContext

    /// A visit's parts in order: (kind, resource id), and the domain rows that describe them.
    private static let domains: [(table: String, kind: String, order: String, columns: [String])] = [
        ("vitals", "vitals", "rowid", ["loinc", "display", "value", "unit", "measured_at"]),
        ("diagnoses", "diagnoses", "rank", ["icd10", "display", "clinical_status", "rank"]),
        ("procedures", "procedures", "rowid", ["icd9cm", "display", "performed_start", "performed_end"]),
        ("prescriptions", "prescriptions", "rowid", ["kfa_code", "display", "dosage", "quantity", "unit"]),
        ("dispenses", "prescriptions", "rowid", ["quantity", "unit", "dispensed_at"]),
        ("lab_orders", "lab", "rowid", ["loinc", "display", "ordered_at"]),
        ("lab_results", "lab", "rowid", ["value", "unit", "conclusion", "resulted_at"]),
        ("summaries", "summary", "rowid", ["title", "text", "written_at"]),
    ]

    /// Every resource of a visit with its part's position, and each domain row.
    private struct Shape {
        var rows: [String: [Row]] = [:]
        var json: [String: String] = [:]
        var arrived: String?
        var encounter: Row?
    }

    private func shape(of encounterID: String) throws -> Shape {
        let conn = context.connection
        var shape = Shape()
        shape.encounter = try conn.queryFirst("SELECT * FROM encounters WHERE local_id = ?", [.text(encounterID)])
        var ids = [encounterID]
        for domain in EncounterAmendment.domains {
            let rows = try conn.query("SELECT * FROM \(domain.table) WHERE encounter_id = ? ORDER BY \(domain.order)", [.text(encounterID)])
            shape.rows[domain.table] = rows
            for row in rows {
                ids.append(try row.string("local_id"))
                if domain.table == "prescriptions" { ids.append(try row.string("medication_id")) }
                if domain.table == "lab_results" { ids.append(try row.string("report_id")) }
            }
        }
        for id in ids {
            shape.json[id] = try conn.scalar("SELECT json FROM resources WHERE local_id = ?", [.text(id)]).string
        }
        shape.arrived = try conn.scalar("SELECT payload FROM outbox WHERE resource_id = ? AND operation = 'create' ORDER BY id LIMIT 1",
                                        [.text(encounterID)]).string
        return shape
    }

    /// The scratch recording, carried out of its savepoint by the error that rolls it back.
    private struct Draft: Error {
        let shape: Shape
        let encounterID: String
    }

    func amend(_ document: EncounterDocument, reason: String) throws -> AmendedEncounter {
        let conn = context.connection
        try InputLimits.checkText(reason, field: "reason", max: InputLimits.textLength, multiline: true)
        guard !reason.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else { throw FieldError("reason", "is required: say what was wrong") }
        guard let number = document.number else { throw FieldError("number", "is required: it names the visit to amend") }
        guard let recorded = try conn.queryFirst(
            """
            SELECT e.local_id, e.cancelled_at, p.nik AS patient_nik, pr.nik AS practitioner_nik, l.code AS location_code FROM encounters e
            JOIN patients p ON p.local_id = e.patient_id JOIN practitioners pr ON pr.local_id = e.practitioner_id
            JOIN locations l ON l.local_id = e.location_id WHERE e.number = ?
            """, [.text(number)])
        else { throw FieldError("number", "no encounter \(FieldError.quote(number)) is recorded on this device (record it first)") }
        let encounterID = try recorded.string("local_id")
        if recorded.optionalString("cancelled_at") != nil { throw FieldError("number", "encounter \(number) was cancelled; record a new visit instead") }
        for (field, was, now) in [("patient_nik", recorded["patient_nik"].string, document.patientNIK),
                                  ("practitioner_nik", recorded["practitioner_nik"].string, document.practitionerNIK),
                                  ("location_code", recorded["location_code"].string, document.locationCode)] where was != now {
            throw FieldError(field, "cannot change in an amendment (the visit was recorded with another one): cancel the visit and record it again")
        }

        // The amended visit, built exactly as recording builds it, then rolled back.
        let scratch = "amend-" + context.newID()
        var draftDocument = document
        draftDocument.number = scratch
        var captured: Draft?
        do {
            try conn.savepoint {
                let recordedDraft = try EncounterRecorder(context: context).record(draftDocument)
                throw Draft(shape: try shape(of: recordedDraft.encounterID), encounterID: recordedDraft.encounterID)
            }
        } catch let draft as Draft {
            captured = draft
        }
        guard let draft = captured else { throw DatabaseError.misuse("the amendment's draft was not rolled back") }
        let old = try shape(of: encounterID)
        let matched = try match(draft.shape, old)
        // The draft's ids (and scratch number) stand for the recorded ones.
        var names = [(draft.encounterID, encounterID), (scratch, number)]
        names += matched.resources
        func recordedText(_ text: String) -> String {
            names.reduce(text) { $0.replacingOccurrences(of: $1.0, with: $1.1) }
        }

        var changed: [String] = []
        var resent: [Int64] = []
        var queued: [Int64] = []
        // A part removed from the document is withdrawn: entered-in-error where the server has it.
        let withdrawal = ResourceWithdrawal(context: context)
        for (table, localID) in matched.removed {
            let outcome = try withdrawal.withdraw(localID, change: .amended, reason: reason, note: "removed from encounter \(number): \(reason)")
            queued += outcome.queued
            changed.append(localID)
            try conn.execute("DELETE FROM \(table) WHERE local_id = ?", [.text(localID)])
        }
        // A part added to the document is recorded as the recorder built it in the draft (same id,
        // so the Encounter and summary that list it already name it), and queued for creation.
        for (table, row) in matched.added {
            let id = try row.string("local_id")
            guard let text = draft.shape.json[id], let json = try? JSON.parse(recordedText(text)),
                let identifier = json["identifier"]?[0], let system = identifier["system"]?.stringValue, let value = identifier["value"]?.stringValue,
                let columns = EncounterAmendment.domains.first(where: { $0.table == table })?.columns
            else { continue }
            try context.insertResource(localID: id, identifier: BusinessIdentifier(system: system, value: value), json: json, encounterID: encounterID)
            let all = ["local_id", "encounter_id"] + columns
            try conn.execute("INSERT INTO \(table)(\(all.joined(separator: ", "))) VALUES (\(all.map { _ in "?" }.joined(separator: ", ")))",
                             [.text(id), .text(encounterID)] + columns.map { row[$0] })
            let type = json["resourceType"]?.stringValue ?? ""
            let create = try context.outbox.enqueue(
                NewOutboxItem(queue: context.clinicQueue(type), operation: .create, resourceType: type, resourceID: id, encounterID: encounterID,
                              patientID: try conn.scalar("SELECT patient_id FROM encounters WHERE local_id = ?", [.text(encounterID)]).string,
                              payload: nil, priority: ClinicPriority.encounter, maxRetries: RecordContext.clinicMaxRetries),
                resourceJSON: json)
            // The visit's updates not yet sent (its closing one) wait for the new part, as at recording.
            for waiting in try conn.query("SELECT id FROM outbox WHERE encounter_id = ? AND operation = 'update' AND withdrawn = 0", [.text(encounterID)]) {
                if let item = waiting["id"].int64 { try context.outbox.addDependency(item, on: create) }
            }
            queued.append(create)
            changed.append(id)
        }
        for (new, existing) in [(draft.encounterID, encounterID)] + matched.resources {
            guard let draftText = draft.shape.json[new], let oldText = old.json[existing] else { continue }
            let amended = recordedText(draftText)
            guard amended != oldText, let json = try? JSON.parse(amended) else { continue }
            try context.history.keep(existing, previous: oldText, change: .amended, reason: reason)
            try conn.execute("UPDATE resources SET json = ?, updated_at = ? WHERE local_id = ?", [.text(amended), .text(context.stamp), .text(existing)])
            changed.append(existing)
            let outcome = try ResourceRevision(context: context).publish(existing, json: json, arrived: existing == encounterID ? draft.shape.arrived.map(recordedText) : nil)
            resent += outcome.resent
            queued += outcome.queued
        }
        try copyRows(matched.rows, from: draft.shape, encounter: (draft.shape.encounter, old.encounter))
        return AmendedEncounter(encounterID: encounterID, changedResources: changed, resentItems: resent, outboxItemIDs: queued)
    }

    /// Parts matched between the amended draft and the recorded visit.
    private struct Matched {
        /// (draft resource id, recorded resource id).
        var resources: [(String, String)] = []
        /// (table, draft row, recorded row).
        var rows: [(String, Row, Row)] = []
        /// Recorded parts the amendment removed: (table, resource id).
        var removed: [(String, String)] = []
        /// Parts the amendment added: (table, draft row); they keep the draft's ids.
        var added: [(String, Row)] = []
    }

    /// Vitals, diagnoses and procedures are matched by their code (the first unmatched one
    /// with the same code), so one can be removed; the other parts by position.
    private static let keys = ["vitals": "loinc", "diagnoses": "icd10", "procedures": "icd9cm"]

    private func match(_ draft: Shape, _ old: Shape) throws -> Matched {
        var matched = Matched()
        for domain in EncounterAmendment.domains {
            let new = draft.rows[domain.table] ?? []
            var recorded = old.rows[domain.table] ?? []
            var pairs: [(Row, Row)] = []
            if let key = EncounterAmendment.keys[domain.table] {
                for row in new {
                    guard let index = recorded.firstIndex(where: { $0[key] == row[key] }) else {
                        matched.added.append((domain.table, row))
                        continue
                    }
                    pairs.append((row, recorded.remove(at: index)))
                }
                for row in recorded { matched.removed.append((domain.table, try row.string("local_id"))) }
            } else {
                guard new.count == recorded.count else {
                    throw FieldError(domain.kind, "has \(new.count) parts where the visit recorded \(recorded.count): adding or removing these is not supported yet (cancel the visit and record it again)")
                }
                pairs = Array(zip(new, recorded))
            }
            for (row, existing) in pairs {
                matched.rows.append((domain.table, row, existing))
                matched.resources.append((try row.string("local_id"), try existing.string("local_id")))
                if domain.table == "prescriptions" { matched.resources.append((try row.string("medication_id"), try existing.string("medication_id"))) }
                if domain.table == "lab_results" { matched.resources.append((try row.string("report_id"), try existing.string("report_id"))) }
            }
        }
        return matched
    }

    /// The domain rows (vitals, diagnoses, …) and the encounter row take the amended values.
    private func copyRows(_ rows: [(String, Row, Row)], from draft: Shape, encounter: (Row?, Row?)) throws {
        let conn = context.connection
        for (table, new, existing) in rows {
            guard let columns = EncounterAmendment.domains.first(where: { $0.table == table })?.columns else { continue }
            try conn.execute("UPDATE \(table) SET " + columns.map { "\($0) = ?" }.joined(separator: ", ") + " WHERE local_id = ?",
                             columns.map { new[$0] } + [.text(try existing.string("local_id"))])
        }
        if let new = encounter.0, let existing = encounter.1 {
            let columns = ["class", "arrived_at", "in_progress_at", "finished_at"]
            try conn.execute("UPDATE encounters SET " + columns.map { "\($0) = ?" }.joined(separator: ", ") + " WHERE local_id = ?",
                             columns.map { new[$0] } + [.text(try existing.string("local_id"))])
        }
    }
}
