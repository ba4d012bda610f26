/// One refused input: the field (a path such as `diagnoses[0].icd10`) and the reason.
///
///     throw FieldError("patient_nik", "must be 16 digits")
public struct FieldError: Error, Sendable, Equatable, CustomStringConvertible {
    public let field: String
    public let reason: String

    public init(_ field: String, _ reason: String) {
        self.field = field
        self.reason = reason
    }

    public var description: String { "\(field): \(reason)" }
}
