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

    mutating func flag(_ rule: LintRule, _ message: String, at statement: LintStatement) {
        let (column, excerpt) = statement.position(in: script.sql)
        findings.append(
            LintFinding(
                rule: rule, file: script.fileName, line: statement.line, column: column, excerpt: excerpt,
                message: message))
    }

    mutating func run() {
        checkLintIgnores()
        for (position, source) in script.statements.enumerated() {
            let statement = LintStatement(source, position: position)
            if source.isTransactionControl {
                // A leading BEGIN and a trailing COMMIT are a wrapper, which the runner replaces
                // with its own transaction; only what it would refuse is a finding.
                guard script.transactionControlOffences.contains(source) else { continue }
                flag(
                    .transactionControl,
                    "\(statement.leadingWords(2)) in a migration file: the runner provides the transaction, "
                        + "and refuses files that control it", at: statement)
                continue
            }
            if script.directives.transactional, let what = statement.tokens.outsideTransactionOnly {
                flag(
                    .concurrentlyInTransaction,
                    "\(what) cannot run inside a transaction block, and this migration runs in one; "
                        + "move it to a migration marked -- sqlstore:no-transaction", at: statement)
            }
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
            default: break
            }
        }
        for definer in unpinnedDefiners {
            flag(
                .securityDefinerSearchPath,
                "SECURITY DEFINER routine \(definer.name) has no SET search_path: callers can make it "
                    + "resolve names to their own objects and run them with its owner's rights", at: definer.statement)
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
                flag(
                    .mixedNoTransaction,
                    "\(statement.leadingWords(3)) runs outside a transaction beside other statements: if a later one "
                        + "fails, this one stays applied", at: statement)
            }
        }
    }
}
