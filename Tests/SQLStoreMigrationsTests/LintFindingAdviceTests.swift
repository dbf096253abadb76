import Foundation
import Testing

@testable import SQLStoreMigrations

/// Each finding carries its own why and safe alternative, naming the statement's table, column
/// or index, rather than its rule's generic paragraph.
@Suite("Lint findings: their own why and safe alternative")
struct LintFindingAdviceTests {
    struct Case: Sendable, CustomStringConvertible {
        let sql: String
        let rule: LintRule
        let why: [String]
        let instead: [String]
        var description: String { "\(rule.rawValue): \(sql)" }
    }

    /// Statements after ``LintFixture/base``, and what their finding's why and instead must say.
    static let cases: [Case] = [
        Case(
            sql: "CREATE INDEX idx_accounts_nick ON accounts (nickname);", rule: .indexWithoutConcurrently,
            why: ["SHARE lock on accounts", "idx_accounts_nick"],
            instead: [
                "DROP INDEX CONCURRENTLY IF EXISTS idx_accounts_nick",
                "CREATE INDEX CONCURRENTLY idx_accounts_nick ON accounts (nickname)",
            ]),
        Case(
            sql: "CREATE UNIQUE INDEX ON accounts (lower(email)) WHERE balance > 0;",
            rule: .indexWithoutConcurrently, why: ["accounts"],
            instead: ["CREATE UNIQUE INDEX CONCURRENTLY accounts_lower_idx ON accounts (lower(email)) WHERE balance > 0"]),
        Case(
            sql: "DROP INDEX idx_accounts_email;", rule: .dropIndexWithoutConcurrently,
            why: ["ACCESS EXCLUSIVE on accounts"], instead: ["DROP INDEX CONCURRENTLY IF EXISTS idx_accounts_email"]),
        Case(
            sql: "ALTER TABLE accounts ALTER COLUMN nickname SET NOT NULL;", rule: .setNotNull,
            why: ["every row of accounts", "CHECK (nickname IS NOT NULL)"],
            instead: [
                "ADD CONSTRAINT accounts_nickname_not_null CHECK (nickname IS NOT NULL) NOT VALID",
                "VALIDATE CONSTRAINT accounts_nickname_not_null", "ALTER COLUMN nickname SET NOT NULL",
            ]),
        Case(
            sql: "ALTER TABLE accounts ADD COLUMN token uuid DEFAULT gen_random_uuid();", rule: .volatileDefault,
            why: ["rewrites all of accounts", "gen_random_uuid() is volatile"],
            instead: [
                "ALTER TABLE accounts ADD COLUMN token uuid`",
                "ALTER TABLE accounts ALTER COLUMN token SET DEFAULT gen_random_uuid()",
                "UPDATE accounts SET token = gen_random_uuid() WHERE id IN (SELECT id FROM accounts WHERE token IS NULL",
            ]),
        Case(
            sql: "ALTER TABLE accounts ADD CONSTRAINT accounts_balance_positive CHECK (balance >= 0);",
            rule: .constraintWithoutNotValid, why: ["every row of accounts"],
            instead: [
                "ADD CONSTRAINT accounts_balance_positive CHECK (…) NOT VALID",
                "VALIDATE CONSTRAINT accounts_balance_positive",
            ]),
        Case(
            sql: "ALTER TABLE accounts ADD CONSTRAINT accounts_self_fk FOREIGN KEY (balance) REFERENCES accounts (id);",
            rule: .constraintWithoutNotValid, why: ["SHARE ROW EXCLUSIVE on both"],
            instead: ["FOREIGN KEY (balance) REFERENCES accounts … NOT VALID", "VALIDATE CONSTRAINT accounts_self_fk"]),
        Case(
            sql: "ALTER TABLE accounts ADD CONSTRAINT accounts_email_key UNIQUE (email);", rule: .indexWithoutConcurrently,
            why: ["index of accounts (email)"],
            instead: [
                "CREATE UNIQUE INDEX CONCURRENTLY accounts_email_key ON accounts (email)",
                "ALTER TABLE accounts ADD CONSTRAINT accounts_email_key UNIQUE USING INDEX accounts_email_key",
            ]),
        Case(
            sql: "ALTER TABLE accounts ADD COLUMN region text NOT NULL;", rule: .notNullWithoutDefault,
            why: ["no value for region"], instead: ["ALTER TABLE accounts ADD COLUMN region text NOT NULL DEFAULT"]),
        Case(
            sql: "ALTER TABLE accounts DROP COLUMN nickname;", rule: .breakingDrop,
            why: ["accounts.nickname", "42703"], instead: ["ALTER TABLE accounts DROP COLUMN IF EXISTS nickname"]),
        Case(
            sql: "DROP TABLE accounts CASCADE;\nCREATE TABLE accounts (id BIGINT PRIMARY KEY, email TEXT);",
            rule: .breakingDrop, why: ["new, empty accounts", "0A000"],
            instead: ["CREATE TABLE accounts_new", "INSERT INTO accounts_new SELECT … FROM accounts"]),
        Case(
            sql: "ALTER TABLE accounts RENAME COLUMN nickname TO handle;", rule: .breakingRename,
            why: ["accounts.nickname", "42703"], instead: ["ALTER TABLE accounts ADD COLUMN handle"]),
        Case(
            sql: "ALTER TYPE mood RENAME VALUE 'sad' TO 'blue';", rule: .breakingRename, why: ["'sad'", "22P02"],
            instead: ["ALTER TYPE mood ADD VALUE IF NOT EXISTS 'blue'"]),
        Case(
            sql: "TRUNCATE accounts;", rule: .truncate, why: ["ACCESS EXCLUSIVE on accounts"],
            instead: ["DELETE FROM accounts WHERE id IN (SELECT id FROM accounts LIMIT 1000)"]),
        Case(
            sql: "UPDATE accounts SET balance = 0;", rule: .wholeTableUpdate, why: ["every row of accounts"],
            instead: ["UPDATE accounts SET balance = 0 WHERE id IN (SELECT id FROM accounts WHERE"]),
        Case(
            sql: "ALTER TABLE accounts ALTER COLUMN balance TYPE bigint;", rule: .columnTypeChange,
            why: ["accounts.balance from int to bigint"], instead: ["ALTER TABLE accounts ADD COLUMN balance_new bigint"]),
        Case(
            sql: "REFRESH MATERIALIZED VIEW account_totals;", rule: .refreshWithoutConcurrently,
            why: ["ACCESS EXCLUSIVE on account_totals"], instead: ["REFRESH MATERIALIZED VIEW CONCURRENTLY account_totals"]),
        Case(
            sql: "LOCK TABLE accounts;", rule: .lockTable, why: ["LOCK accounts IN ACCESS EXCLUSIVE MODE"],
            instead: ["FROM accounts WHERE … LIMIT 1000 FOR UPDATE"]),
        Case(
            sql: "ALTER TABLE accounts SET UNLOGGED;", rule: .setUnlogged, why: ["new copy of accounts"],
            instead: ["CREATE UNLOGGED TABLE accounts_new (LIKE accounts INCLUDING ALL)"]),
        Case(
            sql: "CREATE TABLE notes (body text);", rule: .tableWithoutPrimaryKey, why: ["notes"],
            instead: ["Give notes a primary key"]),
        Case(
            sql: "VACUUM FULL accounts;", rule: .tableRewrite, why: ["new copy of accounts"],
            instead: ["Rebuild accounts with pg_repack"]),
    ]

    @Test("each finding's why and instead name its table, column or index, not the rule's generic text", arguments: cases)
    func adviceIsSpecific(_ example: Case) throws {
        let findings = try LintFixture.lint(example.sql).filter { $0.rule == example.rule }
        let finding = try #require(findings.first, "no \(example.rule.rawValue) finding")
        for part in example.why { #expect(finding.why.contains(part), "why: \(finding.why)") }
        for part in example.instead { #expect(finding.safeAlternative.contains(part), "instead: \(finding.safeAlternative)") }
        #expect(finding.why != example.rule.explanation)
        #expect(finding.safeAlternative != example.rule.safeAlternative)
    }

    @Test("each ADD COLUMN of a statement gets the instead of its own default, literals and commas in it kept")
    func adviceQuotesItsOwnDefault() throws {
        let findings = try LintFixture.lint(
            "ALTER TABLE accounts ADD COLUMN token uuid DEFAULT gen_random_uuid() NOT NULL, "
                + "ADD COLUMN code text DEFAULT make_code(1, 'a,b') CHECK (code <> ''), ADD COLUMN note text DEFAULT 'x';")
        #expect(findings.map(\.rule) == [.volatileDefault, .volatileDefault])
        #expect(findings.map(\.severity) == [.error, .warning], "a function lint has not seen is a warning")
        let token = try #require(findings.first).safeAlternative
        let code = try #require(findings.last).safeAlternative
        #expect(token.contains("ALTER TABLE accounts ALTER COLUMN token SET DEFAULT gen_random_uuid()`"), "\(token)")
        #expect(code.contains("ALTER TABLE accounts ALTER COLUMN code SET DEFAULT make_code(1, 'a,b')`"), "\(code)")
        #expect(!code.contains("gen_random_uuid"), "\(code)")
    }

    @Test("a finding made without advice of its own falls back to its rule's text")
    func fallsBackToTheRule() {
        let finding = LintFinding(rule: .truncate, file: "002_x.up.sql", line: 1, message: "m")
        #expect(finding.why == LintRule.truncate.explanation)
        #expect(finding.safeAlternative == LintRule.truncate.safeAlternative)
    }

    @Test("every rule's documentation link resolves to a section of docs/lint.md with its why, instead and peers")
    func everyRuleHasADocumentedSection() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        let doc = try String(contentsOf: root.appendingPathComponent("docs/lint.md"), encoding: .utf8)
        let sections = doc.components(separatedBy: "\n## ").dropFirst()
        for rule in LintRule.allCases {
            #expect(rule.documentationPath == "docs/lint.md#\(rule.rawValue)")
            let section = try #require(
                sections.first { $0.hasPrefix(rule.rawValue + "\n") }, "no section ## \(rule.rawValue)")
            #expect(section.contains("**Why.**"), "\(rule.rawValue)")
            #expect(section.contains("**Instead.**"), "\(rule.rawValue)")
            #expect(section.contains("**Peers:**"), "\(rule.rawValue)")
        }
    }
}
