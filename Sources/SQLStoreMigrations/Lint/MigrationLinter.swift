/// Flags what is dangerous to run on a live database, statement by statement, with the file and
/// line of each finding. See ``LintRule`` for the rules and `docs/lint.md` for the reasoning.
///
/// The linter reads statement skeletons (``SQLStatement/skeleton``), so literals and comments
/// never trigger a rule, and code inside `DO` blocks or function bodies is not inspected. A
/// table counts as existing, and so as possibly large and busy, unless the same file created
/// it. Findings a file acknowledges with `-- sqlstore:lint-ignore=rule` are left out.
public struct MigrationLinter: Sendable {
    public init() {}

    /// Lints `migrations`, which must be in version order: duplicate-index and the checks that
    /// follow constraints and column types across files build the schema as the up scripts run.
    public func lint(_ migrations: [Migration]) -> [LintFinding] {
        var schema = SchemaModel()
        var findings: [LintFinding] = []
        for migration in migrations {
            var up = ScriptLinter(script: migration.up, isDown: false, schema: schema)
            up.run()
            schema = up.schema

            var upFindings = up.findings
            var downFindings: [LintFinding] = []
            if let downScript = migration.down {
                // A down script runs against the schema its up script built; what it changes is
                // forgotten, since the next migration builds on the up script.
                var down = ScriptLinter(script: downScript, isDown: true, schema: schema)
                down.run()
                downFindings = down.findings
                if downScript.statements.isEmpty,
                    !migration.up.directives.lintIgnores.contains(LintRule.missingDown.rawValue)
                {
                    downFindings.append(
                        LintFinding(
                            rule: .missingDown, file: downScript.fileName, line: 1,
                            message: "the down script has no statements: `down` would forget this migration "
                                + "and leave its changes"))
                }
            } else {
                upFindings.append(
                    LintFinding(
                        rule: .missingDown, file: migration.up.fileName, line: 1,
                        message: "no \(migration.id).down.sql: this migration cannot be rolled back"))
            }
            findings += Self.acknowledged(upFindings, by: migration.up)
            if let downScript = migration.down { findings += Self.acknowledged(downFindings, by: downScript) }
        }
        return findings
    }

    private static func acknowledged(_ findings: [LintFinding], by script: MigrationScript) -> [LintFinding] {
        let ignores = script.directives.lintIgnores
        return findings.enumerated()
            .filter { !ignores.contains($0.element.rule.rawValue) }
            .sorted { ($0.element.line, $0.offset) < ($1.element.line, $1.offset) }
            .map(\.element)
    }
}

extension SQLStatement {
    /// True for statements PostgreSQL refuses inside a transaction block (SQLSTATE 25001):
    /// `CREATE INDEX CONCURRENTLY`, `DROP INDEX CONCURRENTLY`, `REINDEX … CONCURRENTLY`,
    /// `ALTER TABLE … DETACH PARTITION … CONCURRENTLY`, `VACUUM`, `CREATE`/`DROP DATABASE`,
    /// `CREATE`/`DROP TABLESPACE`, `ALTER SYSTEM`, `REINDEX DATABASE|SYSTEM`. A migration holding
    /// one must be marked `-- sqlstore:no-transaction`.
    public var cannotRunInTransactionBlock: Bool {
        ScriptLinter.outsideTransactionOnly(SkeletonTokens(skeleton)) != nil
    }
}

// MARK: - One script

private struct ScriptLinter {
    let script: MigrationScript
    let isDown: Bool
    var schema: SchemaModel
    var findings: [LintFinding] = []

    /// Tables created (or renamed into existence) earlier in this file: new, so empty and unused.
    var createdTables: Set<String> = []
    /// Names dropped with IF EXISTS earlier in this file; `table.column` for columns.
    var droppedIfExists: Set<String> = []
    /// Constraints added NOT VALID earlier in this file.
    var addedNotValid: Set<String> = []
    /// SECURITY DEFINER routines not yet given a search_path in this file, with their line.
    var unpinnedDefiners: [(name: String, line: Int)] = []

    var statement = SQLStatement(text: "", line: 0, skeleton: "", isTransactionControl: false)
    var tokens = SkeletonTokens(tokens: [])

    init(script: MigrationScript, isDown: Bool, schema: SchemaModel) {
        self.script = script
        self.isDown = isDown
        self.schema = schema
    }

    mutating func flag(_ rule: LintRule, _ message: String) {
        findings.append(LintFinding(rule: rule, file: script.fileName, line: statement.line, message: message))
    }

    mutating func run() {
        checkLintIgnores()
        for current in script.statements {
            statement = current
            tokens = SkeletonTokens(current.skeleton)
            if current.isTransactionControl {
                flag(
                    .transactionControl,
                    "\(leadingWords(2)) in a migration file: the runner provides the transaction, "
                        + "and refuses files that control it")
                continue
            }
            if script.directives.transactional, let what = Self.outsideTransactionOnly(tokens) {
                flag(
                    .concurrentlyInTransaction,
                    "\(what) cannot run inside a transaction block, and this migration runs in one; "
                        + "move it to a migration marked -- sqlstore:no-transaction")
            }
            switch tokens.word(at: 0) {
            case "CREATE": create()
            case "DROP": drop()
            case "ALTER": alter()
            case "REINDEX": reindex()
            default: break
            }
        }
        for definer in unpinnedDefiners {
            findings.append(
                LintFinding(
                    rule: .securityDefinerSearchPath, file: script.fileName, line: definer.line,
                    message: "SECURITY DEFINER routine \(definer.name) has no SET search_path: callers can make it "
                        + "resolve names to their own objects and run them with its owner's rights"))
        }
        if !script.directives.transactional { checkMixedNoTransaction() }
    }

    func leadingWords(_ count: Int) -> String {
        (0..<count).compactMap { tokens.word(at: $0) }.joined(separator: " ")
    }

    func isExisting(_ table: String) -> Bool { !createdTables.contains(table) }

    // MARK: File-level rules

    mutating func checkLintIgnores() {
        let known = Set(LintRule.allCases.map(\.rawValue))
        let lines = script.sql.split(separator: "\n", omittingEmptySubsequences: false)
        for name in script.directives.lintIgnores.sorted() where !known.contains(name) {
            let line = lines.firstIndex { $0.contains("sqlstore:lint-ignore") && $0.contains(name) }.map { $0 + 1 } ?? 1
            findings.append(
                LintFinding(
                    rule: .unknownLintIgnore, file: script.fileName, line: line,
                    message: "lint-ignore names '\(name)', which is no lint rule"))
        }
    }

    /// In a no-transaction file each statement commits alone, so only statements that are safe to
    /// leave half-done belong there.
    mutating func checkMixedNoTransaction() {
        let counted = script.statements.filter { statement in
            let first = SkeletonTokens(statement.skeleton).word(at: 0)
            return first != "SET" && first != "RESET"
        }
        guard counted.count > 1 else { return }
        for current in counted {
            statement = current
            tokens = SkeletonTokens(current.skeleton)
            guard !current.isTransactionControl, Self.outsideTransactionOnly(tokens) == nil else { continue }
            switch tokens.word(at: 0) {
            case "ANALYZE", "COMMENT", "REINDEX":
                continue
            default:
                flag(
                    .mixedNoTransaction,
                    "\(leadingWords(3)) runs outside a transaction beside other statements: if a later one fails, "
                        + "this one stays applied")
            }
        }
    }

    /// What in the statement PostgreSQL refuses inside a transaction block, if anything.
    static func outsideTransactionOnly(_ tokens: SkeletonTokens) -> String? {
        switch tokens.word(at: 0) {
        case "CREATE":
            let index = tokens.skipping(["UNIQUE"], at: 1)
            if tokens.matches(["INDEX", "CONCURRENTLY"], at: index) { return "CREATE INDEX CONCURRENTLY" }
            if tokens.isWord(1, "DATABASE") { return "CREATE DATABASE" }
            if tokens.isWord(1, "TABLESPACE") { return "CREATE TABLESPACE" }
        case "DROP":
            if tokens.matches(["INDEX", "CONCURRENTLY"], at: 1) { return "DROP INDEX CONCURRENTLY" }
            if tokens.isWord(1, "DATABASE") { return "DROP DATABASE" }
            if tokens.isWord(1, "TABLESPACE") { return "DROP TABLESPACE" }
        case "REINDEX":
            if tokens.containsTopLevel(["CONCURRENTLY"]) { return "REINDEX CONCURRENTLY" }
            if tokens.containsTopLevel(["DATABASE"]) || tokens.containsTopLevel(["SYSTEM"]) {
                return "REINDEX DATABASE/SYSTEM"
            }
        case "VACUUM":
            return "VACUUM"
        case "ALTER":
            if tokens.isWord(1, "SYSTEM") { return "ALTER SYSTEM" }
            if tokens.isWord(1, "TABLE"), tokens.containsTopLevel(["DETACH", "PARTITION"]),
                tokens.containsTopLevel(["CONCURRENTLY"])
            {
                return "DETACH PARTITION CONCURRENTLY"
            }
        default:
            break
        }
        return nil
    }

    // MARK: CREATE

    mutating func create() {
        var index = tokens.skipping(["OR", "REPLACE"], at: 1)
        let orReplace = index > 1
        while let word = tokens.word(at: index), ["GLOBAL", "LOCAL", "TEMP", "TEMPORARY", "UNLOGGED"].contains(word) {
            index += 1
        }
        switch tokens.word(at: index) {
        case "TABLE":
            createTable(at: index + 1)
        case "UNIQUE", "INDEX":
            createIndex(at: index)
        case "MATERIALIZED" where tokens.isWord(index + 1, "VIEW"):
            createRelation(kind: "MATERIALIZED VIEW", at: index + 2, isTable: true)
        case "SEQUENCE":
            createRelation(kind: "SEQUENCE", at: index + 1, isTable: false)
        case "SCHEMA":
            createRelation(kind: "SCHEMA", at: index + 1, isTable: false)
        case "EXTENSION":
            createRelation(kind: "EXTENSION", at: index + 1, isTable: false)
        case "FUNCTION", "PROCEDURE":
            createRoutine(at: index + 1, orReplace: orReplace)
        case "VIEW", "RECURSIVE", "TRIGGER":
            let kind = tokens.word(at: index) == "TRIGGER" ? "TRIGGER" : "VIEW"
            let nameIndex = tokens.isWord(index, "RECURSIVE") ? index + 2 : index + 1
            if isDown, !orReplace, let name = tokens.qualifiedName(at: nameIndex)?.name, !droppedIfExists.contains(name)
            {
                flag(
                    .nonIdempotentDown,
                    "CREATE \(kind) \(name) fails if it already exists: write CREATE OR REPLACE \(kind), "
                        + "or DROP \(kind) IF EXISTS first")
            }
        default:
            break
        }
    }

    /// Objects with `IF NOT EXISTS`: only the down rule and the set of new tables care.
    mutating func createRelation(kind: String, at start: Int, isTable: Bool) {
        let ifNotExists = tokens.matches(["IF", "NOT", "EXISTS"], at: start)
        guard let name = tokens.qualifiedName(at: ifNotExists ? start + 3 : start)?.name else { return }
        if isTable { createdTables.insert(name) }
        if isDown, !ifNotExists, !droppedIfExists.contains(name) {
            flag(
                .nonIdempotentDown,
                "CREATE \(kind) \(name) fails if it already exists: write CREATE \(kind) IF NOT EXISTS")
        }
    }

    mutating func createTable(at start: Int) {
        createRelation(kind: "TABLE", at: start, isTable: true)
        let ifNotExists = tokens.matches(["IF", "NOT", "EXISTS"], at: start)
        guard let (table, next) = tokens.qualifiedName(at: ifNotExists ? start + 3 : start) else { return }
        schema.dropTable(table)
        guard let end = tokens.closingParenthesis(from: next) else { return }
        for element in tokens.splitByCommas(next + 1..<end - 1) {
            tableElement(element, table: table)
        }
    }

    /// A column definition or table constraint of CREATE TABLE.
    mutating func tableElement(_ range: Range<Int>, table: String) {
        var index = range.lowerBound
        var constraintName: String?
        if tokens.isWord(index, "CONSTRAINT") {
            constraintName = tokens[index + 1]?.identifier
            index += 2
        }
        switch tokens.word(at: index) {
        case "PRIMARY", "UNIQUE", "CHECK":
            tableConstraint(index..<range.upperBound, table: table, name: constraintName, notValid: false)
        case "FOREIGN", "EXCLUDE", "LIKE":
            break
        default:
            guard constraintName == nil, let column = tokens[index]?.identifier else { return }
            columnDefinition(column: column, range: index + 1..<range.upperBound, table: table)
        }
    }

    static let columnConstraintWords: Set<String> = [
        "CONSTRAINT", "NOT", "NULL", "DEFAULT", "PRIMARY", "UNIQUE", "CHECK", "REFERENCES", "GENERATED", "COLLATE",
        "COMPRESSION", "STORAGE", "DEFERRABLE", "INITIALLY",
    ]

    /// Records a column's type and the constraint indexes it declares inline; returns where its
    /// type ends and whether it declares PRIMARY KEY or UNIQUE.
    @discardableResult
    mutating func columnDefinition(column: String, range: Range<Int>, table: String) -> (
        typeEnd: Int, buildsIndex: Bool
    ) {
        var typeEnd = range.lowerBound
        while typeEnd < range.upperBound, !(tokens.word(at: typeEnd).map(Self.columnConstraintWords.contains) ?? false)
        {
            if let close = tokens.closingParenthesis(from: typeEnd) { typeEnd = close } else { typeEnd += 1 }
        }
        schema.columnTypes[table, default: [:]][column] = tokens.typeName(range.lowerBound..<typeEnd)
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
                if let kind {
                    buildsIndex = true
                    addConstraintIndex(kind, name: name, table: table, columns: [column])
                    name = nil
                }
            }
            index += 1
        }
        return (typeEnd, buildsIndex)
    }

    /// PRIMARY KEY (…), UNIQUE (…) or CHECK (…) as a table constraint; `range` starts at the keyword.
    mutating func tableConstraint(_ range: Range<Int>, table: String, name: String?, notValid: Bool) {
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
        addConstraintIndex(kind, name: name, table: table, columns: columns)
    }

    mutating func addConstraintIndex(
        _ kind: SchemaModel.ConstraintKind, name: String?, table: String, columns: [String?]
    ) {
        let defaultName =
            kind == .primaryKey
            ? "\(table)_pkey" : "\(table)_\(columns.map { $0 ?? "expr" }.joined(separator: "_"))_key"
        let index = SchemaModel.Index(
            name: name ?? defaultName, table: table,
            columns: columns.map { $0.map { SchemaModel.IndexColumn(name: $0, descending: false, nullsFirst: false) } },
            unique: true, constraint: kind, origin: "\(script.fileName):\(statement.line)")
        addIndex(index)
    }

    mutating func createIndex(at start: Int) {
        var index = start
        let unique = tokens.isWord(index, "UNIQUE")
        if unique { index += 1 }
        guard tokens.isWord(index, "INDEX") else { return }
        index += 1
        let concurrently = tokens.isWord(index, "CONCURRENTLY")
        if concurrently { index += 1 }
        let ifNotExists = tokens.matches(["IF", "NOT", "EXISTS"], at: index)
        if ifNotExists { index += 3 }
        var name: String?
        if !tokens.isWord(index, "ON"), let parsed = tokens.qualifiedName(at: index) {
            name = parsed.name
            index = parsed.next
        }
        guard tokens.isWord(index, "ON") else { return }
        index = tokens.skipping(["ONLY"], at: index + 1)
        guard let (table, afterTable) = tokens.qualifiedName(at: index) else { return }
        index = afterTable
        var method = "BTREE"
        if tokens.isWord(index, "USING"), let word = tokens.word(at: index + 1) {
            method = word
            index += 2
        }
        guard let end = tokens.closingParenthesis(from: index) else { return }
        let columns = tokens.splitByCommas(index + 1..<end - 1).map(indexColumn)
        let rest = end..<tokens.count
        let label = name ?? "on \(table)"

        if !concurrently && isExisting(table) {
            flag(
                .indexWithoutConcurrently,
                "CREATE INDEX \(label) without CONCURRENTLY blocks all writes to \(table) until the build ends")
        }
        if concurrently, ifNotExists, let name, !droppedIfExists.contains(name) {
            flag(
                .concurrentlyIfNotExists,
                "if a build of \(name) fails it leaves an INVALID index that IF NOT EXISTS then keeps; "
                    + "DROP INDEX CONCURRENTLY IF EXISTS \(name) first")
        }
        if isDown, !ifNotExists, !(name.map(droppedIfExists.contains) ?? false) {
            flag(
                .nonIdempotentDown,
                name.map { "CREATE INDEX \($0) fails if it already exists: write CREATE INDEX IF NOT EXISTS" }
                    ?? "an unnamed CREATE INDEX adds one more index each time it runs: name it and use IF NOT EXISTS")
        }
        addIndex(
            SchemaModel.Index(
                name: name ?? "\(table)_\(columns.map { $0?.name ?? "expr" }.joined(separator: "_"))_idx", table: table,
                columns: columns, unique: unique, constraint: nil, isBTree: method == "BTREE",
                isPartial: tokens.containsTopLevel(["WHERE"], in: rest),
                hasInclude: tokens.containsTopLevel(["INCLUDE"], in: rest),
                origin: "\(script.fileName):\(statement.line)"))
    }

    /// A plain column of an index, with its ordering; nil for anything else.
    func indexColumn(_ range: Range<Int>) -> SchemaModel.IndexColumn? {
        guard let name = tokens[range.lowerBound]?.identifier, !tokens.isSymbol(range.lowerBound + 1, "(") else {
            return nil
        }
        var descending = false
        var nullsFirst: Bool?
        var index = range.lowerBound + 1
        while index < range.upperBound {
            switch tokens.word(at: index) {
            case "ASC": descending = false
            case "DESC": descending = true
            case "NULLS" where tokens.isWord(index + 1, "FIRST"):
                nullsFirst = true
                index += 1
            case "NULLS" where tokens.isWord(index + 1, "LAST"):
                nullsFirst = false
                index += 1
            default: return nil
            }
            index += 1
        }
        return SchemaModel.IndexColumn(name: name, descending: descending, nullsFirst: nullsFirst ?? descending)
    }

    /// Adds an index to the schema, flagging it if it is redundant, or if it makes an earlier one so.
    mutating func addIndex(_ index: SchemaModel.Index) {
        defer { schema.indexes.append(index) }
        guard !isDown else { return }
        if index.isPlain, let cover = schema.indexes.first(where: { $0.covers(index) }) {
            let relation = cover.columns.count == index.columns.count ? "duplicates" : "is a leading prefix of"
            flag(
                .duplicateIndex, "index \(index.name) on \(index.table) \(index.columnList) \(relation) \(cover.label)")
            return
        }
        for redundant in schema.indexes where redundant.isPlain && index.covers(redundant) {
            let what = index.constraint.map { "this \($0.rawValue) constraint's index" } ?? "index \(index.name)"
            flag(.duplicateIndex, "\(what) makes \(redundant.label) redundant: drop it")
        }
    }

    mutating func createRoutine(at start: Int, orReplace: Bool) {
        guard let name = tokens.qualifiedName(at: start)?.name else { return }
        if tokens.contains(["SECURITY", "DEFINER"]), !tokens.contains(["SET", "SEARCH_PATH"]) {
            unpinnedDefiners.append((name, statement.line))
        }
        if isDown, !orReplace, !droppedIfExists.contains(name) {
            let kind = leadingWords(2)
            flag(.nonIdempotentDown, "\(kind) \(name) fails if it already exists: write CREATE OR REPLACE")
        }
    }

    // MARK: DROP

    mutating func drop() {
        var index = 1
        var kind = tokens.word(at: index) ?? ""
        if kind == "MATERIALIZED" || kind == "FOREIGN" {
            index += 1
            kind += " " + (tokens.word(at: index) ?? "")
        }
        let kinds: Set<String> = [
            "TABLE", "INDEX", "FUNCTION", "PROCEDURE", "ROUTINE", "VIEW", "MATERIALIZED VIEW", "FOREIGN TABLE",
            "SEQUENCE", "TYPE", "DOMAIN", "TRIGGER", "SCHEMA", "EXTENSION", "POLICY", "RULE", "AGGREGATE",
        ]
        guard kinds.contains(kind) else { return }
        index += 1
        if kind == "INDEX" { index = tokens.skipping(["CONCURRENTLY"], at: index) }
        let ifExists = tokens.matches(["IF", "EXISTS"], at: index)
        if ifExists { index += 2 }
        var names: [String] = []
        while let (name, next) = tokens.qualifiedName(at: index) {
            names.append(name)
            index = tokens.closingParenthesis(from: next) ?? next
            guard tokens.isSymbol(index, ",") else { break }
            index += 1
        }
        if ifExists {
            droppedIfExists.formUnion(names)
        } else if isDown, let first = names.first {
            flag(.nonIdempotentDown, "DROP \(kind) \(first) fails if it is already gone: write DROP \(kind) IF EXISTS")
        }
        for name in names {
            switch kind {
            case "TABLE":
                schema.dropTable(name)
                createdTables.remove(name)
            case "INDEX":
                schema.dropIndex(name)
            default:
                break
            }
        }
    }

    // MARK: ALTER

    mutating func alter() {
        switch tokens.word(at: 1) {
        case "TABLE":
            alterTable()
        case "INDEX":
            let start = tokens.skipping(["IF", "EXISTS"], at: 2)
            if let (name, next) = tokens.qualifiedName(at: start), tokens.matches(["RENAME", "TO"], at: next),
                let newName = tokens[next + 2]?.identifier
            {
                schema.renameIndex(name, to: newName)
            }
        case "FUNCTION", "PROCEDURE", "ROUTINE":
            guard let name = tokens.qualifiedName(at: 2)?.name else { return }
            if tokens.contains(["SET", "SEARCH_PATH"]) {
                unpinnedDefiners.removeAll { $0.name == name }
            } else if tokens.contains(["SECURITY", "DEFINER"]) {
                unpinnedDefiners.append((name, statement.line))
            }
        default:
            break
        }
    }

    mutating func alterTable() {
        var index = tokens.skipping(["IF", "EXISTS"], at: 2)
        index = tokens.skipping(["ONLY"], at: index)
        guard let (table, next) = tokens.qualifiedName(at: index) else { return }
        index = tokens.isSymbol(next, "*") ? next + 1 : next
        guard index < tokens.count else { return }
        for action in tokens.splitByCommas(index..<tokens.count) where !action.isEmpty {
            alterTableAction(action, table: table)
        }
    }

    mutating func alterTableAction(_ range: Range<Int>, table: String) {
        let start = range.lowerBound
        switch tokens.word(at: start) {
        case "ADD":
            var index = start + 1
            var name: String?
            if tokens.isWord(index, "CONSTRAINT") {
                name = tokens[index + 1]?.identifier
                index += 2
            }
            switch tokens.word(at: index) {
            case "PRIMARY", "UNIQUE", "CHECK", "FOREIGN", "EXCLUDE":
                addConstraint(index..<range.upperBound, table: table, name: name)
            default:
                guard name == nil else { return }
                addColumn(tokens.skipping(["COLUMN"], at: index)..<range.upperBound, table: table)
            }
        case "ALTER":
            let index = tokens.skipping(["COLUMN"], at: start + 1)
            guard let column = tokens[index]?.identifier else { return }
            if tokens.matches(["SET", "NOT", "NULL"], at: index + 1) {
                setNotNull(table: table, column: column)
            } else if tokens.isWord(index + 1, "TYPE") {
                changeType(table: table, column: column, range: index + 2..<range.upperBound)
            } else if tokens.matches(["SET", "DATA", "TYPE"], at: index + 1) {
                changeType(table: table, column: column, range: index + 4..<range.upperBound)
            }
        case "DROP":
            dropFromTable(start + 1..<range.upperBound, table: table)
        case "VALIDATE" where tokens.isWord(start + 1, "CONSTRAINT"):
            guard let name = tokens[start + 2]?.identifier else { return }
            if script.directives.transactional, addedNotValid.contains(name) {
                flag(
                    .constraintWithoutNotValid,
                    "VALIDATE CONSTRAINT \(name) in the same transaction as its ADD … NOT VALID scans \(table) while "
                        + "still holding the lock the ADD took: validate in a later migration")
            }
            schema.notNullChecks[table]?[name]?.validated = true
        case "RENAME":
            rename(start + 1..<range.upperBound, table: table)
        default:
            break
        }
    }

    mutating func addConstraint(_ range: Range<Int>, table: String, name: String?) {
        let start = range.lowerBound
        let notValid = tokens.containsTopLevel(["NOT", "VALID"], in: range)
        if notValid, let name { addedNotValid.insert(name) }
        switch tokens.word(at: start) {
        case "PRIMARY", "UNIQUE":
            if tokens.containsTopLevel(["USING", "INDEX"], in: range) {
                // The index was built beforehand (CONCURRENTLY, one hopes) and becomes the constraint's.
                if let using = tokens.firstTopLevel(["USING", "INDEX"], in: range),
                    let indexName = tokens.qualifiedName(at: using + 2)?.name,
                    let position = schema.indexes.firstIndex(where: { $0.name == indexName })
                {
                    schema.indexes[position].constraint = tokens.isWord(start, "PRIMARY") ? .primaryKey : .unique
                    if let name { schema.indexes[position].name = name }
                }
                return
            }
            if isExisting(table) {
                flag(
                    .indexWithoutConcurrently,
                    "ADD \(tokens.isWord(start, "PRIMARY") ? "PRIMARY KEY" : "UNIQUE") builds its index under ACCESS "
                        + "EXCLUSIVE on \(table), blocking reads and writes; build a unique index CONCURRENTLY, then "
                        + "ADD CONSTRAINT … USING INDEX")
            }
            tableConstraint(range, table: table, name: name, notValid: false)
        case "CHECK":
            if isExisting(table) && !notValid {
                flag(
                    .constraintWithoutNotValid,
                    "ADD CHECK checks every row of \(table) under ACCESS EXCLUSIVE: add it NOT VALID, validate later")
            }
            tableConstraint(range, table: table, name: name, notValid: notValid)
        case "FOREIGN":
            if isExisting(table) && !notValid {
                flag(
                    .constraintWithoutNotValid,
                    "ADD FOREIGN KEY checks every row of \(table) while blocking writes to it and to the referenced "
                        + "table: add it NOT VALID, validate later")
            }
        default:
            break
        }
    }

    static let volatileFunctions: Set<String> = [
        "RANDOM", "RANDOM_NORMAL", "GEN_RANDOM_UUID", "UUIDV4", "UUIDV7", "UUID_GENERATE_V1", "UUID_GENERATE_V1MC",
        "UUID_GENERATE_V4", "CLOCK_TIMESTAMP", "TIMEOFDAY", "NEXTVAL",
    ]
    static let serialTypes: Set<String> = ["SERIAL", "BIGSERIAL", "SMALLSERIAL", "SERIAL2", "SERIAL4", "SERIAL8"]

    /// `range` starts after ADD [COLUMN].
    mutating func addColumn(_ range: Range<Int>, table: String) {
        let ifNotExists = tokens.matches(["IF", "NOT", "EXISTS"], at: range.lowerBound)
        let nameIndex = ifNotExists ? range.lowerBound + 3 : range.lowerBound
        guard let column = tokens[nameIndex]?.identifier else { return }
        let definition = nameIndex + 1..<range.upperBound
        let (typeEnd, buildsIndex) = columnDefinition(column: column, range: definition, table: table)
        if isDown, !ifNotExists, !droppedIfExists.contains("\(table).\(column)") {
            flag(
                .nonIdempotentDown,
                "ADD COLUMN \(column) fails if \(table) already has it: write ADD COLUMN IF NOT EXISTS")
        }
        guard isExisting(table) else { return }
        if buildsIndex {
            flag(
                .indexWithoutConcurrently,
                "ADD COLUMN \(column) … UNIQUE/PRIMARY KEY builds an index on \(table) under ACCESS EXCLUSIVE: add the "
                    + "column, build a unique index CONCURRENTLY, then ADD CONSTRAINT … USING INDEX")
        }
        let constraints = typeEnd..<definition.upperBound
        var rewrite: String?
        if let type = tokens.word(at: definition.lowerBound), Self.serialTypes.contains(type),
            typeEnd == definition.lowerBound + 1
        {
            rewrite = "its \(type) type fills every row from a sequence"
        } else if tokens.containsTopLevel(["AS", "IDENTITY"], in: constraints) {
            rewrite = "an identity column fills every row from a sequence"
        } else if tokens.containsTopLevel(["GENERATED"], in: constraints),
            tokens.containsTopLevel(["STORED"], in: constraints)
        {
            rewrite = "a stored generated column is computed for every row"
        } else if let defaultIndex = tokens.firstTopLevel(["DEFAULT"], in: constraints),
            let function = (defaultIndex + 1..<constraints.upperBound).first(where: { index in
                tokens.word(at: index).map(Self.volatileFunctions.contains) == true && tokens.isSymbol(index + 1, "(")
            }).flatMap({ tokens.word(at: $0) })
        {
            rewrite = "its default \(function.lowercased())() is volatile, so it is evaluated for every row"
        }
        if let rewrite {
            flag(
                .volatileDefault,
                "ADD COLUMN \(column) rewrites all of \(table) under ACCESS EXCLUSIVE: \(rewrite); add the column "
                    + "plainly, set the default for new rows, then backfill existing rows in batches")
        }
    }

    mutating func setNotNull(table: String, column: String) {
        guard isExisting(table), !schema.hasValidatedNotNullCheck(on: table, column: column) else { return }
        flag(
            .setNotNull,
            "SET NOT NULL on \(table).\(column) scans the whole table under ACCESS EXCLUSIVE; first add "
                + "CHECK (\(column) IS NOT NULL) NOT VALID and validate it in an earlier migration")
    }

    /// `range` starts at the new type.
    mutating func changeType(table: String, column: String, range: Range<Int>) {
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
        flag(
            .columnTypeChange,
            "changing \(table).\(column) \(oldType.map { "from \($0) " } ?? "")to \(newType) rewrites the table and its "
                + "indexes under ACCESS EXCLUSIVE")
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

    /// `range` starts after DROP.
    mutating func dropFromTable(_ range: Range<Int>, table: String) {
        var index = range.lowerBound
        let isConstraint = tokens.isWord(index, "CONSTRAINT")
        if isConstraint {
            index += 1
        } else {
            index = tokens.skipping(["COLUMN"], at: index)
        }
        let ifExists = tokens.matches(["IF", "EXISTS"], at: index)
        if ifExists { index += 2 }
        guard let name = tokens[index]?.identifier else { return }
        let kind = isConstraint ? "CONSTRAINT" : "COLUMN"
        if ifExists {
            droppedIfExists.insert(isConstraint ? name : "\(table).\(name)")
        } else if isDown {
            flag(
                .nonIdempotentDown,
                "DROP \(kind) \(name) fails if \(table) no longer has it: write DROP \(kind) IF EXISTS \(name)")
        }
        if isConstraint {
            schema.dropConstraint(name, on: table)
        } else {
            schema.dropColumn(name, on: table)
        }
    }

    /// `range` starts after RENAME.
    mutating func rename(_ range: Range<Int>, table: String) {
        let start = range.lowerBound
        if tokens.isWord(start, "TO"), let newName = tokens[start + 1]?.identifier {
            schema.renameTable(table, to: newName)
            if createdTables.remove(table) != nil { createdTables.insert(newName) }
        } else if tokens.isWord(start, "CONSTRAINT"), let old = tokens[start + 1]?.identifier,
            tokens.isWord(start + 2, "TO"), let newName = tokens[start + 3]?.identifier
        {
            schema.renameConstraint(old, on: table, to: newName)
        } else {
            let index = tokens.skipping(["COLUMN"], at: start)
            if let old = tokens[index]?.identifier, tokens.isWord(index + 1, "TO"),
                let newName = tokens[index + 2]?.identifier
            {
                schema.renameColumn(old, on: table, to: newName)
            }
        }
    }

    // MARK: REINDEX

    mutating func reindex() {
        guard !tokens.containsTopLevel(["CONCURRENTLY"]) else { return }
        var index = 1
        if let close = tokens.closingParenthesis(from: index) { index = close }
        guard let kind = tokens.word(at: index), kind == "INDEX" || kind == "TABLE",
            let name = tokens.qualifiedName(at: index + 1)?.name
        else { return }
        if kind == "TABLE" && !isExisting(name) { return }
        flag(
            .indexWithoutConcurrently,
            "REINDEX \(kind) \(name) without CONCURRENTLY blocks writes to the table, and reads that use the index, "
                + "until it ends")
    }
}
