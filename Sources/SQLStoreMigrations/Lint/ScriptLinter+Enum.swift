/// ALTER TYPE … ADD VALUE: a new enum value cannot be used before the transaction that added it
/// commits.
extension ScriptLinter {
    /// Flags the first later statement of a transactional file that quotes the value just added.
    mutating func addEnumValue(_ statement: LintStatement, type: String) {
        guard script.directives.transactional, let value = Self.addedEnumValue(statement.source.text) else { return }
        let quoted = "'" + value + "'"
        let later = script.statements.enumerated().dropFirst(statement.position + 1)
        guard let (position, use) = later.first(where: { $0.element.text.contains(quoted) }) else { return }
        flag(
            .newEnumValueInTransaction,
            "\(quoted) is added to enum \(type) at line \(statement.line) of this transaction, and cannot be used "
                + "before it commits (SQLSTATE 55P04): use it in a later migration",
            why: "\(quoted) was added to \(type) by ALTER TYPE … ADD VALUE at line \(statement.line), in the same "
                + "transaction: PostgreSQL refuses its use before that transaction commits (SQLSTATE 55P04, unsafe use "
                + "of new value), so the migration fails.",
            instead: "Keep `ALTER TYPE \(type) ADD VALUE \(quoted)` in this migration and move this statement to a later "
                + "one (or mark this migration `-- sqlstore:no-transaction`, so the ADD VALUE commits first).",
            marking: [quoted], at: LintStatement(use, position: position))
    }

    /// The value of `ALTER TYPE … ADD VALUE [IF NOT EXISTS] 'value' …` as written between its
    /// quotes (a quote inside it stays doubled).
    static func addedEnumValue(_ text: String) -> String? {
        let pattern = /(?i)ADD\s+VALUE\s+(?:IF\s+NOT\s+EXISTS\s+)?'((?:[^']|'')*)'/
        guard let match = text.firstMatch(of: pattern) else { return nil }
        return String(match.1)
    }
}
