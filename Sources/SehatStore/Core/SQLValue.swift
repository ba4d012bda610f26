import Foundation

/// A value as SQLite stores it.
///
///     try db.execute("INSERT INTO t(a, b) VALUES (?, ?)", [1, "x"])
public enum SQLValue: Sendable, Hashable {
    case null
    case integer(Int64)
    case real(Double)
    case text(String)
    case blob([UInt8])

    /// `.text(s)` or `.null` for a missing string.
    public init(_ string: String?) { self = string.map { .text($0) } ?? .null }
    /// `.integer(n)` or `.null` for a missing number.
    public init(_ int: Int?) { self = int.map { .integer(Int64($0)) } ?? .null }
    /// An integer column value, or NULL.
    public init(_ int: Int64?) { self = int.map { .integer($0) } ?? .null }
    /// `.real(x)` or `.null` for a missing number.
    public init(_ double: Double?) { self = double.map { .real($0) } ?? .null }
    /// `1` / `0`, or `.null`.
    public init(_ bool: Bool?) { self = bool.map { .integer($0 ? 1 : 0) } ?? .null }

    /// Whether it is NULL.
    public var isNull: Bool { if case .null = self { return true } else { return false } }

    /// The value as text, converting numbers; nil for NULL and blobs.
    public var string: String? {
        switch self {
        case .text(let s): return s
        case .integer(let i): return String(i)
        case .real(let d): return String(d)
        case .null, .blob: return nil
        }
    }

    /// The value as an integer, converting real and numeric text; nil otherwise.
    public var int64: Int64? {
        switch self {
        case .integer(let i): return i
        case .real(let d): return Int64(exactly: d.rounded(.towardZero))
        case .text(let s): return Int64(s)
        case .null, .blob: return nil
        }
    }

    /// The integer, when it is one and fits.
    public var int: Int? { int64.map { Int($0) } }

    /// The value as a real, when it is a number.
    public var double: Double? {
        switch self {
        case .integer(let i): return Double(i)
        case .real(let d): return d
        case .text(let s): return Double(s)
        case .null, .blob: return nil
        }
    }
}

extension SQLValue: ExpressibleByStringLiteral, ExpressibleByIntegerLiteral, ExpressibleByFloatLiteral,
    ExpressibleByNilLiteral, ExpressibleByBooleanLiteral
{
    /// A text literal.
    public init(stringLiteral value: String) { self = .text(value) }
    /// An integer literal.
    public init(integerLiteral value: Int64) { self = .integer(value) }
    /// A real literal.
    public init(floatLiteral value: Double) { self = .real(value) }
    /// NULL.
    public init(nilLiteral: ()) { self = .null }
    /// 1 or 0.
    public init(booleanLiteral value: Bool) { self = .integer(value ? 1 : 0) }
}
