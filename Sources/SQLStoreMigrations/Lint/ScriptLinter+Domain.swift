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
        let list = users.joined(separator: ", ")
        let steps = users.map { table in
            let columns = columnsUsing(domain: domain, in: table)
            let constraint = "\(table)_\(columns.first ?? domain)_check"
            return "`ALTER TABLE \(table) ADD CONSTRAINT \(constraint) CHECK (…\(columns.joined(separator: ", "))…) NOT "
                + "VALID`, then `ALTER TABLE \(table) VALIDATE CONSTRAINT \(constraint)` in a later migration"
        }
        flag(
            .domainConstraint,
            "ALTER DOMAIN \(domain) \(action) checks every \(domain) value of \(list) under a "
                + "SHARE lock, blocking their writes until the migration commits; put a CHECK … NOT VALID on the "
                + "tables instead",
            why: "ALTER DOMAIN \(domain) \(action) checks every \(domain) value in \(list) while holding a SHARE lock on "
                + "each: their INSERT, UPDATE and DELETE wait until the migration commits, and a domain has no "
                + "lock-light validation.",
            instead: "Put the rule on the tables instead: " + steps.joined(separator: "; ")
                + " (reads and writes go on). Constrain a domain when creating it, before tables use it.",
            marking: [action], at: statement)
    }

    /// The columns of `table` whose type is `domain` (or an array of it).
    func columnsUsing(domain: String, in table: String) -> [String] {
        (schema.columnTypes[table] ?? [:]).filter { _, type in
            var base = type
            while base.hasSuffix("[]") { base.removeLast(2) }
            return (base.split(separator: ".").last.map(String.init) ?? base).lowercased() == domain
        }.keys.sorted()
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
