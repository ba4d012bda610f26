import SehatFHIR
import SehatJSON
import SehatStore

/// A refused input, naming the field and the reason (from SehatFHIR).
public typealias FieldError = SehatFHIR.FieldError
/// A lossless JSON value (from SehatJSON).
public typealias JSON = SehatJSON.JSON
/// A JSON text that could not be parsed, with its line and column (from SehatJSON).
public typealias JSONSyntaxError = SehatJSON.JSONSyntaxError
/// UTC date-time parsing and formatting (from SehatFHIR).
public typealias FHIRDateTime = SehatFHIR.FHIRDateTime
/// SATUSEHAT's field rules (from SehatFHIR).
public typealias SatusehatRules = SehatFHIR.SatusehatRules
/// An SQLite failure with its result code, message and SQL (from SehatStore).
public typealias DatabaseError = SehatStore.DatabaseError
