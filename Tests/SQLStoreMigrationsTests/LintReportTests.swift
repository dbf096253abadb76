import Foundation
import Testing

@testable import SQLStoreMigrations

/// The output formats of `sqlstore migrate lint --format`, on a fixed pair of findings.
@Suite("LintReport")
struct LintReportTests {
    static func migrations() throws -> [Migration] {
        [
            Migration(
                version: 1, name: "users",
                up: try MigrationScript(fileName: "001_users.up.sql", sql: "CREATE TABLE users (id int PRIMARY KEY, email text);"),
                down: try MigrationScript(fileName: "001_users.down.sql", sql: "DROP TABLE IF EXISTS users;")),
            Migration(
                version: 2, name: "index",
                up: try MigrationScript(
                    fileName: "002_index.up.sql",
                    sql: "-- users by email\nSELECT 1;  CREATE INDEX users_email ON users (email);"),
                down: nil),
        ]
    }

    static func report(directory: String? = "db/migrations") throws -> LintReport {
        let migrations = try migrations()
        return LintReport(findings: MigrationLinter().lint(migrations), migrationCount: migrations.count, directory: directory)
    }

    @Test("findings carry the statement's column and first line, and the rule's severity")
    func positions() throws {
        let findings = try Self.report().findings
        #expect(findings.map(\.rule) == [.missingDown, .indexWithoutConcurrently])
        let index = try #require(findings.last)
        #expect(index.line == 2)
        #expect(index.column == 12)
        #expect(index.excerpt == "CREATE INDEX users_email ON users (email)")
        #expect(index.severity == .error)
        #expect(findings.first?.severity == .warning)
    }

    @Test("text shows the path as given, line:column, severity, the statement, this finding's why and instead, and the doc link")
    func text() throws {
        let text = try Self.report().render(.text)
        #expect(
            text.contains(
                "db/migrations/002_index.up.sql:2:12: error [index-without-concurrently] CREATE INDEX users_email"),
            "\(text)")
        #expect(text.contains("  | CREATE INDEX users_email ON users (email)\n  | ^^^^^^^^^^^^\n"), "\(text)")
        #expect(text.contains("  why: CREATE INDEX holds a SHARE lock on users for the whole build of users_email"), "\(text)")
        #expect(
            text.contains(
                "  instead: In a migration of its own marked `-- sqlstore:no-transaction`: `DROP INDEX CONCURRENTLY IF "
                    + "EXISTS users_email; CREATE INDEX CONCURRENTLY users_email ON users (email)`."), "\(text)")
        #expect(!text.contains(LintRule.indexWithoutConcurrently.explanation), "not the rule's generic paragraph")
        #expect(text.contains("  why: Without 002_index.down.sql, `sqlstore migrate down` cannot roll 002_index back"))
        #expect(text.contains("  see: docs/lint.md#index-without-concurrently"))
        #expect(text.hasSuffix("2 finding(s) in 2 migrations: 1 error(s), 1 warning(s)\n"))
        let clean = LintReport(findings: [], migrationCount: 3, directory: nil).render(.text)
        #expect(clean == "lint: 3 migrations, no findings\n")
    }

    @Test("json is one object per finding with every documented field")
    func json() throws {
        let data = Data(try Self.report().render(.json).utf8)
        let document = try JSONDecoder().decode(LintReport.JSONDocument.self, from: data)
        #expect(document.version == 1)
        #expect(document.migrations == 2)
        #expect(document.findings.count == 2)
        let finding = try #require(document.findings.last)
        #expect(finding.rule == "index-without-concurrently")
        #expect(finding.severity == "error")
        #expect(finding.file == "db/migrations/002_index.up.sql")
        #expect((finding.line, finding.column) == (2, 12))
        #expect(finding.excerpt == "CREATE INDEX users_email ON users (email)")
        #expect(finding.message.contains("users_email"))
        // why and safe_alternative are this finding's, naming its table and index.
        #expect(finding.why.hasPrefix("CREATE INDEX holds a SHARE lock on users for the whole build of users_email"))
        #expect(finding.safeAlternative.contains("CREATE INDEX CONCURRENTLY users_email ON users (email)"))
        #expect(finding.safeAlternative.contains("DROP INDEX CONCURRENTLY IF EXISTS users_email"))
        #expect(finding.doc == "docs/lint.md#index-without-concurrently")
        // The keys are the documented ones, spelt as documented.
        let object = try #require(
            (try JSONSerialization.jsonObject(with: data) as? [String: Any])?["findings"] as? [[String: Any]])
        #expect(
            Set(object[0].keys) == [
                "rule", "severity", "file", "line", "column", "excerpt", "message", "why", "safe_alternative", "doc",
            ])
    }

    @Test("github writes one workflow command per finding, with properties and data escaped")
    func github() throws {
        let lines = try Self.report().render(.github).split(separator: "\n")
        #expect(lines.count == 2)
        #expect(lines[0].hasPrefix("::warning file=db/migrations/002_index.up.sql,line=1,col=1,title=sqlstore lint%3A missing-down::"))
        #expect(
            lines[1].hasPrefix(
                "::error file=db/migrations/002_index.up.sql,line=2,col=12,title=sqlstore lint%3A index-without-concurrently::[index-without-concurrently] CREATE INDEX"
            ))
        #expect(lines[1].contains("%0AInstead: In a migration of its own"))
        #expect(lines[1].contains("CREATE INDEX CONCURRENTLY users_email ON users (email)"))
        #expect(LintReport.escapeProperty("a,b:c%\n") == "a%2Cb%3Ac%25%0A")
    }

    @Test("sarif is a SARIF 2.1.0 log with the rules and one result per finding")
    func sarif() throws {
        let data = Data(try Self.report().render(.sarif).utf8)
        let log = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        #expect(log["version"] as? String == "2.1.0")
        #expect(log["$schema"] as? String == "https://json.schemastore.org/sarif-2.1.0.json")
        let run = try #require((log["runs"] as? [[String: Any]])?.first)
        let driver = try #require((run["tool"] as? [String: Any])?["driver"] as? [String: Any])
        let rules = try #require(driver["rules"] as? [[String: Any]])
        #expect(rules.map { $0["id"] as? String } == LintRule.allCases.map(\.rawValue))
        let results = try #require(run["results"] as? [[String: Any]])
        #expect(results.count == 2)
        let result = results[1]
        #expect(result["ruleId"] as? String == "index-without-concurrently")
        #expect(result["level"] as? String == "error")
        #expect(
            rules[try #require(result["ruleIndex"] as? Int)]["id"] as? String == "index-without-concurrently")
        let location = try #require(
            ((result["locations"] as? [[String: Any]])?.first?["physicalLocation"]) as? [String: Any])
        #expect((location["artifactLocation"] as? [String: Any])?["uri"] as? String == "db/migrations/002_index.up.sql")
        let region = try #require(location["region"] as? [String: Any])
        #expect(region["startLine"] as? Int == 2)
        #expect(region["startColumn"] as? Int == 12)
    }

    @Test("the linter reports only the rules it is given")
    func ruleSelection() throws {
        let migrations = try Self.migrations()
        #expect(MigrationLinter(rules: [.missingDown]).lint(migrations).map(\.rule) == [.missingDown])
        #expect(
            MigrationLinter(rules: LintRule.defaultRules.subtracting([.missingDown])).lint(migrations).map(\.rule)
                == [.indexWithoutConcurrently])
    }

    @Test("text marks the clause a finding is about in the statement's first line")
    func clauseMarker() {
        let finding = LintFinding(
            rule: .dropIndexWithoutConcurrently, file: "002_x.up.sql", line: 3, column: 4,
            excerpt: "ALTER TABLE t ADD c int; drop index idx_nick", message: "m")
        #expect(LintReport.marker(for: finding) == String(repeating: " ", count: 25) + "^^^^^^^^^^")
        let unmarked = LintFinding(rule: .missingDown, file: "002_x.up.sql", line: 1, message: "m")
        #expect(LintReport.marker(for: unmarked) == nil)
    }

    /// `excerpt` with the marker line for `rule`'s clauses under it, for comparing.
    static func marked(_ rule: LintRule, _ excerpt: String) -> String {
        let finding = LintFinding(rule: rule, file: "002_x.up.sql", line: 1, excerpt: excerpt, message: "m")
        return excerpt + "\n" + (LintReport.marker(for: finding) ?? "<none>")
    }

    /// `excerpt` with `count` carets under it from character `offset`.
    static func carets(_ excerpt: String, at offset: Int, _ count: Int) -> String {
        excerpt + "\n" + String(repeating: " ", count: offset) + String(repeating: "^", count: count)
    }

    @Test("the clause marker matches whole words: CHAR is not found in VARCHAR, nor TYPE in a name")
    func clauseMarkerMatchesWholeWords() {
        let char = "CREATE TABLE t (name VARCHAR(50), code CHAR(3));"
        #expect(Self.marked(.styleChar, char) == Self.carets(char, at: 39, 4))
        let type = "ALTER TABLE typed ALTER COLUMN type_code TYPE bigint;"
        #expect(Self.marked(.columnTypeChange, type) == Self.carets(type, at: 41, 4))
        #expect(Self.marked(.styleVarchar, "CREATE TABLE t (code CHAR(3));").hasSuffix("<none>"))
        let spaced = "ALTER TABLE t ALTER COLUMN c DROP  NOT\tNULL;"
        #expect(Self.marked(.dropNotNull, spaced) == Self.carets(spaced, at: 29, 14), "a clause spans its words' spacing")
    }

    @Test("the clause marker skips quoted identifiers, strings and comments")
    func clauseMarkerSkipsQuotesAndComments() {
        let quoted = #"ALTER TABLE "TYPE" ALTER COLUMN "TYPE" TYPE int;"#
        #expect(Self.marked(.columnTypeChange, quoted) == Self.carets(quoted, at: 39, 4))
        let strings = "SELECT 'TRUNCATE' /* TRUNCATE */; TRUNCATE t; -- TRUNCATE"
        #expect(Self.marked(.truncate, strings) == Self.carets(strings, at: 34, 8))
        #expect(Self.marked(.truncate, "SELECT 1; -- TRUNCATE t").hasSuffix("<none>"))
        #expect(Self.marked(.truncate, "SELECT $x$ TRUNCATE $x$;").hasSuffix("<none>"))
        let block = "DO $$ BEGIN EXECUTE 'x'; END $$;"
        #expect(Self.marked(.ddlInDoBlock, block) == Self.carets(block, at: 0, 2))
    }

    @Test("findings mark their own clause first: the column's type, the identifier, the twice-assigned column")
    func findingsMarkTheirOwnClause() throws {
        func marked(_ sql: String, rules: Set<LintRule> = LintRule.defaultRules) throws -> [String] {
            let migration = try LintFixture.migration(1, up: sql)
            return MigrationLinter(rules: rules).lint([migration]).map { finding in
                finding.excerpt + "\n" + (LintReport.marker(for: finding) ?? "<none>")
            }
        }
        let chars = "CREATE TABLE t (id BIGINT PRIMARY KEY, a CHAR(2), code char (3))"
        #expect(
            try marked(chars + ";", rules: [.styleChar]) == [Self.carets(chars, at: 39, 9), Self.carets(chars, at: 50, 13)])
        let long = "CREATE TABLE \(String(repeating: "x", count: 64)) (id BIGINT PRIMARY KEY)"
        #expect(try marked(long + ";", rules: [.identifierTooLong]) == [Self.carets(long, at: 13, 64)])
        let update = "UPDATE t SET a = 1, b = 2, a = 3"
        #expect(
            try marked("CREATE TABLE t (id BIGINT PRIMARY KEY, a int, b int);\n\(update);")
                == [Self.carets(update, at: 13, 1)])
        #expect(
            try marked("CREATE TABLE t (a int);", rules: [.tableWithoutPrimaryKey])
                == [Self.carets("CREATE TABLE t (a int)", at: 0, 12)])
        let directive = "-- sqlstore:lint-ignore=truncate,no-such-rule"
        #expect(
            try marked(directive + "\nSELECT 1;", rules: [.unknownLintIgnore]) == [Self.carets(directive, at: 33, 12)])
    }
}
