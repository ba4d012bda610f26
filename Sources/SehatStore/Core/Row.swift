/// One result row; columns are read by name or position.
///
///     let name = try row.string("name")
public struct Row: Sendable, Hashable {
    /// Column names, in select order.
    public let columns: [String]
    /// Values, in select order.
    public let values: [SQLValue]

    /// A row of named values.
    public init(columns: [String], values: [SQLValue]) {
        self.columns = columns
        self.values = values
    }

    /// The value of a column, or `.null` when no such column was selected.
    public subscript(_ column: String) -> SQLValue {
        guard let index = columns.firstIndex(of: column) else { return .null }
        return values[index]
    }

    /// The value in a column by position.
    public subscript(_ index: Int) -> SQLValue { values[index] }

    /// A non-null text column; throws naming the column otherwise.
    public func string(_ column: String) throws -> String {
        guard let value = self[column].string else { throw DatabaseError.misuse("column \(column) is NULL or missing") }
        return value
    }

    /// A non-null integer column; throws naming the column otherwise.
    public func int(_ column: String) throws -> Int {
        guard let value = self[column].int else { throw DatabaseError.misuse("column \(column) is NULL or not an integer") }
        return value
    }

    /// A column's text, or nil.
    public func optionalString(_ column: String) -> String? { self[column].string }
    /// A column's integer, or nil.
    public func optionalInt(_ column: String) -> Int? { self[column].int }
    /// A column's real, or nil.
    public func optionalDouble(_ column: String) -> Double? { self[column].double }
}
