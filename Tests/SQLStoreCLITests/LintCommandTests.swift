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
}
