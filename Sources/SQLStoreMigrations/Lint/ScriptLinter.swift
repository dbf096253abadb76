/// Lints one script, up or down, statement by statement, against the schema the earlier up
/// scripts built. It keeps what the file has done so far (tables it created, names it dropped
/// with IF EXISTS, constraints it added NOT VALID); each rule receives the statement it checks
/// as a ``LintStatement`` value. The rules are grouped by statement family in the extensions.
struct ScriptLinter {
    let script: MigrationScript
    let isDown: Bool
    var schema: SchemaModel
    var findings: [LintFinding] = []

    /// Tables created (or renamed into existence) earlier in this file: new, so empty and unused.
    var createdTables: Set<String> = []
    /// Schemas created earlier in this file.
    var createdSchemas: Set<String> = []
    /// Names dropped with IF EXISTS earlier in this file; `table.column` for columns.
    var droppedIfExists: Set<String> = []
    /// Constraints added NOT VALID earlier in this file.
    var addedNotValid: Set<String> = []
    /// SECURITY DEFINER routines not yet given a search_path in this file, with their statement.
    var unpinnedDefiners: [(name: String, statement: LintStatement)] = []

    init(script: MigrationScript, isDown: Bool, schema: SchemaModel) {
        self.script = script
        self.isDown = isDown
        self.schema = schema
    }

    /// Records a finding about `statement`: `message` says what is wrong, `why` and `instead` say
    /// why it matters and what to write for this statement (the rule's text when nil), and
    /// `clauses` are the words of the statement text output marks, before the rule's own.
    mutating func flag(
        _ rule: LintRule, _ message: String, why: String? = nil, instead: String? = nil,
        severity: LintSeverity? = nil, marking clauses: [String] = [], at statement: LintStatement
    ) {
        let (column, excerpt) = statement.position(in: script.sql)
        findings.append(
            LintFinding(
                rule: rule, file: script.fileName, line: statement.line, column: column, excerpt: excerpt,
                message: message, why: why, safeAlternative: instead, severity: severity, clauses: clauses))
    }

    mutating func run() {
        checkLintIgnores()
        for (position, source) in script.statements.enumerated() {
            let statement = LintStatement(source, position: position)
            if source.isTransactionControl {
                // A leading BEGIN and a trailing COMMIT are a wrapper, which the runner replaces
                // with its own transaction; only what it would refuse is a finding.
                guard script.transactionControlOffences.contains(source) else { continue }
                let words = statement.leadingWords(2)
                flag(
                    .transactionControl,
                    "\(words) in a migration file: the runner provides the transaction, "
                        + "and refuses files that control it",
                    why: "The runner runs \(script.fileName) and the row recording it in one transaction; \(words) "
                        + "here would commit or open a transaction of its own, so the runner refuses the file before "
                        + "running any of it.",
                    instead: "Delete the `\(words)` line: the runner provides the transaction. If \(script.fileName) "
                        + "must not run in one, make `-- sqlstore:no-transaction` its first line instead.",
                    marking: [words], at: statement)
                continue
            }
            if script.directives.transactional, let what = statement.tokens.outsideTransactionOnly {
                flag(
                    .concurrentlyInTransaction,
                    "\(what) cannot run inside a transaction block, and this migration runs in one; "
                        + "move it to a migration marked -- sqlstore:no-transaction",
                    why: "PostgreSQL refuses \(what) inside a transaction block (SQLSTATE 25001), and the runner runs "
                        + "\(script.fileName) in one, so the migration fails on every attempt.",
                    instead: "Move `\(Self.compact(statement.source.text))` to a migration of its own whose first line is "
                        + "`-- sqlstore:no-transaction`.",
                    marking: [what], at: statement)
            }
            if !isDown { checkIdentifierLengths(statement) }
            switch statement.tokens.word(at: 0) {
            case "CREATE": create(statement)
            case "DROP": drop(statement)
            case "ALTER": alter(statement)
            case "REINDEX": reindex(statement)
            case "TRUNCATE": truncate(statement)
            case "VACUUM", "CLUSTER": tableRewrite(statement)
            case "LOCK": lockTable(statement)
            case "REFRESH": refresh(statement)
            case "UPDATE": update(statement)
            case "DO": doBlock(statement)
            default: break
            }
        }
        for definer in unpinnedDefiners {
            flag(
                .securityDefinerSearchPath,
                "SECURITY DEFINER routine \(definer.name) has no SET search_path: callers can make it "
                    + "resolve names to their own objects and run them with its owner's rights",
                why: "\(definer.name) runs with its owner's rights but resolves unqualified names through the caller's "
                    + "search_path (pg_temp first by default): a caller who can create a table or function of the "
                    + "same name in a schema on that path has it run as the owner.",
                instead: "Add `SET search_path = pg_catalog, public, pg_temp` to the definition of \(definer.name) (or, "
                    + "after it, `ALTER FUNCTION \(definer.name)(…) SET search_path = pg_catalog, public, pg_temp`), "
                    + "and `REVOKE ALL ON FUNCTION \(definer.name)(…) FROM PUBLIC`.",
                at: definer.statement)
        }
        if !script.directives.transactional { checkMixedNoTransaction() }
    }

    func isExisting(_ table: String) -> Bool { !createdTables.contains(table) }

    /// True in an up script for a table that exists before it: the running application may use
    /// it, so the rules about breaking that application apply. (A down script undoes its own
    /// migration, whose objects only the new code used.)
    func isInUse(_ table: String) -> Bool { !isDown && isExisting(table) }

    /// True when a statement after `statement` in this file drops `table`: a lock taken on it
    /// before then matters no more than the drop's own.
    func laterDropsTable(_ table: String, after statement: LintStatement) -> Bool {
        script.statements.dropFirst(statement.position + 1).contains { later in
            let tokens = SkeletonTokens(later.skeleton)
            guard tokens.matches(["DROP", "TABLE"], at: 0) else { return false }
            var index = tokens.skipping(["IF", "EXISTS"], at: 2)
            while let (name, next) = tokens.qualifiedName(at: index) {
                if name == table { return true }
                guard tokens.isSymbol(next, ",") else { break }
                index = next + 1
            }
            return false
        }
    }

    // MARK: File-level rules

    mutating func checkLintIgnores() {
        let known = Set(LintRule.allCases.map(\.rawValue))
        let lines = script.sql.sourceLines
        for name in script.directives.lintIgnores.sorted() where !known.contains(name) {
            let index = lines.firstIndex { $0.contains("sqlstore:lint-ignore") && $0.contains(name) }
            let line = index.map { $0 + 1 } ?? 1
            let excerpt = index.map { String(lines[$0].prefix(160)) } ?? ""
            let closest = LintRule.allCases.map(\.rawValue).min {
                Self.editDistance(name, $0) < Self.editDistance(name, $1)
            }
            let suggestion = closest.map { " Did you mean `\($0)`?" } ?? ""
            findings.append(
                LintFinding(
                    rule: .unknownLintIgnore, file: script.fileName, line: line, column: 1, excerpt: excerpt,
                    message: "lint-ignore names '\(name)', which is no lint rule",
                    why: "'\(name)' acknowledges nothing: the finding it was meant for still fails lint.",
                    safeAlternative: "Name a rule that `sqlstore migrate lint --rules` lists.\(suggestion)",
                    severity: nil, clauses: [name]))
        }
    }

    /// In a no-transaction file each statement commits alone, so only statements that are safe to
    /// leave half-done belong there.
    mutating func checkMixedNoTransaction() {
        let counted = script.statements.enumerated().map { LintStatement($1, position: $0) }.filter { statement in
            let first = statement.tokens.word(at: 0)
            return first != "SET" && first != "RESET"
        }
        guard counted.count > 1 else { return }
        for statement in counted {
            guard !statement.source.isTransactionControl, statement.tokens.outsideTransactionOnly == nil else {
                continue
            }
            switch statement.tokens.word(at: 0) {
            case "ANALYZE", "COMMENT", "REINDEX":
                continue
            default:
                let words = statement.leadingWords(3)
                flag(
                    .mixedNoTransaction,
                    "\(words) runs outside a transaction beside other statements: if a later one "
                        + "fails, this one stays applied",
                    why: "\(script.fileName) is a no-transaction migration, so `\(words) …` commits on its own: if a "
                        + "later statement of the file fails, it stays applied while the migration is recorded as "
                        + "failed, and a retry meets what it already did.",
                    instead: "Move `\(words) …` to a transactional migration before or after this one, and keep "
                        + "\(script.fileName) to its concurrent index builds, each after its "
                        + "`DROP INDEX CONCURRENTLY IF EXISTS`.",
                    marking: [words], at: statement)
            }
        }
    }

    // MARK: Text for findings

    /// A statement on one line, for quoting it in a finding: spaces collapsed, at most 200 characters.
    static func compact(_ sql: String) -> String {
        let lines = sql.sourceLines.map { line -> String in
            String(line.firstRange(of: "--").map { line[..<$0.lowerBound] } ?? line)
        }
        let uncommented: String = lines.joined(separator: " ")
        let words: String = uncommented.split(whereSeparator: \.isWhitespace).map(String.init).joined(separator: " ")
        let trimmed = words.hasSuffix(";") ? String(words.dropLast()) : words
        return trimmed.count > 200 ? String(trimmed.prefix(199)) + "…" : trimmed
    }

    /// Levenshtein distance, for suggesting the rule a misspelt lint-ignore meant.
    static func editDistance(_ a: String, _ b: String) -> Int {
        let a = Array(a)
        let b = Array(b)
        var previous = Array(0...b.count)
        for (i, x) in a.enumerated() {
            var current = [i + 1] + Array(repeating: 0, count: b.count)
            for (j, y) in b.enumerated() {
                current[j + 1] = Swift.min(previous[j + 1] + 1, current[j] + 1, previous[j] + (x == y ? 0 : 1))
            }
            previous = current
        }
        return previous[b.count]
    }

    /// The columns of `table`'s primary key as the migrations declared it, for batched
    /// statements in suggestions (`id` when the linter does not know it).
    func keyColumns(of table: String) -> String {
        let key = schema.indexes.first { $0.table == table && $0.constraint == .primaryKey }
        guard let columns = key?.columns.compactMap({ $0?.name }), !columns.isEmpty else { return "id" }
        return columns.count == 1 ? columns[0] : "(\(columns.joined(separator: ", ")))"
    }
}
