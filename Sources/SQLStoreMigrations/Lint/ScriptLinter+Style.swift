/// The opt-in style rules: column types to prefer, and identifiers PostgreSQL would truncate.
/// They report only when chosen (``LintRule/isOptIn``); the checks run always and are filtered
/// with the other rules' findings.
extension ScriptLinter {
    /// style-char, style-serial, style-timestamp, style-varchar for a column of up scripts.
    mutating func checkStyle(_ statement: LintStatement, table: String, column: String, type: String) {
        guard !isDown else { return }
        let base = type.prefix { $0 != "(" && $0 != "[" }
        let name = "\(table).\(column)"
        let written = type.lowercased()
        let limit = type.firstIndex(of: "(").map { type[type.index(after: $0)...].prefix { $0 != ")" } } ?? ""
        switch base {
        case "CHAR", "CHARACTER", "BPCHAR", "NCHAR":
            let length = limit.isEmpty ? "1" : String(limit)
            flag(
                .styleChar, "\(name) is \(written): use text, with a length CHECK if it matters",
                why: "\(written) pads every value of \(name) with spaces to \(length) characters, stores the padding, "
                    + "and ignores it again in comparisons: more space and surprising equality.",
                instead: "`\(column) text CONSTRAINT \(table)_\(column)_length CHECK (length(\(column)) = \(length))` (or "
                    + "`<= \(length)`).",
                marking: ["\(column) \(type)", type], at: statement)
        case "SERIAL", "BIGSERIAL", "SMALLSERIAL", "SERIAL2", "SERIAL4", "SERIAL8":
            let integer = base.hasPrefix("BIG") || base == "SERIAL8" ? "bigint" : base.hasPrefix("SMALL") || base == "SERIAL2" ? "smallint" : "integer"
            flag(
                .styleSerial, "\(name) is \(written): use an identity column",
                why: "\(written) makes a sequence \(table)_\(column)_seq beside \(table): a role granted INSERT on "
                    + "\(table) cannot insert until it is also granted USAGE on the sequence (SQLSTATE 42501), and an "
                    + "insert with an explicit \(column) leaves the sequence behind, so a later insert collides (23505).",
                instead: "`\(column) \(integer == "integer" ? "bigint" : integer) GENERATED ALWAYS AS IDENTITY` (INSERT on "
                    + "\(table) is enough to use it, and an explicit \(column) is refused unless OVERRIDING SYSTEM VALUE).",
                marking: ["\(column) \(type)", type], at: statement)
        case "TIMESTAMP", "TIMESTAMP WITHOUT TIME ZONE":
            flag(
                .styleTimestamp, "\(name) is timestamp without time zone: use timestamptz",
                why: "\(name) stores the wall-clock reading and ignores the session's TimeZone: one instant written by "
                    + "sessions in two zones is stored as two different values.",
                instead: "`\(column) timestamptz`, which stores an instant.", marking: ["\(column) TIMESTAMP", "TIMESTAMP"],
                at: statement)
        case "VARCHAR" where type != "VARCHAR":
            flag(
                .styleVarchar, "\(name) is \(written): use text with a named length CHECK",
                why: "Lowering the limit of \(written) later rewrites all of \(table) under ACCESS EXCLUSIVE, while a "
                    + "named CHECK on a text column can be replaced NOT VALID and validated without blocking writes.",
                instead: "`\(column) text CONSTRAINT \(table)_\(column)_length CHECK (length(\(column)) <= \(limit))`.",
                marking: ["\(column) \(type)", type, "\(column) CHARACTER VARYING", "CHARACTER VARYING"], at: statement)
        default:
            break
        }
    }

    /// style-int-primary-key for the key columns of a PRIMARY KEY.
    mutating func checkKeyType(_ statement: LintStatement, table: String, columns: [String]) {
        guard !isDown else { return }
        let narrow: Set<String> = ["INT", "SMALLINT", "SERIAL", "SMALLSERIAL", "SERIAL2", "SERIAL4"]
        for column in columns {
            guard let type = schema.columnTypes[table]?[column], narrow.contains(type) else { continue }
            let maximum = type.contains("SMALL") || type == "SERIAL2" ? "32767" : "2147483647"
            flag(
                .styleIntPrimaryKey,
                "the primary key \(table).\(column) is \(type.lowercased()), which runs out at 2147483647 or less: "
                    + "use bigint",
                why: "\(table).\(column) runs out at \(maximum) (SQLSTATE 22003 on the next insert), and widening it to "
                    + "bigint later rewrites all of \(table) under ACCESS EXCLUSIVE, and every table whose foreign key "
                    + "column must be widened with it.",
                instead: "`\(column) bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY` (or bigint for a natural key) from "
                    + "the start.",
                marking: ["\(column) \(type)", "PRIMARY KEY"], at: statement)
        }
    }

    /// identifier-too-long: any name in the statement longer than PostgreSQL's 63 bytes.
    mutating func checkIdentifierLengths(_ statement: LintStatement) {
        let long = statement.tokens.tokens.compactMap(\.identifier).filter { $0.utf8.count > 63 }
        guard let first = long.first else { return }
        let kept = String(decoding: Array(first.utf8.prefix(63)), as: UTF8.self)
        flag(
            .identifierTooLong,
            "\(first.prefix(20))… is \(first.utf8.count) bytes: PostgreSQL keeps only the first 63",
            why: "PostgreSQL truncates \(first) to its first 63 bytes, \(kept), with only a NOTICE: code using the full "
                + "name does not find the object's real name, and another name sharing those 63 bytes collides "
                + "(SQLSTATE 42P07).",
            instead: "Name it within 63 bytes (ASCII characters are one byte each): shorten \(first.prefix(20))….",
            marking: [first], at: statement)
    }
}
