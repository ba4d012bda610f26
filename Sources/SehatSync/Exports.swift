import SehatFHIR
import SehatStore

/// A refused input, naming the field and the reason (from SehatFHIR).
public typealias FieldError = SehatFHIR.FieldError
/// A lossless JSON value (from SehatFHIR).
public typealias JSON = SehatFHIR.JSON
/// A JSON text that could not be parsed, with its line and column (from SehatFHIR).
public typealias JSONSyntaxError = SehatFHIR.JSONSyntaxError
/// UTC date-time parsing and formatting (from SehatFHIR).
public typealias FHIRDateTime = SehatFHIR.FHIRDateTime
/// SATUSEHAT's field rules (from SehatFHIR).
public typealias SatusehatRules = SehatFHIR.SatusehatRules
/// An SQLite failure with its result code, message and SQL (from SehatStore).
public typealias DatabaseError = SehatStore.DatabaseError
/// A value only touched under a lock (from SehatStore).
public typealias Locked = SehatStore.Locked
