import Foundation
import Testing

@testable import SQLStoreMigrations

@Suite("Lint configuration")
struct LintConfigurationTests {
    func parse(_ json: String) throws -> LintConfiguration {
        try LintConfiguration.parse(Data(json.utf8), file: "sqlstore-lint.json")
    }

    @Test("rules, enable_rules and exclude_rules compose: the rule set, plus opt-in rules, minus exclusions")
    func ruleSelection() throws {
        #expect(try parse("{}").selectedRules == LintRule.defaultRules)
        let configuration = try parse(
            #"{"//": "why", "enable_rules": ["style-char"], "exclude_rules": ["truncate", "style-char"]}"#)
        #expect(configuration.selectedRules == LintRule.defaultRules.subtracting([.truncate]))
        #expect(try parse(#"{"rules": ["truncate", "style-serial"]}"#).selectedRules == [.truncate, .styleSerial])
    }

    @Test("severity changes a rule's findings, in every format")
    func severityOverride() throws {
        let configuration = try parse(#"{"severity": {"truncate": "warning", "missing-down": "error"}}"#)
        let findings = MigrationLinter(configuration: configuration).lint([
            try LintFixture.migration(1, up: LintFixture.base, down: nil, name: "base"),
            try LintFixture.migration(2, up: "TRUNCATE accounts;"),
        ])
        #expect(findings.map(\.rule) == [.missingDown, .truncate])
        #expect(findings.map(\.severity) == [.error, .warning])
        let json = LintReport(findings: findings, migrationCount: 2, directory: nil).jsonDocument()
        #expect(json.findings.map(\.severity) == ["error", "warning"])
    }

    @Test("start_after reports nothing for earlier migrations, which still count as history")
    func startAfter() throws {
        let linter = MigrationLinter(configuration: try parse(#"{"start_after": 1}"#))
        let findings = linter.lint([
            try LintFixture.migration(1, up: LintFixture.base + "\nTRUNCATE accounts;", down: nil, name: "base"),
            try LintFixture.migration(2, up: "CREATE INDEX CONCURRENTLY idx_again ON accounts (email);"),
        ])
        // 001's missing down and TRUNCATE are not reported; 002's index duplicates one 001 made.
        #expect(findings.map(\.rule).contains(.duplicateIndex))
        #expect(findings.allSatisfy { $0.file.hasPrefix("002_") }, "\(findings)")
    }

    @Test("a bad document names the key and why; nothing is half-applied")
    func errors() throws {
        func error(_ json: String) -> LintConfigurationError? {
            do {
                _ = try parse(json)
                return nil
            } catch let error as LintConfigurationError {
                return error
            } catch {
                return nil
            }
        }
        #expect(error(#"{"exclude": []}"#)?.key == "exclude")
        #expect(error(#"{"enable_rules": [1]}"#)?.key == "enable_rules[0]")
        #expect(error(#"{"severity": {"nope": "error"}}"#)?.key == "severity.nope")
        #expect(error(#"{"severity": []}"#)?.key == "severity")
        #expect(error(#"{"start_after": 1.5}"#)?.key == "start_after")
        #expect(error(#"{"start_after": -1}"#)?.key == "start_after")
        #expect(error("[]")?.reason == "must hold one JSON object")
        #expect(error("[]")?.description == "sqlstore-lint.json: must hold one JSON object")
    }
}
