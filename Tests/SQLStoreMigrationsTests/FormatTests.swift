import Foundation
import PostgresNIO
import Testing
import TestSupport

@testable import SQLStoreMigrations

/// Other tools' folders, read as they are: the fixtures in Tests/MigrationFormats, written for
/// these tests, hold the same three migrations in each tool's layout.
@Suite("Migration formats")
struct FormatTests {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("MigrationFormats")

    static let layouts: [(folder: String, format: MigrationFormat)] = [
        ("golang-migrate", .golangMigrate), ("goose", .goose), ("dbmate", .dbmate), ("flyway", .flyway),
        ("sqitch", .sqitch), ("diesel", .diesel),
    ]

    @Test("each tool's layout is detected", arguments: layouts.map(\.folder))
    func detects(folder: String) throws {
        let expected = try #require(Self.layouts.first { $0.folder == folder }?.format)
        #expect(try MigrationFormat.detect(in: Self.fixtures.appendingPathComponent(folder)) == expected)
    }

    @Test("each layout loads three migrations, the concurrent index non-transactional", arguments: layouts.map(\.folder))
    func loads(folder: String) throws {
        let migrations = try MigrationSource.load(directory: Self.fixtures.appendingPathComponent(folder))
        let transactional = migrations.map(\.up.directives.transactional)
        if folder == "sqitch" {
            #expect(migrations.map(\.name) == ["accounts", "email"])
            #expect(migrations.allSatisfy { $0.up.wrapper != nil && $0.verify?.wrapper != nil })
        } else {
            #expect(migrations.count == 3)
            #expect(transactional == [true, true, false])
        }
        #expect(migrations.allSatisfy { $0.down != nil })
        #expect(migrations.allSatisfy { $0.up.transactionControlOffences.isEmpty })
    }

    @Test("each layout applies, reports its status, and reverts", arguments: layouts.map(\.folder))
    func appliesAndReverts(folder: String) async throws {
        let migrations = try MigrationSource.load(directory: Self.fixtures.appendingPathComponent(folder))
        try await TestDatabase.withFresh { database in
            let runner = MigrationRunner(
                migrations: migrations, connection: try database.connectionConfiguration, logger: TestDatabase.logger)
            try await runner.up()
            #expect(try await runner.status().isUpToDate)
            #expect(
                try await database.scalar(
                    "SELECT count(*)::int FROM information_schema.columns WHERE table_name = 'accounts' AND column_name = 'email'",
                    as: Int.self) == 1)
            #expect(try await runner.verify(expected: nil).isClean)
            try await runner.down(to: 0)
            #expect(try await database.tableExists("accounts") == false)
            #expect(try await runner.status().pending.count == migrations.count)
        }
    }

    @Test("editing a goose file's Down section leaves its Up checksum alone, the checksum earlier versions recorded still counts, and editing Up is drift")
    func gooseDownEditsAreNotDrift() async throws {
        let up = "-- +goose Up\nCREATE TABLE accounts (id BIGINT PRIMARY KEY);\n"
        let folder = try MigrationFolder(["00001_accounts.sql": up + "-- +goose Down\nDROP TABLE accounts;\n"])
        try await TestDatabase.withFresh { database in
            try await runner(folder, database).up()
            try folder.write("00001_accounts.sql", up + "\n-- +goose Down\n-- safe to run twice\nDROP TABLE IF EXISTS accounts;\n")
            #expect(try await runner(folder, database).status().entries.map(\.state) == [.applied])
            try await runner(folder, database).up()

            // A row written by an earlier version: the section's text then ran to the end of the file.
            let earlier = try #require(try folder.migrations().first?.up.earlierChecksum)
            try await database.execute("UPDATE schema_migrations SET checksum = \(earlier)")
            #expect(try await runner(folder, database).status().entries.map(\.state) == [.applied])

            try folder.write("00001_accounts.sql", "-- +goose Up\nCREATE TABLE accounts (id BIGINT PRIMARY KEY, email TEXT);\n-- +goose Down\nDROP TABLE accounts;\n")
            #expect(try await runner(folder, database).status().entries.map(\.state) == [.checksumMismatch])
        }
    }

    @Test("goose sections keep the file's line numbers")
    func gooseLineNumbers() throws {
        let migrations = try MigrationSource.load(directory: Self.fixtures.appendingPathComponent("goose"))
        #expect(migrations.first?.up.statements.map(\.line) == [2, 5])
        #expect(migrations.first?.down?.statements.map(\.line) == [13, 14])
    }

    @Test("golang-migrate reads other dialects' files as not ours")
    func otherDialectsIgnored() throws {
        let migrations = try MigrationSource.load(directory: Self.fixtures.appendingPathComponent("golang-migrate"))
        #expect(migrations.last?.up.fileName == "000003_index_email.postgres.up.sql")
        #expect(migrations.map(\.name) == ["create_accounts", "add-email", "index_email"])
    }

    @Test("every unreadable file name gets its own reason, all in one error")
    func unreadableNames() throws {
        let folder = try MigrationFolder([
            "001_ok.up.sql": "SELECT 1;",
            "000_zero.up.sql": "SELECT 1;",
            "99999999999999999999_huge.up.sql": "SELECT 1;",
            "002_missing_suffix.sql": "SELECT 1;",
            "x_no_version.up.sql": "SELECT 1;",
        ])
        let error = #expect(throws: MigrationFolderError.self) { try folder.migrations() }
        #expect(error?.code == .unreadableFiles)
        let reasons = Dictionary(uniqueKeysWithValues: (error?.problems ?? []).map { ($0.file, $0.message) })
        #expect(reasons["000_zero.up.sql"]?.contains("is 0") == true)
        #expect(reasons["99999999999999999999_huge.up.sql"]?.contains("beyond 2^63-1") == true)
        #expect(reasons["002_missing_suffix.sql"]?.contains("no .up.sql or .down.sql suffix") == true)
        #expect(reasons["x_no_version.up.sql"]?.contains("no version") == true)
        #expect(reasons.count == 4)
    }

    @Test("a folder in which nothing is recognised is an error saying what was expected and found")
    func nothingRecognised() throws {
        let folder = try MigrationFolder(["README.md": "# notes", "schema.txt": "tables"])
        let error = #expect(throws: MigrationFolderError.self) { try folder.migrations() }
        #expect(error?.code == .nothingRecognised)
        #expect(error?.description.contains("found 2 entries: README.md, schema.txt") == true)
        #expect(error?.description.contains("goose: N_name.sql with -- +goose Up") == true)
    }

    @Test("an empty folder is nothing recognised too, never nothing to do")
    func emptyFolder() throws {
        let folder = try MigrationFolder([:])
        let error = #expect(throws: MigrationFolderError.self) { try folder.migrations() }
        #expect(error?.description.contains("the folder is empty") == true)
    }

    @Test("a named format that finds nothing is an error")
    func formatGivenFindsNothing() throws {
        let error = #expect(throws: MigrationFolderError.self) {
            try MigrationSource.load(directory: Self.fixtures.appendingPathComponent("goose"), format: .flyway)
        }
        #expect(error?.code == .unreadableFiles, "goose's names are not Flyway names, and each says so")
        #expect(error?.problems.count == 3)
    }

    @Test(
        "a directive with no name, an empty value or a duration beyond 292 years is refused with file and line, never a crash",
        arguments: [
            "-- sqlstore:\nSELECT 1;", "-- sqlstore:=5s\nSELECT 1;", "-- sqlstore:no-transaction=\nSELECT 1;",
            "-- sqlstore:lock-timeout=\nSELECT 1;", "-- sqlstore:lock-timeout=99999999999h\nSELECT 1;",
        ])
    func malformedDirective(text: String) throws {
        let folder = try MigrationFolder(["001_first.up.sql": text])
        let error = #expect(throws: (any Error).self) { try folder.migrations() }
        #expect("\(error.map { "\($0)" } ?? "")".contains("001_first.up.sql:1"), "\(String(describing: error))")
    }

    @Test("files saved with Windows line ends (CRLF) read like any other: directives, goose sections and sqitch plans")
    func windowsLineEnds() throws {
        let sqlstore = try MigrationFolder([
            "001_index.up.sql": "-- builds an index\r\n-- sqlstore:no-transaction\r\n-- sqlstore:lock-timeout=2s\r\nCREATE INDEX CONCURRENTLY i ON t (a);\r\n"
        ])
        let index = try #require(try sqlstore.migrations().first)
        #expect(index.up.directives.transactional == false)
        #expect(index.up.directives.lockTimeout == .seconds(2))

        let goose = try MigrationFolder([
            "00001_accounts.sql": "-- +goose Up\r\nCREATE TABLE accounts (id BIGINT PRIMARY KEY);\r\n\r\n-- +goose Down\r\nDROP TABLE accounts;\r\n"
        ])
        let accounts = try #require(try goose.migrations().first)
        #expect(accounts.up.body.map(\.text) == ["CREATE TABLE accounts (id BIGINT PRIMARY KEY)"])
        #expect(accounts.down?.body.map(\.text) == ["DROP TABLE accounts"])
        #expect(accounts.down?.body.first?.line == 5, "line numbers are the file's")

        let sqitch = try MigrationFolder([
            "sqitch.plan": "%syntax-version=1.0.0\r\n%project=shop\r\n\r\naccounts 2026-01-01T00:00:00Z A <a@example.com> # accounts\r\n",
            "deploy/accounts.sql": "CREATE TABLE accounts (id BIGINT PRIMARY KEY);\r\n",
            "revert/accounts.sql": "DROP TABLE accounts;\r\n",
        ])
        #expect(try sqitch.migrations().map(\.name) == ["accounts"])
    }

    @Test("two files for one script of a version are a problem naming both, never one chosen silently")
    func twoFilesForOneScript() throws {
        for (first, second) in [("001_a.up.sql", "1_a.up.sql"), ("V1__a.sql", "V01__a.sql"), ("1_a.up.sql", "1_a.postgres.up.sql")] {
            let folder = try MigrationFolder([first: "SELECT 1;", second: "SELECT 2;"])
            let error = #expect(throws: MigrationFolderError.self, "\(first), \(second)") { try folder.migrations() }
            let problems = (error?.problems ?? []).map(\.description)
            #expect(problems.count == 1, "\(problems)")
            #expect(problems.first.map { $0.contains(first) && $0.contains(second) } == true, "\(problems)")
        }
    }

    @Test("a goose migration written in Go is a problem, so that the SQL around it never runs as if it had")
    func gooseGoMigration() throws {
        let folder = try MigrationFolder([
            "00001_a.sql": "-- +goose Up\nCREATE TABLE a (id INT);",
            "00002_backfill.go": "package migrations",
            "00003_c.sql": "-- +goose Up\nCREATE TABLE c (id INT);",
        ])
        let error = #expect(throws: MigrationFolderError.self) { try folder.migrations() }
        #expect(error?.problems.map(\.file) == ["00002_backfill.go"], "\(String(describing: error))")
    }

    @Test("psql-only syntax is refused up front with file and line, every use in one run")
    func psqlOnlySyntax() throws {
        let folder = try MigrationFolder([
            "001_vars.up.sql": "SELECT 1::int;\nSELECT :count;\nSELECT :'name', ':not_this', a[1:2] FROM t;\nSELECT :\"ident\";",
            "002_copy.up.sql": "CREATE TABLE t (a int);\nCOPY t (a) FROM stdin;\n1\n2\n\\.\n",
            "003_meta.up.sql": "\\set ON_ERROR_STOP on\nSELECT 1;",
        ])
        let error = #expect(throws: MigrationFolderError.self) { try folder.migrations() }
        let found = (error?.problems ?? []).map { "\($0.file):\($0.line ?? 0)" }
        #expect(found == ["001_vars.up.sql:2", "001_vars.up.sql:3", "001_vars.up.sql:4", "002_copy.up.sql:2", "002_copy.up.sql:5", "003_meta.up.sql:1"])
    }

    @Test("casts, slices and colons inside literals and comments are not psql variables")
    func colonsThatAreSQL() {
        #expect(SQLSplitter.psqlOnlySyntax("SELECT x::text, a[1:2], ':v', $$:v$$ -- :v\nFROM t /* :v */;").isEmpty)
    }
}
