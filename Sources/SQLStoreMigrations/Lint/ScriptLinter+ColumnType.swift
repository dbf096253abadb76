/// ALTER COLUMN … TYPE: column-type-change, except for the binary-compatible changes it can
/// prove from the column's type as the earlier migrations wrote it.
extension ScriptLinter {
    /// `range` starts at the new type.
    mutating func changeType(_ statement: LintStatement, table: String, column: String, range: Range<Int>) {
        let tokens = statement.tokens
        var typeEnd = range.lowerBound
        while typeEnd < range.upperBound, !tokens.isWord(typeEnd, "USING"), !tokens.isWord(typeEnd, "COLLATE") {
            typeEnd += 1
        }
        let newType = tokens.typeName(range.lowerBound..<typeEnd)
        let oldType = schema.columnTypes[table]?[column]
        schema.columnTypes[table, default: [:]][column] = newType
        guard isExisting(table) else { return }
        let hasUsing = tokens.containsTopLevel(["USING"], in: range)
        if !hasUsing, let oldType, Self.isBinaryCompatible(from: oldType, to: newType) { return }
        let from = oldType.map { "from \($0.lowercased()) " } ?? ""
        var instead =
            "Expand and contract: `ALTER TABLE \(table) ADD COLUMN \(column)_new \(newType.lowercased())`; write both "
            + "columns; backfill \(column)_new in batches; switch readers; drop \(column) in a later migration (and "
            + "rename \(column)_new, a brief lock)."
        if let oldType, let limit = Self.narrowedVarcharLimit(from: oldType, to: newType) {
            instead =
                "Keep the column's type and limit its length with a check: `ALTER TABLE \(table) ADD CONSTRAINT "
                + "\(table)_\(column)_length CHECK (length(\(column)) <= \(limit)) NOT VALID`, then `ALTER TABLE \(table) "
                + "VALIDATE CONSTRAINT \(table)_\(column)_length` in a later migration (reads and writes go on)."
        }
        flag(
            .columnTypeChange,
            "changing \(table).\(column) \(oldType.map { "from \($0) " } ?? "")to \(newType) rewrites the table and its "
                + "indexes under ACCESS EXCLUSIVE",
            why: "Changing \(table).\(column) \(from)to \(newType.lowercased()) rewrites all of \(table) and rebuilds its "
                + "indexes (a new relfilenode) under ACCESS EXCLUSIVE: no reads or writes of \(table) until the rewrite "
                + "ends and the migration commits.",
            instead: instead, marking: ["SET DATA TYPE", "TYPE"], at: statement)
    }

    /// The new limit when a change only lowers a varchar's limit (`varchar(50)` to `varchar(20)`).
    static func narrowedVarcharLimit(from old: String, to new: String) -> Int? {
        func limit(_ type: String) -> Int? {
            guard type.hasPrefix("VARCHAR("), type.hasSuffix(")") else { return nil }
            return Int(type.dropFirst("VARCHAR(".count).dropLast().filter { $0 != " " })
        }
        guard let oldLimit = limit(old), let newLimit = limit(new), newLimit < oldLimit else { return nil }
        return newLimit
    }

    /// Changes PostgreSQL makes without a rewrite: same type, widening a varchar or numeric
    /// precision, or dropping the limit.
    static func isBinaryCompatible(from old: String, to new: String) -> Bool {
        if old == new { return true }
        func split(_ type: String) -> (base: String, arguments: [Int]?) {
            guard let open = type.firstIndex(of: "("), type.hasSuffix(")") else { return (type, nil) }
            let inside = type[type.index(after: open)..<type.index(before: type.endIndex)]
            let numbers = inside.split(separator: ",").compactMap { Int($0.filter { $0 != " " }) }
            return (String(type[..<open]), numbers)
        }
        let (oldBase, oldArguments) = split(old)
        let (newBase, newArguments) = split(new)
        switch (oldBase, newBase) {
        case ("VARCHAR", "TEXT"), ("TEXT", "VARCHAR"):
            return newArguments == nil
        case ("VARCHAR", "VARCHAR"):
            guard let newLimit = newArguments?.first else { return true }
            guard let oldLimit = oldArguments?.first else { return false }
            return newLimit >= oldLimit
        case ("NUMERIC", "NUMERIC"):
            guard let newArguments else { return true }
            guard let oldArguments, oldArguments.count == 2 || oldArguments.count == 1 else { return false }
            let oldScale = oldArguments.count == 2 ? oldArguments[1] : 0
            let newScale = newArguments.count == 2 ? newArguments[1] : 0
            guard let newPrecision = newArguments.first, let oldPrecision = oldArguments.first else { return false }
            return newScale == oldScale && newPrecision >= oldPrecision
        default:
            return false
        }
    }
}
