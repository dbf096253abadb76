/// How much a finding matters. Both fail lint (exit status 1); code-scanning tools and
/// workflow annotations show them differently.
public enum LintSeverity: String, Sendable, Hashable, Codable, CaseIterable {
    /// Blocks or rewrites a busy table, fails when it runs, or opens a security hole.
    case error
    /// Costs something or makes a rollback harder, without blocking traffic.
    case warning
}

/// One thing the linter flags: the rule, where, and what exactly, with the why and the safe
/// alternative for this statement (naming its table, column or index), not only the rule's.
public struct LintFinding: Sendable, Hashable, CustomStringConvertible {
    public let rule: LintRule
    /// The migration file's name, as ``MigrationScript/fileName`` has it.
    public let file: String
    /// 1-based line of the statement the finding is about (of the directive, for file-level rules).
    public let line: Int
    /// 1-based column, in characters, where that statement starts on its line.
    public let column: Int
    /// The statement's first line as written (at most 160 characters), for showing the finding
    /// without opening the file; empty when the finding is about the file as a whole.
    public let excerpt: String
    /// What exactly is wrong here, naming the table, column or index.
    public let message: String
    /// Why this statement is dangerous, for its table or index; the rule's
    /// ``LintRule/explanation`` where the linter knows nothing more specific.
    public let why: String
    /// What to write instead of this statement, with its names filled in; the rule's
    /// ``LintRule/safeAlternative`` where the linter knows nothing more specific.
    public let safeAlternative: String
    /// The rule's ``LintRule/severity``, unless the finding or a ``LintConfiguration`` changed it.
    public let severity: LintSeverity
    /// The words of ``excerpt`` this finding is about (`CHAR(3)`, `DROP COLUMN nickname`), most
    /// specific first, tried before the rule's ``LintRule/clauses`` when text output marks the clause.
    let clauses: [String]

    public init(
        rule: LintRule, file: String, line: Int, column: Int = 1, excerpt: String = "", message: String,
        why: String? = nil, safeAlternative: String? = nil, severity: LintSeverity? = nil
    ) {
        self.init(
            rule: rule, file: file, line: line, column: column, excerpt: excerpt, message: message, why: why,
            safeAlternative: safeAlternative, severity: severity, clauses: [])
    }

    init(
        rule: LintRule, file: String, line: Int, column: Int, excerpt: String, message: String, why: String?,
        safeAlternative: String?, severity: LintSeverity?, clauses: [String]
    ) {
        self.rule = rule
        self.severity = severity ?? rule.severity
        self.file = file
        self.line = line
        self.column = column
        self.excerpt = excerpt
        self.message = message
        self.why = why ?? rule.explanation
        self.safeAlternative = safeAlternative ?? rule.safeAlternative
        self.clauses = clauses
    }

    /// This finding at another severity.
    func with(severity: LintSeverity) -> LintFinding {
        LintFinding(
            rule: rule, file: file, line: line, column: column, excerpt: excerpt, message: message, why: why,
            safeAlternative: safeAlternative, severity: severity, clauses: clauses)
    }

    /// `003_create_orders.up.sql:12: [index-without-concurrently] …`
    public var description: String { "\(file):\(line): [\(rule.rawValue)] \(message)" }
}

extension LintStatement {
    /// Where the statement starts in `sql`, its file's text: the 1-based column of its first
    /// character on ``line``, and that line of the statement, trimmed to 160 characters.
    func position(in sql: String) -> (column: Int, excerpt: String) {
        let firstLine = source.text.prefix { !$0.isNewline }
        let excerpt = firstLine.count > 160 ? String(firstLine.prefix(159)) + "…" : String(firstLine)
        let lines = sql.sourceLines
        guard line >= 1, line <= lines.count, let start = lines[line - 1].firstRange(of: firstLine) else {
            return (1, excerpt)
        }
        return (lines[line - 1].distance(from: lines[line - 1].startIndex, to: start.lowerBound) + 1, excerpt)
    }
}
