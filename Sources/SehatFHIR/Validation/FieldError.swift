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
