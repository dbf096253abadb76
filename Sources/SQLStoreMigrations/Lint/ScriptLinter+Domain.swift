/// ALTER DOMAIN: constraints checked against every table that uses the domain.
extension ScriptLinter {
    mutating func alterDomain(_ statement: LintStatement) {
        let tokens = statement.tokens
        guard let (domain, next) = tokens.qualifiedName(at: 2) else { return }
        let action: String
        if tokens.isWord(next, "ADD") {
            guard !tokens.containsTopLevel(["NOT", "VALID"]) else { return }
            action = "ADD CONSTRAINT"
        } else if tokens.matches(["VALIDATE", "CONSTRAINT"], at: next) {
            action = "VALIDATE CONSTRAINT"
        } else if tokens.matches(["SET", "NOT", "NULL"], at: next) {
            action = "SET NOT NULL"
        } else {
            return
        }
        let users = tablesUsing(domain: domain)
        guard !users.isEmpty else { return }
        flag(
            .domainConstraint,
            "ALTER DOMAIN \(domain) \(action) checks every \(domain) value of \(users.joined(separator: ", ")) under a "
                + "SHARE lock, blocking their writes until the migration commits; put a CHECK … NOT VALID on the "
                + "tables instead", at: statement)
    }

    /// Tables that exist before this file with a column of type `domain` (or an array of it).
    func tablesUsing(domain: String) -> [String] {
        schema.columnTypes.filter { table, columns in
            isExisting(table)
                && columns.values.contains { type in
                    var base = type
                    while base.hasSuffix("[]") { base.removeLast(2) }
                    let name = base.split(separator: ".").last.map(String.init) ?? base
                    return name.lowercased() == domain
                }
        }.keys.sorted()
    }
}
