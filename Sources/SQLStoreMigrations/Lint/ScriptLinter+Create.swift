/// CREATE TABLE, views, sequences, schemas, extensions and routines: what they add to the schema
/// model, and the down-script and SECURITY DEFINER rules. CREATE INDEX is in `ScriptLinter+Index`.
extension ScriptLinter {
    mutating func create(_ statement: LintStatement) {
        let tokens = statement.tokens
        var index = tokens.skipping(["OR", "REPLACE"], at: 1)
        let orReplace = index > 1
        while let word = tokens.word(at: index), ["GLOBAL", "LOCAL", "TEMP", "TEMPORARY", "UNLOGGED"].contains(word) {
            index += 1
        }
        switch tokens.word(at: index) {
        case "TABLE":
            createTable(statement, at: index + 1)
        case "UNIQUE", "INDEX":
            createIndex(statement, at: index)
        case "MATERIALIZED" where tokens.isWord(index + 1, "VIEW"):
            createRelation(statement, kind: "MATERIALIZED VIEW", at: index + 2, isTable: true)
        case "SEQUENCE":
            createRelation(statement, kind: "SEQUENCE", at: index + 1, isTable: false)
        case "SCHEMA":
            createRelation(statement, kind: "SCHEMA", at: index + 1, isTable: false)
            let start = tokens.skipping(["IF", "NOT", "EXISTS"], at: index + 1)
            if let name = tokens[start]?.identifier { createdSchemas.insert(name) }
        case "EXTENSION":
            createRelation(statement, kind: "EXTENSION", at: index + 1, isTable: false)
        case "FUNCTION", "PROCEDURE":
            createRoutine(statement, at: index + 1, orReplace: orReplace)
        case "VIEW", "RECURSIVE", "TRIGGER":
            let kind = tokens.word(at: index) == "TRIGGER" ? "TRIGGER" : "VIEW"
            let nameIndex = tokens.isWord(index, "RECURSIVE") ? index + 2 : index + 1
            if isDown, !orReplace, let name = tokens.qualifiedName(at: nameIndex)?.name, !droppedIfExists.contains(name)
            {
                flag(
                    .nonIdempotentDown,
                    "CREATE \(kind) \(name) fails if it already exists: write CREATE OR REPLACE \(kind), "
                        + "or DROP \(kind) IF EXISTS first",
                    why: "If \(name) is still there (the down script ran before, failed midway, or was fixed by hand), "
                        + "CREATE \(kind) \(name) fails and the rollback with it.",
                    instead: "`CREATE OR REPLACE \(kind) \(name) …`, or `DROP \(kind) IF EXISTS \(name)` just before it.",
                    marking: ["CREATE"], at: statement)
            }
        default:
            break
        }
    }

    /// Objects with `IF NOT EXISTS`: only the down rule and the set of new tables care.
    mutating func createRelation(_ statement: LintStatement, kind: String, at start: Int, isTable: Bool) {
        let tokens = statement.tokens
        let ifNotExists = tokens.matches(["IF", "NOT", "EXISTS"], at: start)
        guard let name = tokens.qualifiedName(at: ifNotExists ? start + 3 : start)?.name else { return }
        if isTable { createdTables.insert(name) }
        if isDown, !ifNotExists, !droppedIfExists.contains(name) {
            flag(
                .nonIdempotentDown,
                "CREATE \(kind) \(name) fails if it already exists: write CREATE \(kind) IF NOT EXISTS",
                why: "If \(name) is still there (the down script ran before, failed midway, or was fixed by hand), "
                    + "CREATE \(kind) \(name) fails and the rollback with it.",
                instead: "`CREATE \(kind) IF NOT EXISTS \(name) …`.", marking: ["CREATE \(kind)", "CREATE"], at: statement)
        }
    }

    mutating func createTable(_ statement: LintStatement, at start: Int) {
        let tokens = statement.tokens
        createRelation(statement, kind: "TABLE", at: start, isTable: true)
        let ifNotExists = tokens.matches(["IF", "NOT", "EXISTS"], at: start)
        guard let (table, next) = tokens.qualifiedName(at: ifNotExists ? start + 3 : start) else { return }
        schema.dropTable(table)
        guard let end = tokens.closingParenthesis(from: next) else { return }
        if tokens.containsTopLevel(["PARTITION", "BY"], in: end..<tokens.count) { schema.partitionedTables.insert(table) }
        for element in tokens.splitByCommas(next + 1..<end - 1) {
            tableElement(statement, element, table: table)
        }
        checkPrimaryKey(statement, table: table, elements: next + 1..<end - 1, start: start)
    }

    /// table-without-primary-key: a new permanent table with a column list, no PRIMARY KEY, no
    /// LIKE or INHERITS (which may bring one), and no ADD PRIMARY KEY later in the file.
    mutating func checkPrimaryKey(_ statement: LintStatement, table: String, elements: Range<Int>, start: Int) {
        let tokens = statement.tokens
        guard !isDown, !(1..<start).contains(where: { ["TEMP", "TEMPORARY"].contains(tokens.word(at: $0)) }),
            !tokens.contains(["PRIMARY", "KEY"], in: elements),
            !tokens.splitByCommas(elements).contains(where: { tokens.isWord($0.lowerBound, "LIKE") }),
            !tokens.containsTopLevel(["INHERITS"]), !laterAddsPrimaryKey(to: table, after: statement)
        else { return }
        flag(
            .tableWithoutPrimaryKey,
            "table \(table) has no primary key: logical replication cannot publish its UPDATEs and DELETEs, and its "
                + "rows have no stable address",
            why: "Once \(table) is in a publication (for a major-version upgrade, change-data capture or a blue/green "
                + "switchover), its UPDATEs and DELETEs fail (SQLSTATE 55000) for want of a replica identity; and its "
                + "rows have no stable address for the application or for batched backfills.",
            instead: "Give \(table) a primary key: its natural key (`PRIMARY KEY (…)`), or a column `id BIGINT GENERATED "
                + "ALWAYS AS IDENTITY PRIMARY KEY`. If \(table) truly needs none (an append-only log), acknowledge it and "
                + "`ALTER TABLE \(table) REPLICA IDENTITY FULL` if it is replicated.",
            marking: ["CREATE TABLE"], at: statement)
    }

    func laterAddsPrimaryKey(to table: String, after statement: LintStatement) -> Bool {
        script.statements.dropFirst(statement.position + 1).contains { later in
            let tokens = SkeletonTokens(later.skeleton)
            guard tokens.matches(["ALTER", "TABLE"], at: 0) else { return false }
            let index = tokens.skipping(["ONLY"], at: tokens.skipping(["IF", "EXISTS"], at: 2))
            return tokens.qualifiedName(at: index)?.name == table && tokens.contains(["PRIMARY", "KEY"])
        }
    }

    /// A column definition or table constraint of CREATE TABLE.
    mutating func tableElement(_ statement: LintStatement, _ range: Range<Int>, table: String) {
        let tokens = statement.tokens
        var index = range.lowerBound
        var constraintName: String?
        if tokens.isWord(index, "CONSTRAINT") {
            constraintName = tokens[index + 1]?.identifier
            index += 2
        }
        // `CONSTRAINT` with no name or nothing after it: not an element this can read.
        guard index < range.upperBound else { return }
        switch tokens.word(at: index) {
        case "PRIMARY", "UNIQUE", "CHECK":
            tableConstraint(statement, index..<range.upperBound, table: table, name: constraintName, notValid: false)
        case "FOREIGN", "EXCLUDE", "LIKE":
            break
        default:
            guard constraintName == nil, let column = tokens[index]?.identifier else { return }
            columnDefinition(statement, column: column, range: index + 1..<range.upperBound, table: table)
        }
    }

    static let columnConstraintWords: Set<String> = [
        "CONSTRAINT", "NOT", "NULL", "DEFAULT", "PRIMARY", "UNIQUE", "CHECK", "REFERENCES", "GENERATED", "COLLATE",
        "COMPRESSION", "STORAGE", "DEFERRABLE", "INITIALLY",
    ]

    /// Records a column's type and the constraint indexes it declares inline; returns where its
    /// type ends and whether it declares PRIMARY KEY or UNIQUE.
    @discardableResult
    mutating func columnDefinition(_ statement: LintStatement, column: String, range: Range<Int>, table: String) -> (
        typeEnd: Int, buildsIndex: Bool
    ) {
        let tokens = statement.tokens
        var typeEnd = range.lowerBound
        while typeEnd < range.upperBound, !(tokens.word(at: typeEnd).map(Self.columnConstraintWords.contains) ?? false)
        {
            // A parenthesis closing past the element (a stray `)` in the script) ends it there.
            if let close = tokens.closingParenthesis(from: typeEnd) { typeEnd = min(close, range.upperBound) } else { typeEnd += 1 }
        }
        let type = tokens.typeName(range.lowerBound..<typeEnd)
        schema.columnTypes[table, default: [:]][column] = type
        checkStyle(statement, table: table, column: column, type: type)
        var buildsIndex = false
        var depth = 0
        var name: String?
        var index = typeEnd
        while index < range.upperBound {
            if tokens.isSymbol(index, "(") { depth += 1 }
            if tokens.isSymbol(index, ")") { depth -= 1 }
            if depth == 0 {
                if tokens.isWord(index, "CONSTRAINT") { name = tokens[index + 1]?.identifier }
                let kind: SchemaModel.ConstraintKind? =
                    tokens.matches(["PRIMARY", "KEY"], at: index)
                    ? .primaryKey : tokens.isWord(index, "UNIQUE") ? .unique : nil
                if kind == .primaryKey { checkKeyType(statement, table: table, columns: [column]) }
                if let kind {
                    buildsIndex = true
                    addConstraintIndex(statement, kind, name: name, table: table, columns: [column])
                    name = nil
                }
            }
            index += 1
        }
        return (typeEnd, buildsIndex)
    }

    /// PRIMARY KEY (…), UNIQUE (…) or CHECK (…) as a table constraint; `range` starts at the keyword.
    mutating func tableConstraint(
        _ statement: LintStatement, _ range: Range<Int>, table: String, name: String?, notValid: Bool
    ) {
        let tokens = statement.tokens
        let start = range.lowerBound
        if tokens.isWord(start, "CHECK") {
            // CHECK ( col IS NOT NULL ): what lets SET NOT NULL skip its scan.
            if tokens.isSymbol(start + 1, "("), let column = tokens[start + 2]?.identifier,
                tokens.matches(["IS", "NOT", "NULL"], at: start + 3), tokens.isSymbol(start + 6, ")")
            {
                schema.notNullChecks[table, default: [:]][name ?? "\(table)_\(column)_check"] = .init(
                    column: column, validated: !notValid)
            }
            return
        }
        let kind: SchemaModel.ConstraintKind = tokens.isWord(start, "PRIMARY") ? .primaryKey : .unique
        var index = kind == .primaryKey ? start + 2 : start + 1
        index = tokens.skipping(["NULLS", "NOT", "DISTINCT"], at: index)
        index = tokens.skipping(["NULLS", "DISTINCT"], at: index)
        guard let (columns, _) = tokens.columnList(at: index) else { return }
        if kind == .primaryKey { checkKeyType(statement, table: table, columns: columns.compactMap { $0 }) }
        addConstraintIndex(statement, kind, name: name, table: table, columns: columns)
    }

    mutating func addConstraintIndex(
        _ statement: LintStatement, _ kind: SchemaModel.ConstraintKind, name: String?, table: String,
        columns: [String?]
    ) {
        let defaultName =
            kind == .primaryKey
            ? "\(table)_pkey" : "\(table)_\(columns.map { $0 ?? "expr" }.joined(separator: "_"))_key"
        let index = SchemaModel.Index(
            name: name ?? defaultName, table: table,
            columns: columns.map { $0.map { SchemaModel.IndexColumn(name: $0, descending: false, nullsFirst: false) } },
            unique: true, constraint: kind, origin: "\(script.fileName):\(statement.line)")
        addIndex(index, at: statement)
    }

    mutating func createRoutine(_ statement: LintStatement, at start: Int, orReplace: Bool) {
        let tokens = statement.tokens
        guard let name = tokens.qualifiedName(at: start)?.name else { return }
        if tokens.isWord(start - 1, "FUNCTION") {
            // PostgreSQL may inline a LANGUAGE sql function into the expression calling it, and the
            // expression's own volatility then decides: only other languages are known by their declaration.
            let isSQL = tokens.containsTopLevel(["LANGUAGE", "SQL"]) || tokens.contains(["BEGIN", "ATOMIC"])
            schema.functionVolatility[name] = isSQL ? nil : Self.volatility(tokens) ?? "VOLATILE"
            if isSQL { schema.sqlFunctions.insert(name) } else { schema.sqlFunctions.remove(name) }
        }
        if tokens.contains(["SECURITY", "DEFINER"]), !tokens.contains(["SET", "SEARCH_PATH"]) {
            unpinnedDefiners.append((name, statement))
        }
        if isDown, !orReplace, !droppedIfExists.contains(name) {
            let kind = statement.leadingWords(2)
            flag(
                .nonIdempotentDown, "\(kind) \(name) fails if it already exists: write CREATE OR REPLACE",
                why: "If \(name) is still there (the down script ran before, failed midway, or was fixed by hand), "
                    + "\(kind) \(name) fails and the rollback with it.",
                instead: "`CREATE OR REPLACE \(kind.dropFirst("CREATE ".count)) \(name)(…) …`.", marking: ["CREATE"],
                at: statement)
        }
    }

    /// The volatility a CREATE or ALTER FUNCTION states at its top level, if any.
    static func volatility(_ tokens: SkeletonTokens) -> String? {
        ["IMMUTABLE", "STABLE", "VOLATILE"].first { tokens.containsTopLevel([$0]) }
    }
}
