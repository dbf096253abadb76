import PostgresNIO
import Testing
import TestSupport

@testable import SQLStoreMigrations

/// The rules about changes that fail on a populated table, or break the application version
/// still running during a deploy. Each claim is shown on PostgreSQL: the statement fails, or a
/// query the running version sends fails afterwards. Each safe counterpart is linted clean.
@Suite("Lint rules: breaking changes")
struct LintBreakingChangeTests {
    // MARK: not-null-without-default

    @Test("not-null-without-default: ADD COLUMN … NOT NULL without a default fails on a table with rows")
    func notNullWithoutDefaultFails() async throws {
        let sql = "ALTER TABLE accounts ADD COLUMN region TEXT NOT NULL"
        #expect(try LintFixture.rules(sql + ";") == [.notNullWithoutDefault])
        try await LintFixture.withBase { (database: TestDatabase) async throws in
            #expect(try await LintFixture.sqlState(of: sql, in: database) == "23502")
        }
    }

    @Test("not-null-without-default: a constant default is accepted, and PostgreSQL adds it without a rewrite")
    func notNullWithConstantDefault() async throws {
        let sql = "ALTER TABLE accounts ADD COLUMN region TEXT NOT NULL DEFAULT 'eu'"
        #expect(try LintFixture.rules(sql + ";").isEmpty)
        #expect(try LintFixture.rules("ALTER TABLE accounts ADD COLUMN region TEXT;").isEmpty)
        #expect(try LintFixture.rules("CREATE TABLE t (id int PRIMARY KEY);\nALTER TABLE t ADD COLUMN v int NOT NULL;").isEmpty)
        #expect(try LintFixture.rules("ALTER TABLE accounts ADD COLUMN c int CHECK (c IS NOT NULL);").isEmpty)
        try await LintFixture.withBase { (database: TestDatabase) async throws in
            let before = try await LintFixture.relfilenode("accounts", in: database)
            #expect(try await LintFixture.sqlState(of: sql, in: database) == nil)
            #expect(try await LintFixture.relfilenode("accounts", in: database) == before)
        }
    }

    // MARK: breaking-drop

    @Test("breaking-drop: after DROP COLUMN and DROP TABLE, the running version's queries fail")
    func dropsBreakQueries() async throws {
        #expect(try LintFixture.rules("ALTER TABLE accounts DROP COLUMN nickname;") == [.breakingDrop])
        #expect(try LintFixture.rules("ALTER TABLE accounts DROP COLUMN IF EXISTS nickname;") == [.breakingDrop])
        #expect(try LintFixture.rules("DROP TABLE accounts CASCADE;") == [.breakingDrop])
        #expect(try LintFixture.rules("DROP SCHEMA billing CASCADE;") == [.breakingDrop])
        try await LintFixture.withBase { (database: TestDatabase) async throws in
            let oldQuery = "SELECT id, nickname FROM accounts"
            #expect(try await LintFixture.sqlState(of: oldQuery, in: database) == nil)
            try await LintFixture.run("ALTER TABLE accounts DROP COLUMN nickname", in: database)
            #expect(try await LintFixture.sqlState(of: oldQuery, in: database) == "42703")
            try await LintFixture.run("DROP TABLE accounts CASCADE", in: database)
            #expect(try await LintFixture.sqlState(of: "SELECT id FROM accounts", in: database) == "42P01")
        }
    }

    static let recreate = "DROP TABLE accounts CASCADE;\nCREATE TABLE accounts (id BIGINT PRIMARY KEY, email TEXT NOT NULL);"

    @Test("breaking-drop: a drop-and-recreate makes the running version's reads wait, then its prepared statement fail, with every row gone")
    func dropAndRecreateBreaksTheRunningVersion() async throws {
        let findings = try LintFixture.lint(Self.recreate)
        #expect(findings.map(\.rule) == [.breakingDrop])
        let finding = try #require(findings.first)
        #expect(finding.message.hasPrefix("DROP TABLE accounts and CREATE TABLE accounts at line 2"), "\(finding.message)")
        #expect(finding.why.contains("SQLSTATE 0A000"), "\(finding.why)")
        #expect(finding.safeAlternative.hasPrefix("Expand and contract: `CREATE TABLE accounts_new (…)`"))
        try await LintFixture.withBase { (database: TestDatabase) async throws in
            let migration = try SQLSplitter.split(Self.recreate).map(\.text)
            // While the migration's transaction is open, the running version's reads of accounts wait.
            #expect(
                try await LintFixture.blocks(migration[0], probe: "SELECT count(*) FROM accounts", in: database))
            try await database.withConnection { application in
                try await LintFixture.run("PREPARE all_accounts AS SELECT * FROM accounts", on: application)
                try await LintFixture.run("EXECUTE all_accounts", on: application)
                try await LintFixture.run(migration, in: database)
                let state: String?
                do {
                    try await LintFixture.run("EXECUTE all_accounts", on: application)
                    state = nil
                } catch let error as PSQLError {
                    state = error.serverInfo?[.sqlState]
                }
                #expect(state == "0A000", "cached plan must not change result type")
                #expect(
                    try await LintFixture.sqlState(of: "SELECT nickname FROM accounts", in: database) == "42703",
                    "a column the new table lacks")
            }
            #expect(try await database.scalar("SELECT count(*)::int FROM accounts", as: Int.self) == 0, "the rows are gone")
        }
    }

    @Test("breaking-drop: accepts the expand step of replacing a table, a batched copy, and a recreate of a table of the same file")
    func replaceTableSafely() async throws {
        let expand = "CREATE TABLE accounts_new (id BIGINT PRIMARY KEY, email TEXT NOT NULL)"
        let copy = "INSERT INTO accounts_new SELECT id, email FROM accounts WHERE id > 0 ORDER BY id LIMIT 1000"
        #expect(try LintFixture.rules("\(expand);\n\(copy);").isEmpty)
        #expect(
            try LintFixture.rules(
                "CREATE TABLE scratch (id int PRIMARY KEY);\nDROP TABLE scratch;\nCREATE TABLE scratch (id bigint PRIMARY KEY);"
            ).isEmpty)
        let recreateInDown = "DROP TABLE IF EXISTS accounts CASCADE;\nCREATE TABLE accounts (id BIGINT PRIMARY KEY, email TEXT);"
        #expect(try LintFixture.rules("SELECT 1;", down: recreateInDown).isEmpty, "a down script undoes its own migration")
        #expect(
            try LintFixture.rules("-- The contract step: nothing uses accounts since release 42.\n"
                + "-- sqlstore:lint-ignore=breaking-drop\nDROP TABLE IF EXISTS accounts CASCADE;").isEmpty)
        try await LintFixture.withBase { (database: TestDatabase) async throws in
            try await database.withConnection { application in
                try await LintFixture.run("PREPARE all_accounts AS SELECT * FROM accounts", on: application)
                try await LintFixture.run(expand, copy, in: database)
                // The running version's prepared statement and rows are untouched by the expand step.
                try await LintFixture.run("EXECUTE all_accounts", on: application)
            }
            #expect(try await database.scalar("SELECT count(*)::int FROM accounts_new", as: Int.self) == 2)
            #expect(try await database.scalar("SELECT count(*)::int FROM accounts", as: Int.self) == 2)
        }
    }

    @Test("breaking-rename: a view under the old name, made in the rename's transaction, keeps the running version's prepared read and write working")
    func renameBridgedByAView() async throws {
        let bridge = "-- sqlstore:lint-ignore=breaking-rename\nALTER TABLE accounts RENAME TO members;\n"
            + "CREATE VIEW accounts AS SELECT * FROM members;"
        #expect(try LintFixture.rules(bridge).isEmpty)
        let finding = try #require(try LintFixture.lint("ALTER TABLE accounts RENAME TO members;").first)
        #expect(finding.safeAlternative.contains("CREATE VIEW accounts AS SELECT * FROM members"))
        try await LintFixture.withBase { (database: TestDatabase) async throws in
            try await database.withConnection { application in
                try await LintFixture.run("PREPARE read_accounts AS SELECT * FROM accounts", on: application)
                try await LintFixture.run(
                    "PREPARE add_account AS INSERT INTO accounts VALUES ($1, 'c@example.com', 'c', 0)", on: application)
                try await LintFixture.run(
                    "BEGIN", "ALTER TABLE accounts RENAME TO members", "CREATE VIEW accounts AS SELECT * FROM members",
                    "COMMIT", in: database)
                try await LintFixture.run("EXECUTE read_accounts", on: application)
                try await LintFixture.run("EXECUTE add_account(3)", on: application)
            }
            #expect(try await database.scalar("SELECT count(*)::int FROM members", as: Int.self) == 3)
        }
    }

    @Test("breaking-drop: DROP DATABASE fails while the application is connected, WITH (FORCE) ends its sessions, then refuses them")
    func dropDatabaseBreaksTheApplication() async throws {
        let findings = try LintFixture.lint("-- sqlstore:no-transaction\nDROP DATABASE IF EXISTS shop WITH (FORCE);")
        #expect(findings.map(\.rule) == [.breakingDrop])
        let message = findings.first?.message ?? ""
        #expect(message.hasPrefix("DROP DATABASE shop removes every table in it"), "\(message)")
        #expect(message.contains("(55006)") && message.contains("(3D000)"), "\(message)")
        #expect(try LintFixture.rules("DROP DATABASE shop;", down: nil).contains(.breakingDrop))

        let admin = try TestDatabase.adminURL()
        try await TestDatabase.withFresh { (database: TestDatabase) async throws in
            try await LintFixture.run("CREATE TABLE accounts (id BIGINT PRIMARY KEY)", in: database)
            // Opened by hand: the forced drop ends this session, so closing it afterwards may fail.
            let application = try await PostgresConnection.connect(
                configuration: try database.connectionConfiguration, id: 1, logger: TestDatabase.logger)
            try await LintFixture.run("SELECT count(*) FROM accounts", on: application)
            let plain = try await TestDatabase.withConnection(to: admin) { migrator in
                do {
                    try await LintFixture.run("DROP DATABASE \(database.name)", on: migrator)
                    return nil as String?
                } catch let error as PSQLError {
                    return error.serverInfo?[.sqlState]
                }
            }
            #expect(plain == "55006", "the application's session makes a plain drop fail")
            try await TestDatabase.withConnection(to: admin) { migrator in
                try await LintFixture.run("DROP DATABASE \(database.name) WITH (FORCE)", on: migrator)
            }
            // The forced drop terminated the application's session. It is not queried again: a
            // query written to a connection the server just closed may never complete in
            // PostgresNIO 1.33, so the proof is that the application cannot come back.
            try? await application.close()
            let reconnect: String?
            do {
                try await database.withConnection { _ in }
                reconnect = nil
            } catch let error as PSQLError {
                reconnect = error.serverInfo?[.sqlState]
            }
            #expect(reconnect == "3D000", "a new connection of the application is refused")
        }
    }

    @Test("breaking-drop and breaking-rename: after a schema's drop or rename, queries naming it fail")
    func schemaChangesBreakQueries() async throws {
        #expect(try LintFixture.rules("DROP SCHEMA IF EXISTS billing CASCADE;") == [.breakingDrop])
        #expect(try LintFixture.rules("ALTER SCHEMA billing RENAME TO invoicing;") == [.breakingRename])
        try await LintFixture.withBase { (database: TestDatabase) async throws in
            try await LintFixture.run(
                "CREATE SCHEMA billing", "CREATE TABLE billing.invoices (id BIGINT PRIMARY KEY)", in: database)
            let oldQuery = "SELECT count(*) FROM billing.invoices"
            #expect(try await LintFixture.sqlState(of: oldQuery, in: database) == nil)
            try await LintFixture.run("ALTER SCHEMA billing RENAME TO invoicing", in: database)
            let renamed = try await LintFixture.sqlState(of: oldQuery, in: database)
            #expect(renamed == "42P01" || renamed == "3F000", "\(renamed ?? "no error")")
            try await LintFixture.run("DROP SCHEMA invoicing CASCADE", in: database)
            let dropped = try await LintFixture.sqlState(of: "SELECT count(*) FROM invoicing.invoices", in: database)
            #expect(dropped == "42P01" || dropped == "3F000", "\(dropped ?? "no error")")
        }
    }

    @Test("breaking-drop: accepts drops of what the same file created, down scripts, and an acknowledged contract step")
    func dropsSafely() throws {
        #expect(try LintFixture.rules("CREATE TABLE t (id int PRIMARY KEY, v int);\nALTER TABLE t DROP COLUMN v;\nDROP TABLE t;").isEmpty)
        #expect(try LintFixture.rules("CREATE SCHEMA billing;\nDROP SCHEMA billing;").isEmpty)
        #expect(
            try LintFixture.rules(
                "ALTER TABLE accounts ADD COLUMN note text;",
                down: "ALTER TABLE accounts DROP COLUMN IF EXISTS note;").isEmpty)
        let contract = """
            -- Contract step: no deployed version reads nickname since release 42.
            -- sqlstore:lint-ignore=breaking-drop
            ALTER TABLE accounts DROP COLUMN nickname;
            """
        #expect(try LintFixture.rules(contract).isEmpty)
    }

    // MARK: breaking-rename

    @Test("breaking-rename: after renaming a column, a table or an enum value, the running version's queries fail")
    func renamesBreakQueries() async throws {
        #expect(try LintFixture.rules("ALTER TABLE accounts RENAME COLUMN nickname TO handle;") == [.breakingRename])
        #expect(try LintFixture.rules("ALTER TABLE accounts RENAME nickname TO handle;") == [.breakingRename])
        #expect(try LintFixture.rules("ALTER TABLE accounts RENAME TO customers;") == [.breakingRename])
        #expect(try LintFixture.rules("ALTER TYPE mood RENAME VALUE 'sad' TO 'unhappy';") == [.breakingRename])
        #expect(try LintFixture.rules("ALTER SCHEMA billing RENAME TO invoicing;") == [.breakingRename])
        try await LintFixture.withBase { (database: TestDatabase) async throws in
            try await LintFixture.run("ALTER TABLE accounts RENAME COLUMN nickname TO handle", in: database)
            #expect(try await LintFixture.sqlState(of: "SELECT nickname FROM accounts", in: database) == "42703")
            try await LintFixture.run("ALTER TABLE accounts RENAME TO customers", in: database)
            #expect(try await LintFixture.sqlState(of: "SELECT id FROM accounts", in: database) == "42P01")
            try await LintFixture.run("ALTER TYPE mood RENAME VALUE 'sad' TO 'unhappy'", in: database)
            #expect(try await LintFixture.sqlState(of: "SELECT 'sad'::mood", in: database) == "22P02")
        }
    }

    @Test("breaking-rename: accepts renames of what the same file created, and of constraints and indexes")
    func renamesSafely() throws {
        #expect(try LintFixture.rules("CREATE TABLE t (id int PRIMARY KEY, v int);\nALTER TABLE t RENAME v TO w;\nALTER TABLE t RENAME TO u;").isEmpty)
        #expect(try LintFixture.rules("ALTER TABLE accounts RENAME CONSTRAINT accounts_pkey TO accounts_id_pkey;").isEmpty)
        #expect(try LintFixture.rules("ALTER INDEX idx_accounts_email RENAME TO idx_accounts_by_email;").isEmpty)
        #expect(try LintFixture.rules("ALTER TYPE mood ADD VALUE IF NOT EXISTS 'calm';").isEmpty)
    }

    // MARK: drop-not-null

    @Test("drop-not-null: after DROP NOT NULL a NULL the running version does not expect can be stored")
    func dropNotNullAdmitsNull() async throws {
        let findings = try LintFixture.lint("ALTER TABLE accounts ALTER COLUMN nickname DROP NOT NULL;")
        #expect(findings.map(\.rule) == [.dropNotNull])
        #expect(findings.first?.severity == .warning)
        try await LintFixture.withBase { (database: TestDatabase) async throws in
            let insert = "INSERT INTO accounts (id, email, nickname) VALUES (3, 'c', NULL)"
            #expect(try await LintFixture.sqlState(of: insert, in: database) == "23502")
            try await LintFixture.run("ALTER TABLE accounts ALTER COLUMN nickname DROP NOT NULL", in: database)
            #expect(try await LintFixture.sqlState(of: insert, in: database) == nil)
        }
    }

    @Test("drop-not-null: accepts it on a table of the same file, and in a down script")
    func dropNotNullSafely() throws {
        #expect(try LintFixture.rules("CREATE TABLE t (id int PRIMARY KEY, v int NOT NULL);\nALTER TABLE t ALTER v DROP NOT NULL;").isEmpty)
        #expect(
            try LintFixture.rules(
                "ALTER TABLE accounts ADD COLUMN note text NOT NULL DEFAULT '';",
                down: "ALTER TABLE accounts DROP COLUMN IF EXISTS note;").isEmpty)
    }
}
