/// UPDATE: assigning one column twice (fails), and a whole-table UPDATE in a transactional
/// migration (locks every row until commit).
extension ScriptLinter {
    mutating func update(_ statement: LintStatement) {
        let tokens = statement.tokens
        let index = tokens.skipping(["ONLY"], at: 1)
        guard let (table, afterTable) = tokens.qualifiedName(at: index),
            let set = tokens.firstTopLevel(["SET"], in: afterTable..<tokens.count)
        else { return }
        let end =
            ["FROM", "WHERE", "RETURNING"].compactMap { tokens.firstTopLevel([$0], in: set + 1..<tokens.count) }.min()
            ?? tokens.count
        var assigned: Set<String> = []
        var twice: [String] = []
        for assignment in tokens.splitByCommas(set + 1..<end) {
            for column in assignedColumns(tokens, assignment) where !assigned.insert(column).inserted {
                twice.append(column)
            }
        }
        if let column = twice.first {
            flag(
                .updateAssignsTwice,
                "UPDATE \(table) assigns \(column) twice: PostgreSQL refuses it (SQLSTATE 42601)",
                why: "PostgreSQL refuses an UPDATE of \(table) that assigns \(column) twice (SQLSTATE 42601, multiple "
                    + "assignments to same column): the migration fails.",
                instead: "Assign \(column) once, combining the two expressions (`SET \(column) = coalesce(…, …)`, or a CASE).",
                marking: [column, "SET"], at: statement)
        }
        if script.directives.transactional, isExisting(table), !tokens.containsTopLevel(["WHERE"]) {
            let key = keyColumns(of: table)
            let set = Self.compact(statement.source.text).firstMatch(of: /(?i)\bSET\b\s+(.*)$/).map { String($0.1) } ?? "…"
            flag(
                .wholeTableUpdate,
                "UPDATE of every row of \(table) locks them all until the migration commits; backfill in batches "
                    + "from a no-transaction migration",
                why: "UPDATE of every row of \(table) locks each row it writes until the migration commits, so every "
                    + "write of \(table) by the application waits; and it writes a new version of every row at once "
                    + "(bloat, WAL, replica lag).",
                instead: "Backfill in batches from a migration marked `-- sqlstore:no-transaction` (each statement commits "
                    + "on its own) or a job: `UPDATE \(table) SET \(set) WHERE \(key) IN (SELECT \(key) FROM \(table) WHERE "
                    + "<not yet done> LIMIT 1000)`, repeated until it updates no row.",
                marking: ["UPDATE"], at: statement)
        }
    }

    /// The columns an assignment sets as a whole: `col = …` or `(a, b) = …`. A subscript or
    /// field (`col[1] = …`, `col.f = …`) sets part of a column, which PostgreSQL lets appear twice.
    func assignedColumns(_ tokens: SkeletonTokens, _ range: Range<Int>) -> [String] {
        let start = range.lowerBound
        if let (columns, next) = tokens.columnList(at: start), tokens.isSymbol(next, "=") {
            return columns.compactMap { $0 }
        }
        guard let column = tokens[start]?.identifier, tokens.isSymbol(start + 1, "=") else { return [] }
        return [column]
    }
}
