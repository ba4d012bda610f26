/// One refused input: the field (a path such as `diagnoses[0].icd10`) and the reason.
///
///     throw FieldError("patient_nik", "must be 16 digits")
public struct FieldError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The field's path, e.g. `diagnoses[0].icd10`.
    public let field: String
    /// Why it was refused.
    public let reason: String

    /// A refusal of `field` for `reason`.
    public init(_ field: String, _ reason: String) {
        self.field = field
        self.reason = reason
    }

    /// `field: reason`.
    public var description: String { "\(field): \(reason)" }
}

extension FieldError {
    /// A value as a refusal shows it: quoted whole when short, else its start and its size,
    /// so a message never carries megabytes of input (or more of a secret than it must).
    ///
    ///     FieldError.quote("J06.9")   // "\"J06.9\""
    public static func quote(_ value: String) -> String {
        let shown = value.unicodeScalars.map { $0.value < 0x20 || $0.value == 0x7F ? "\\u{\(String($0.value, radix: 16))}" : String($0) }
        guard shown.count > 64 else { return "\"" + shown.joined() + "\"" }
        return "\"" + shown.prefix(32).joined() + "…\" (\(value.unicodeScalars.count) characters)"
    }
}
