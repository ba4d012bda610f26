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
/// Parts are matched by their code first (the same LOINC, ICD-10, ICD-9-CM or KFA code is the
/// same part), then what is left in order (a part whose code was corrected is the same part,
/// changed); a dispense or a lab result goes with its prescription or order. A part left over
/// in the recorded visit was removed (withdrawn: `entered-in-error` where the server has it,
/// never sent where it has not); one left over in the document was added (created as the
/// recorder built it). Changing the practitioner or location is refused with the field and the
/// way out: cancel the visit and record it again.
struct EncounterAmendment {
    let context: RecordContext

    /// One kind of part of a visit: its table, the code it is matched by, the part it belongs
    /// to (a dispense to its prescription), the columns holding the resources it owns (in the
    /// order they are created), and the columns an amendment may change.
    private struct Domain {
        let table: String
        let order: String
        let key: String?
        let parent: (table: String, column: String)?
        let owned: [String]
        let columns: [String]
    }

    /// A visit's parts, each part's owner before it.
    private static let domains: [Domain] = [
        Domain(table: "vitals", order: "rowid", key: "loinc", parent: nil, owned: ["local_id"],
               columns: ["loinc", "display", "value", "unit", "measured_at"]),
        Domain(table: "diagnoses", order: "rank", key: "icd10", parent: nil, owned: ["local_id"], columns: ["icd10", "display", "clinical_status", "rank"]),
        Domain(table: "procedures", order: "rowid", key: "icd9cm", parent: nil, owned: ["local_id"],
               columns: ["icd9cm", "display", "performed_start", "performed_end"]),
        Domain(table: "prescriptions", order: "rowid", key: "kfa_code", parent: nil, owned: ["medication_id", "local_id"],
               columns: ["kfa_code", "display", "dosage", "quantity", "unit"]),
        Domain(table: "dispenses", order: "rowid", key: nil, parent: ("prescriptions", "prescription_id"), owned: ["local_id"],
               columns: ["quantity", "unit", "dispensed_at"]),
        Domain(table: "lab_orders", order: "rowid", key: "loinc", parent: nil, owned: ["local_id"], columns: ["loinc", "display", "ordered_at"]),
        Domain(table: "lab_results", order: "rowid", key: nil, parent: ("lab_orders", "order_id"), owned: ["local_id", "report_id"],
               columns: ["value", "unit", "conclusion", "resulted_at"]),
        Domain(table: "summaries", order: "rowid", key: nil, parent: nil, owned: ["local_id"], columns: ["title", "text", "written_at"]),
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
                for column in domain.owned { ids.append(try row.string(column)) }
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
        // A part removed from the document is withdrawn (entered-in-error where the server has
        // it) with every resource it owns; what belongs to a part goes before the part.
        let withdrawal = ResourceWithdrawal(context: context)
        for (domain, row) in matched.removed.reversed() {
            for column in domain.owned.reversed() {
                let localID = try row.string(column)
                let outcome = try withdrawal.withdraw(localID, change: .amended, reason: reason, note: "removed from encounter \(number): \(reason)")
                queued += outcome.queued
                changed.append(localID)
            }
            try conn.execute("DELETE FROM \(domain.table) WHERE local_id = ?", [.text(try row.string("local_id"))])
        }
        // A part added to the document is recorded as the recorder built it in the draft (same
        // ids, so the Encounter and summary that list it already name it), and queued for
        // creation, each resource it owns after those it references.
        let patientID = try conn.scalar("SELECT patient_id FROM encounters WHERE local_id = ?", [.text(encounterID)]).string
        let recordedIDs = Dictionary(names, uniquingKeysWith: { first, _ in first })
        for (domain, row) in matched.added {
            let values = row.columns.map { column -> SQLValue in
                if column == "encounter_id" { return .text(encounterID) }
                if case .text(let text) = row[column], let recorded = recordedIDs[text] { return .text(recorded) }  // a matched part it belongs to
                return row[column]
            }
            for column in domain.owned {
                let id = try row.string(column)
                guard let text = draft.shape.json[id], let json = try? JSON.parse(recordedText(text)),
                    let identifier = json["identifier"]?[0], let system = identifier["system"]?.stringValue, let value = identifier["value"]?.stringValue
                else { throw DatabaseError.misuse("the amendment's draft has no resource \(id) for \(domain.table)") }
                try context.insertResource(localID: id, identifier: BusinessIdentifier(system: system, value: value), json: json, encounterID: encounterID)
                let type = json["resourceType"]?.stringValue ?? ""
                let create = try context.outbox.enqueue(
                    NewOutboxItem(queue: context.clinicQueue(type), operation: .create, resourceType: type, resourceID: id, encounterID: encounterID,
                                  patientID: patientID, payload: nil, priority: ClinicPriority.encounter, maxRetries: RecordContext.clinicMaxRetries),
                    resourceJSON: json)
                // The visit's updates not yet sent (its closing one) wait for the new part, as at recording.
                for waiting in try conn.query("SELECT id FROM outbox WHERE encounter_id = ? AND operation = 'update' AND withdrawn = 0", [.text(encounterID)]) {
                    if let item = waiting["id"].int64 { try context.outbox.addDependency(item, on: create) }
                }
                queued.append(create)
                changed.append(id)
            }
            try conn.execute("INSERT INTO \(domain.table)(\(row.columns.joined(separator: ", "))) VALUES (\(row.columns.map { _ in "?" }.joined(separator: ", ")))",
                             values)
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
        /// Recorded parts the amendment removed, owners before what belongs to them.
        var removed: [(Domain, Row)] = []
        /// Parts the amendment added (draft rows; they keep the draft's ids), owners first.
        var added: [(Domain, Row)] = []
    }

    private func match(_ draft: Shape, _ old: Shape) throws -> Matched {
        var matched = Matched()
        // Part ids matched so far (draft → recorded), and those added or removed, for what belongs to them.
        var pairedIDs: [(new: String, recorded: String)] = []
        var addedIDs: Set<String> = []
        var removedIDs: Set<String> = []
        for domain in EncounterAmendment.domains {
            let new = draft.rows[domain.table] ?? []
            let recorded = old.rows[domain.table] ?? []
            var pairs: [(Row, Row)] = []
            if let parent = domain.parent {
                // What belongs to a part goes with it: paired under a paired owner, else added or removed with it.
                for (newOwner, oldOwner) in pairedIDs {
                    let mine = EncounterAmendment.pair(new.filter { $0[parent.column].string == newOwner },
                                                           recorded.filter { $0[parent.column].string == oldOwner }, key: domain.key)
                    pairs += mine.pairs
                    matched.added += mine.added.map { (domain, $0) }
                    matched.removed += mine.removed.map { (domain, $0) }
                }
                matched.added += new.filter { addedIDs.contains($0[parent.column].string ?? "") }.map { (domain, $0) }
                matched.removed += recorded.filter { removedIDs.contains($0[parent.column].string ?? "") }.map { (domain, $0) }
            } else {
                let mine = EncounterAmendment.pair(new, recorded, key: domain.key)
                pairs = mine.pairs
                matched.added += mine.added.map { (domain, $0) }
                matched.removed += mine.removed.map { (domain, $0) }
            }
            let isOwner = EncounterAmendment.domains.contains { $0.parent?.table == domain.table }
            if isOwner {
                for (row, existing) in pairs { pairedIDs.append((try row.string("local_id"), try existing.string("local_id"))) }
                for (owner, row) in matched.added where owner.table == domain.table { addedIDs.insert(try row.string("local_id")) }
                for (owner, row) in matched.removed where owner.table == domain.table { removedIDs.insert(try row.string("local_id")) }
            }
            for (row, existing) in pairs {
                matched.rows.append((domain.table, row, existing))
                for column in domain.owned { matched.resources.append((try row.string(column), try existing.string(column))) }
            }
        }
        return matched
    }

    /// Pairs the document's parts with the recorded ones: the same code first, then what is
    /// left in order; the rest were added (document) or removed (recorded).
    private static func pair(_ new: [Row], _ recorded: [Row], key: String?) -> (pairs: [(Row, Row)], added: [Row], removed: [Row]) {
        var rest = recorded
        var unmatched: [Row] = []
        var pairs: [(Row, Row)] = []
        for row in new {
            if let key, let index = rest.firstIndex(where: { $0[key] == row[key] }) {
                pairs.append((row, rest.remove(at: index)))
            } else {
                unmatched.append(row)
            }
        }
        let inOrder = min(unmatched.count, rest.count)
        pairs += zip(unmatched.prefix(inOrder), rest.prefix(inOrder)).map { ($0, $1) }
        return (pairs, Array(unmatched.dropFirst(inOrder)), Array(rest.dropFirst(inOrder)))
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
