import Foundation
import SehatFHIR
import SehatStore

/// What recording a visit does when the registry says the practitioner's STR is not active,
/// or expired on the visit's date (a device setting; `sehat config --str-check`).
public enum STRCheck: String, Sendable, CaseIterable {
    /// Record it, keep the warning with the encounter and say it (the default).
    case warn
    /// Refuse it: a `FieldError` on `practitioner_nik` naming the STR's state.
    case refuse
    /// Do not look.
    case off

    /// Why the registry says `nik` may not practise on `day` (`YYYY-MM-DD`); nil when it
    /// says they may, or says nothing (no entry, no status).
    static func problem(nik: String, on day: String, connection: Connection) throws -> String? {
        let entries = try connection.query("SELECT str_number, str_status, str_valid_until FROM registry_entries WHERE nik = ?", [.text(nik)])
        for entry in entries {
            let str = entry.optionalString("str_number").map { "STR \($0)" } ?? "the STR"
            switch entry.optionalString("str_status").flatMap(STRStatus.init) {
            case .inactive?, .revoked?:
                return "\(str) of practitioner \(maskNIK(nik)) is \(entry["str_status"].string ?? "") in the registry"
            case .active?:
                if let until = entry.optionalString("str_valid_until"), until < day {
                    return "\(str) of practitioner \(maskNIK(nik)) expired on \(until), before the visit on \(day)"
                }
            case nil: continue
            }
        }
        return nil
    }
}

extension SehatClient {
    /// What recording does when the registry says a practitioner's STR is not valid.
    public func strCheck() throws -> STRCheck {
        try database.read { STRCheck(rawValue: try $0.scalar("SELECT str_check FROM config WHERE id = 1").string ?? "") ?? .warn }
    }

    /// Sets what recording does when the registry says a practitioner's STR is not valid.
    public func setSTRCheck(_ check: STRCheck) throws {
        try database.write { conn in
            guard try conn.scalar("SELECT count(*) FROM config").int == 1 else { throw NotConfiguredError() }
            try conn.execute("UPDATE config SET str_check = ? WHERE id = 1", [.text(check.rawValue)])
        }
    }
}
