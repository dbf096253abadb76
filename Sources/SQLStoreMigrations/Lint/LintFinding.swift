/// How much a finding matters. Both fail lint (exit status 1); code-scanning tools and
/// workflow annotations show them differently.
public enum LintSeverity: String, Sendable, Hashable, Codable, CaseIterable {
    /// Blocks or rewrites a busy table, fails when it runs, or opens a security hole.
    case error
    /// Costs something or makes a rollback harder, without blocking traffic.
    case warning
}

/// One thing the linter flags: the rule, where, and what exactly.
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
    /// What exactly is wrong here, naming the table, column or index, and the safe way for this case.
    public let message: String
    /// The rule's ``LintRule/severity``, unless a ``LintConfiguration`` changed it.
    public let severity: LintSeverity

    public init(
        rule: LintRule, file: String, line: Int, column: Int = 1, excerpt: String = "", message: String,
        severity: LintSeverity? = nil
    ) {
        self.rule = rule
        self.severity = severity ?? rule.severity
        self.file = file
        self.line = line
        self.column = column
        self.excerpt = excerpt
        self.message = message
    }

    /// This finding at another severity.
    func with(severity: LintSeverity) -> LintFinding {
        LintFinding(
            rule: rule, file: file, line: line, column: column, excerpt: excerpt, message: message, severity: severity)
    }

    /// `003_create_orders.up.sql:12: [index-without-concurrently] …`
    public var description: String { "\(file):\(line): [\(rule.rawValue)] \(message)" }
}

extension LintStatement {
    /// Where the statement starts in `sql`, its file's text: the 1-based column of its first
    /// character on ``line``, and that line of the statement, trimmed to 160 characters.
    func position(in sql: String) -> (column: Int, excerpt: String) {
        let firstLine = source.text.prefix { $0 != "\n" && $0 != "\r" }
        let excerpt = firstLine.count > 160 ? String(firstLine.prefix(159)) + "…" : String(firstLine)
        let lines = sql.split(separator: "\n", omittingEmptySubsequences: false)
        guard line >= 1, line <= lines.count, let start = lines[line - 1].firstRange(of: firstLine) else {
            return (1, excerpt)
        }
        return (lines[line - 1].distance(from: lines[line - 1].startIndex, to: start.lowerBound) + 1, excerpt)
    }
}
