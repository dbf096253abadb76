import Foundation
import SQLStoreMigrations
import Testing
import TestSupport

/// `sqlstore migrate lint` as a CI job runs it: a process, its exit status and its output.
@Suite("sqlstore migrate lint (processes)")
struct LintCommandTests {
    func lint(_ arguments: [String]) async throws -> (status: Int32, output: String) {
        let process = try ChildProcess(try sqlstoreExecutable(), ["migrate", "lint"] + arguments)
        let status = try await process.wait()
        return (status, process.output)
    }

    static func folder(index: String = "CREATE INDEX users_email ON users (email);") throws -> MigrationFolder {
        try MigrationFolder([
            "001_users.up.sql": "CREATE TABLE users (id INT PRIMARY KEY, email TEXT);",
            "001_users.down.sql": "DROP TABLE IF EXISTS users;",
            "002_index.up.sql": index,
            "002_index.down.sql": "-- sqlstore:no-transaction\nDROP INDEX CONCURRENTLY IF EXISTS users_email;",
        ])
    }

    @Test("exit status 0 when clean, 1 with findings")
    func cleanAndFindings() async throws {
        let clean = try Self.folder(index: "SELECT 1;")
        let (cleanStatus, cleanOutput) = try await lint(["--dir", clean.url.path])
        #expect(cleanStatus == 0, "\(cleanOutput)")
        #expect(cleanOutput.contains("lint: 2 migrations, no findings"))

        let dirty = try Self.folder()
        let (status, output) = try await lint(["--dir", dirty.url.path])
        #expect(status == 1, "\(output)")
        #expect(output.contains("\(dirty.url.path)/002_index.up.sql:1:1: error [index-without-concurrently]"))
    }

    @Test("exit status 2 when lint cannot run: no folder, a misnamed file, an unterminated $$, an unknown rule or format")
    func couldNotRun() async throws {
        let missing = try await lint(["--dir", "/nonexistent/migrations"])
        #expect(missing.status == 2, "\(missing.output)")
        #expect(missing.output.contains("error: lint could not run"))

        let misnamed = try Self.folder()
        // Version 0: no layout the runner reads accepts it.
        try misnamed.write("000_zero.up.sql", "SELECT 1;")
        #expect(try await lint(["--dir", misnamed.url.path]).status == 2)

        let unterminated = try Self.folder(index: "DO $$ BEGIN PERFORM 1;")
        let (status, output) = try await lint(["--dir", unterminated.url.path])
        #expect(status == 2, "\(output)")
        #expect(output.contains("002_index.up.sql"))

        let folder = try Self.folder()
        #expect(try await lint(["--dir", folder.url.path, "--rule", "no-such-rule"]).status == 2)
        #expect(try await lint(["--dir", folder.url.path, "--format", "xml"]).status == 2)
    }

    @Test("--rule and --exclude-rule choose the rules; a clean selection exits 0")
    func ruleSelection() async throws {
        let folder = try Self.folder()
        let excluded = try await lint(["--dir", folder.url.path, "--exclude-rule", "index-without-concurrently"])
        #expect(excluded.status == 0, "\(excluded.output)")
        let only = try await lint(["--dir", folder.url.path, "--rule", "missing-down,index-without-concurrently"])
        #expect(only.status == 1)
        #expect(only.output.contains("[index-without-concurrently]"))

        let style = try MigrationFolder([
            "001_users.up.sql": "CREATE TABLE users (id BIGINT PRIMARY KEY, code CHAR(3));",
            "001_users.down.sql": "DROP TABLE IF EXISTS users;",
        ])
        #expect(try await lint(["--dir", style.url.path]).status == 0, "style rules are opt-in")
        let enabled = try await lint(["--dir", style.url.path, "--enable-rule", "style-char"])
        #expect(enabled.status == 1)
        #expect(enabled.output.contains("warning [style-char]"), "\(enabled.output)")
    }

    @Test("--format json, github and sarif print only the document, and keep the exit status")
    func formats() async throws {
        let folder = try Self.folder()
        let json = try await lint(["--dir", folder.url.path, "--format", "json"])
        #expect(json.status == 1)
        let document = try JSONDecoder().decode(LintReport.JSONDocument.self, from: Data(json.output.utf8))
        #expect(document.findings.map(\.rule) == ["index-without-concurrently"])
        #expect(document.findings.first?.file == "\(folder.url.path)/002_index.up.sql")

        let github = try await lint(["--dir", folder.url.path, "--format", "github"])
        #expect(github.status == 1)
        #expect(github.output.hasPrefix("::error file=\(folder.url.path)/002_index.up.sql,line=1,col=1,"), "\(github.output)")

        let sarif = try await lint(["--dir", folder.url.path, "--format", "sarif"])
        #expect(sarif.status == 1)
        let log = try JSONSerialization.jsonObject(with: Data(sarif.output.utf8)) as? [String: Any]
        #expect(log?["version"] as? String == "2.1.0")
    }

    @Test("the migrations built into sqlstore lint clean")
    func shippedMigrations() async throws {
        let (status, output) = try await lint([])
        #expect(status == 0, "\(output)")
    }

    @Test("a file given on its own is linted with the folder's earlier migrations as context, and shown by its path")
    func singleFile() async throws {
        let folder = try Self.folder(index: "SELECT 1;")
        let outside = FileManager.default.temporaryDirectory.appendingPathComponent("lint-file-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: outside, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: outside) }
        let file = outside.appendingPathComponent("003_drop_email.up.sql")
        try "ALTER TABLE users DROP COLUMN email;".write(to: file, atomically: true, encoding: .utf8)
        let (status, output) = try await lint(["--dir", folder.url.path, "--exclude-rule", "missing-down", file.path])
        #expect(status == 1, "\(output)")
        #expect(output.contains("\(file.path):1:1: error [breaking-drop] DROP COLUMN users.email"), "\(output)")
        #expect(!output.contains("001_users"), "only the given file's findings")
        #expect(try await lint(["--dir", folder.url.path, "/nonexistent/004_x.up.sql"]).status == 2)
    }

    /// `sqlstore migrate lint ARGUMENTS` with `input` on its standard input (a shell redirects a
    /// file to it: ChildProcess gives its children /dev/null).
    func lint(_ arguments: [String], input: String) async throws -> (status: Int32, output: String) {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("lint-stdin-\(UUID().uuidString).sql")
        try input.write(to: file, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: file) }
        let process = try ChildProcess(
            "/bin/sh", ["-c", #"input="$1"; shift; exec "$@" < "$input""#, "sh", file.path, try sqlstoreExecutable(),
                "migrate", "lint"] + arguments)
        let status = try await process.wait()
        return (status, process.output)
    }

    @Test("- lints a statement from standard input as the next migration, shown as -, with the folder as context")
    func standardInput() async throws {
        let folder = try Self.folder(index: "SELECT 1;")
        let (status, output) = try await lint(
            ["--dir", folder.url.path, "-"], input: "ALTER TABLE users RENAME COLUMN email TO address;\n")
        #expect(status == 1, "\(output)")
        #expect(output.contains("-:1:1: error [breaking-rename] renaming column users.email to address"), "\(output)")
        #expect(output.contains("  instead: Expand and contract: `ALTER TABLE users ADD COLUMN address …`"), "\(output)")
        #expect(!output.contains("[missing-down]"), "standard input has no down script to miss")
        #expect(output.hasSuffix("1 finding(s) in 1 migrations: 1 error(s), 0 warning(s)\n"), "\(output)")

        let clean = try await lint(
            ["--dir", folder.url.path, "--format", "json", "-"], input: "ALTER TABLE users ADD COLUMN note text;")
        #expect(clean.status == 0, "\(clean.output)")
        let document = try JSONDecoder().decode(LintReport.JSONDocument.self, from: Data(clean.output.utf8))
        #expect(document.findings.isEmpty)
        #expect(document.migrations == 1)

        let broken = try await lint(["--dir", folder.url.path, "-"], input: "DO $$ BEGIN PERFORM 1;")
        #expect(broken.status == 2, "an unterminated $$ on standard input: \(broken.output)")
    }

    @Test("- lints standard input after a folder of any layout (goose, sqitch), and after an empty folder")
    func standardInputAfterOtherLayouts() async throws {
        let rename = "ALTER TABLE users RENAME COLUMN email TO address;\n"
        let goose = try MigrationFolder([
            "00001_users.sql": "-- +goose Up\nCREATE TABLE users (id BIGINT PRIMARY KEY, email TEXT);\n-- +goose Down\nDROP TABLE users;\n"
        ])
        let sqitch = try MigrationFolder([
            "sqitch.plan": "%syntax-version=1.0.0\n%project=shop\n\nusers 2026-01-01T00:00:00Z A <a@example.com> # users\n",
            "deploy/users.sql": "CREATE TABLE users (id BIGINT PRIMARY KEY, email TEXT);\n",
            "revert/users.sql": "DROP TABLE users;\n",
        ])
        for folder in [goose, sqitch] {
            let (status, output) = try await lint(["--dir", folder.url.path, "-"], input: rename)
            #expect(status == 1, "\(output)")
            #expect(output.contains("-:1:1: error [breaking-rename]"), "\(output)")
        }
        let empty = try MigrationFolder([:])
        let (status, output) = try await lint(["--dir", empty.url.path, "-"], input: "CREATE TABLE t (id BIGINT PRIMARY KEY);\n")
        #expect(status == 0, "\(output)")
    }

    @Test("--changed-since lints only the migrations git shows as added since the revision")
    func changedSince() async throws {
        let folder = try Self.folder()  // 002 has a finding, committed first
        func git(_ arguments: [String]) async throws {
            let process = try ChildProcess(
                "/usr/bin/git",
                ["-C", folder.url.path, "-c", "user.email=lint@example.com", "-c", "user.name=lint"] + arguments)
            #expect(try await process.wait() == 0, "\(process.output)")
        }
        try await git(["init", "-q", "."])
        try await git(["add", "."])
        try await git(["commit", "-qm", "base"])
        try folder.write("003_drop.up.sql", "ALTER TABLE users DROP COLUMN email;")
        try folder.write("003_drop.down.sql", "SELECT 1;")
        try await git(["add", "."])
        try await git(["commit", "-qm", "drop"])

        let (status, output) = try await lint(["--dir", folder.url.path, "--changed-since", "HEAD~1"])
        #expect(status == 1, "\(output)")
        #expect(output.contains("003_drop.up.sql:1:1: error [breaking-drop]"))
        #expect(!output.contains("002_index"), "the earlier migration's finding is not this change's")
        #expect(try await lint(["--dir", folder.url.path, "--changed-since", "HEAD"]).status == 0)
        #expect(try await lint(["--dir", folder.url.path, "--changed-since", "no-such-revision"]).status == 2)
    }

    @Test("sqlstore-lint.json in the folder chooses rules and severities; --config points elsewhere; --no-config ignores it")
    func configurationFile() async throws {
        let folder = try Self.folder()
        try folder.write(
            LintConfiguration.fileName,
            #"{"//": "users is tiny", "exclude_rules": ["index-without-concurrently"]}"#)
        let excluded = try await lint(["--dir", folder.url.path])
        #expect(excluded.status == 0, "\(excluded.output)")
        #expect(try await lint(["--dir", folder.url.path, "--no-config"]).status == 1)
        let overridden = try await lint(["--dir", folder.url.path, "--enable-rule", "index-without-concurrently"])
        #expect(overridden.status == 1, "the command line is applied over the file")

        try folder.write(LintConfiguration.fileName, #"{"severity": {"index-without-concurrently": "warning"}}"#)
        let json = try await lint(["--dir", folder.url.path, "--format", "json"])
        #expect(json.status == 1, "a warning still fails lint")
        let document = try JSONDecoder().decode(LintReport.JSONDocument.self, from: Data(json.output.utf8))
        #expect(document.findings.map(\.severity) == ["warning"])

        try folder.write(LintConfiguration.fileName, #"{"start_after": 2}"#)
        #expect(try await lint(["--dir", folder.url.path]).status == 0, "002 is history only")

        let elsewhere = FileManager.default.temporaryDirectory.appendingPathComponent("lint-\(UUID().uuidString).json")
        defer { try? FileManager.default.removeItem(at: elsewhere) }
        try #"{"exclude_rules": ["index-without-concurrently"]}"#.write(to: elsewhere, atomically: true, encoding: .utf8)
        let clean = try Self.folder()
        #expect(try await lint(["--dir", clean.url.path]).status == 1)
        let pointed = try await lint(["--dir", clean.url.path, "--config", elsewhere.path])
        #expect(pointed.status == 0, "\(pointed.output)")
    }

    @Test("a bad configuration file is exit status 2, naming the file, the key and why")
    func badConfigurationFile() async throws {
        let folder = try Self.folder()
        let path = "\(folder.url.path)/\(LintConfiguration.fileName)"
        let cases: [(json: String, expected: String)] = [
            (#"{"exclude_rule": ["truncate"]}"#, "\(path): exclude_rule: is not a setting"),
            (#"{"exclude_rules": ["truncate", "no-such-rule"]}"#, "\(path): exclude_rules[1]: 'no-such-rule' is no lint rule"),
            (#"{"severity": {"truncate": "fatal"}}"#, "\(path): severity.truncate: must be \"error\" or \"warning\""),
            (#"{"start_after": true}"#, "\(path): start_after: must be a migration version"),
            (#"{"rules": "truncate"}"#, "\(path): rules: must be an array of rule names"),
            ("{", "\(path): is not valid JSON"),
        ]
        for (json, expected) in cases {
            try folder.write(LintConfiguration.fileName, json)
            let (status, output) = try await lint(["--dir", folder.url.path])
            #expect(status == 2, "\(json): \(output)")
            #expect(output.contains("error: lint could not run: \(expected)"), "\(json): \(output)")
        }
        let missing = try await lint(["--dir", folder.url.path, "--config", "/nonexistent/lint.json"])
        #expect(missing.status == 2)
        #expect(missing.output.contains("/nonexistent/lint.json: no such lint configuration file"), "\(missing.output)")
    }
}
