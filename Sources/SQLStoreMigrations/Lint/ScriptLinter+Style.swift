/// The opt-in style rules: column types to prefer, and identifiers PostgreSQL would truncate.
/// They report only when chosen (``LintRule/isOptIn``); the checks run always and are filtered
/// with the other rules' findings.
extension ScriptLinter {
    /// style-char, style-serial, style-timestamp, style-varchar for a column of up scripts.
    mutating func checkStyle(_ statement: LintStatement, table: String, column: String, type: String) {
        guard !isDown else { return }
        let base = type.prefix { $0 != "(" && $0 != "[" }
        let name = "\(table).\(column)"
        switch base {
        case "CHAR", "CHARACTER", "BPCHAR", "NCHAR":
            flag(.styleChar, "\(name) is \(type.lowercased()): use text, with a length CHECK if it matters", at: statement)
        case "SERIAL", "BIGSERIAL", "SMALLSERIAL", "SERIAL2", "SERIAL4", "SERIAL8":
            flag(.styleSerial, "\(name) is \(type.lowercased()): use an identity column", at: statement)
        case "TIMESTAMP", "TIMESTAMP WITHOUT TIME ZONE":
            flag(.styleTimestamp, "\(name) is timestamp without time zone: use timestamptz", at: statement)
        case "VARCHAR" where type != "VARCHAR":
            flag(.styleVarchar, "\(name) is \(type.lowercased()): use text with a named length CHECK", at: statement)
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
            flag(
                .styleIntPrimaryKey,
                "the primary key \(table).\(column) is \(type.lowercased()), which runs out at 2147483647 or less: "
                    + "use bigint", at: statement)
        }
    }

    /// identifier-too-long: any name in the statement longer than PostgreSQL's 63 bytes.
    mutating func checkIdentifierLengths(_ statement: LintStatement) {
        let long = statement.tokens.tokens.compactMap(\.identifier).filter { $0.utf8.count > 63 }
        guard let first = long.first else { return }
        flag(
            .identifierTooLong,
            "\(first.prefix(20))… is \(first.utf8.count) bytes: PostgreSQL keeps only the first 63", at: statement)
    }
}
