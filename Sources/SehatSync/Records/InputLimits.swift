import Foundation
import SehatFHIR

/// The limits every input is held to before anything is stored: sizes that keep memory
/// bounded by the limit rather than by the input, text without control characters, and
/// values a body can have. Each refusal names the field, the limit and what was given.
/// `docs/limits.md` lists them all; the JSON Schemas carry the same numbers.
///
///     try InputLimits.checkText("Poli Umum", field: "name", max: InputLimits.nameLength)
public enum InputLimits {
    /// The largest encounter, panic or callback document read (bytes).
    public static let documentBytes = 1 << 20
    /// The largest Bundle `sehat import` reads (bytes).
    public static let bundleBytes = 64 << 20
    /// The largest Bundle file `sehat import` streams (bytes): read entry by entry, so this
    /// bounds the time an import takes, not its memory.
    public static let bundleFileBytes = 1 << 30
    /// The largest one entry of a streamed Bundle may be (bytes).
    public static let entryBytes = 16 << 20
    /// The most entries one imported Bundle may have.
    public static let bundleEntries = 100_000
    /// The most items in one list of a document (vitals, diagnoses, …).
    public static let listItems = 500
    /// Identifiers: an encounter number, a location code, an emergency or ambulance id.
    public static let identifierLength = 64
    /// A person's or a place's name.
    public static let nameLength = 200
    /// A display text, a dosage, an address, a note.
    public static let textLength = 1_000
    /// A unit (`mm[Hg]`, `mg`).
    public static let unitLength = 32
    /// A clinical summary or a conclusion.
    public static let narrativeLength = 100_000

    /// Refuses text longer than `max` characters, or holding a control character (U+0000 to
    /// U+001F, U+007F), except tab and line breaks when `multiline`.
    public static func checkText(_ text: String, field: String, max: Int, multiline: Bool = false) throws {
        var count = 0
        for scalar in text.unicodeScalars {
            count += 1
            let value = scalar.value
            if value < 0x20 || value == 0x7F {
                if multiline, value == 0x09 || value == 0x0A || value == 0x0D { continue }
                let name = value == 0 ? "a NUL character (U+0000)" : "the control character U+\(String(format: "%04X", value))"
                throw FieldError(field, "contains \(name) at character \(count); expected printable text")
            }
        }
        guard count <= max else {
            throw FieldError(field, "is \(count) characters long; the limit is \(max)")
        }
    }

    /// An identifier: printable, no surrounding spaces, 1 to `identifierLength` characters.
    public static func checkIdentifier(_ text: String, field: String) throws {
        guard !text.isEmpty else { throw FieldError(field, "is empty; expected 1 to \(identifierLength) printable characters") }
        try checkText(text, field: field, max: identifierLength)
        guard text.trimmingCharacters(in: .whitespaces) == text else {
            throw FieldError(field, "\(FieldError.quote(text)) starts or ends with a space")
        }
    }

    /// Plausible values by LOINC code, in the unit the SDK records them in: a value outside
    /// is impossible for a living person (the extremes ever measured lie inside), so it is a
    /// typing or unit error. Unusual values inside are kept.
    public static let vitalRanges: [String: (unit: String, range: ClosedRange<Double>)] = [
        "8480-6": ("mm[Hg]", 10...350),   // systolic blood pressure
        "8462-4": ("mm[Hg]", 5...250),    // diastolic blood pressure
        "8867-4": ("/min", 0...350),      // heart rate
        "9279-1": ("/min", 0...150),      // respiratory rate
        "8310-5": ("Cel", 10...47),       // body temperature (survived extremes: 13.7 and 46.5 °C)
        "29463-7": ("kg", 0.2...700),     // body weight
        "8302-2": ("cm", 20...300),       // body height
        "59408-5": ("%", 0...100),        // oxygen saturation
    ]

    /// The largest magnitude of any measured quantity without a known range: beyond it, a
    /// Double no longer holds the digits typed.
    public static let quantityMagnitude = 1e9

    /// Refuses a vital whose value cannot be real: outside the range of its LOINC code when it
    /// is in the code's unit, else beyond ±`quantityMagnitude`.
    public static func checkVital(code: String, value: Double, unit: String, field: String) throws {
        if let known = vitalRanges[code], known.unit == unit {
            guard known.range.contains(value) else {
                throw FieldError(field, "\(format(value)) \(unit) is not possible for LOINC \(code) (expected \(format(known.range.lowerBound)) to \(format(known.range.upperBound)) \(unit))")
            }
        } else {
            try checkQuantity(value, field: field)
        }
    }

    /// Refuses a non-finite quantity, or one beyond ±`quantityMagnitude`.
    public static func checkQuantity(_ value: Double, field: String) throws {
        guard value.isFinite, abs(value) <= quantityMagnitude else {
            throw FieldError(field, "\(format(value)) is out of range (expected at most \(format(quantityMagnitude)) in magnitude)")
        }
    }

    static func format(_ value: Double) -> String {
        value.rounded() == value && abs(value) < 1e15 ? String(Int64(value)) : String(value)
    }
}
