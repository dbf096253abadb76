/// Flags what is dangerous to run on a live database, statement by statement, with the file and
/// line of each finding. See ``LintRule`` for the rules and `docs/lint.md` for the reasoning.
///
/// The linter reads statement skeletons (``SQLStatement/skeleton``), so literals and comments
/// never trigger a rule, and code inside `DO` blocks or function bodies is not checked (a `DO`
/// block that changes the schema draws `ddl-in-do-block`, saying so). A table counts as
/// existing, and so as possibly large and busy, unless the same file created it; in up scripts
/// an existing table is also in use by the running application. What the migrations have not
/// shown it (an index, function or domain created elsewhere) draws no finding. Findings a file
/// acknowledges with `-- sqlstore:lint-ignore=rule` are left out.
///
/// The rules live in ``ScriptLinter`` and its extensions, one file per statement family
/// (`ScriptLinter+Create.swift`, `+Index`, `+Drop`, `+AlterTable`, `+AddColumn`, `+ColumnType`,
/// `+Maintenance`, `+Update`, `+Enum`, `+Domain`, `+DoBlock`, `+Style`).
public struct MigrationLinter: Sendable {
    /// The rules this linter reports; findings of any other rule are left out.
    public let rules: Set<LintRule>
    /// Severities that replace the rules' own.
    public let severities: [LintRule: LintSeverity]
    /// Migrations numbered up to this version are history only: their findings are left out.
    public let startAfter: Int64?

    public init(
        rules: Set<LintRule> = LintRule.defaultRules, severities: [LintRule: LintSeverity] = [:],
        startAfter: Int64? = nil
    ) {
        self.rules = rules
        self.severities = severities
        self.startAfter = startAfter
    }

    /// A linter applying a folder's ``LintConfiguration``.
    public init(configuration: LintConfiguration) {
        self.init(
            rules: configuration.selectedRules, severities: configuration.severities,
            startAfter: configuration.startAfter)
    }

    /// Lints `migrations`, which must be in version order: duplicate-index and the checks that
    /// follow constraints and column types across files build the schema as the up scripts run.
    public func lint(_ migrations: [Migration]) -> [LintFinding] {
        var schema = SchemaModel()
        var findings: [LintFinding] = []
        for migration in migrations {
            let reported = startAfter.map { migration.version > $0 } ?? true
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
                                + "and leave its changes",
                            why: "`sqlstore migrate down` would run \(downScript.fileName), do nothing, and remove "
                                + "\(migration.id) from the history while its changes stay: the next `up` runs "
                                + "\(migration.up.fileName) again and fails on what already exists.",
                            safeAlternative: "Write in \(downScript.fileName) the statements that reverse "
                                + "\(migration.up.fileName), in reverse order, with IF EXISTS; if they cannot be "
                                + "reversed, say so in \(migration.up.fileName) with "
                                + "`-- sqlstore:lint-ignore=missing-down`."))
                }
            } else {
                upFindings.append(
                    LintFinding(
                        rule: .missingDown, file: migration.up.fileName, line: 1,
                        message: "no \(migration.id).down.sql: this migration cannot be rolled back",
                        why: "Without \(migration.id).down.sql, `sqlstore migrate down` cannot roll \(migration.id) "
                            + "back after a bad deploy.",
                        safeAlternative: "Write \(migration.id).down.sql reversing \(migration.up.fileName) with "
                            + "IF EXISTS; if it truly cannot be reversed, say why in \(migration.up.fileName) next to "
                            + "`-- sqlstore:lint-ignore=missing-down`."))
            }
            guard reported else { continue }
            findings += Self.acknowledged(upFindings, by: migration.up)
            if let downScript = migration.down { findings += Self.acknowledged(downFindings, by: downScript) }
        }
        return findings.filter { rules.contains($0.rule) }.map { finding in
            severities[finding.rule].map { finding.with(severity: $0) } ?? finding
        }
    }

    private static func acknowledged(_ findings: [LintFinding], by script: MigrationScript) -> [LintFinding] {
        let ignores = script.directives.lintIgnores
        return findings.enumerated()
            .filter { !ignores.contains($0.element.rule.rawValue) }
            .sorted { ($0.element.line, $0.offset) < ($1.element.line, $1.offset) }
            .map(\.element)
    }
}
