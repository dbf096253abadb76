import Foundation
import PostgresNIO
import Testing
import TestSupport

@testable import SQLStoreMigrations

/// `NNN_name.verify.sql`: checks that run after a migration, fail it, and run again in verify.
@Suite("Verify scripts")
struct VerifyScriptTests {
    @Test("a verify script is loaded beside its migration")
    func verifyIsLoaded() throws {
        let folder = try MigrationFolder([
            "001_t.up.sql": "CREATE TABLE t (id int);",
            "001_t.verify.sql": "SELECT to_regclass('t') IS NOT NULL AS t_exists;",
        ])
        #expect(try folder.migrations().first?.verify?.fileName == "001_t.verify.sql")
    }

    @Test("a verify script without its up script is refused")
    func verifyWithoutUp() throws {
        let folder = try MigrationFolder(["001_t.verify.sql": "SELECT true;"])
        let error = #expect(throws: MigrationFolderError.self) { try folder.migrations() }
        #expect(error?.problems.map(\.description) == ["001_t.verify.sql: a verify script without its up script"])
    }

    @Test("a passing verify script lets the migration be recorded")
    func passingVerifyApplies() async throws {
        let folder = try MigrationFolder([
            "001_t.up.sql": "CREATE TABLE t (id int);\nINSERT INTO t VALUES (1);",
            "001_t.verify.sql": "SELECT count(*) = 1 AS one_row FROM t;",
        ])
        try await TestDatabase.withFresh { database in
            try await runner(folder, database).up()
            #expect(try await runner(folder, database).status().isUpToDate)
        }
    }

    @Test("a verify row with false rolls the migration back and names the column and line")
    func falseRowRollsBack() async throws {
        let folder = try MigrationFolder([
            "001_t.up.sql": "CREATE TABLE t (id int);",
            "001_t.verify.sql": "-- the backfill\n\nSELECT true AS fine, count(*) > 0 AS backfilled FROM t;",
        ])
        try await TestDatabase.withFresh { database in
            let error = await #expect(throws: MigrationError.self) { try await runner(folder, database).up() }
            guard let error, error.code == .statementFailed, let failure = error.statementFailure else {
                Issue.record("expected a statement failure, got \(String(describing: error))")
                return
            }
            #expect(failure.file == "001_t.verify.sql" && failure.line == 3 && failure.rolledBack)
            #expect(failure.message.contains("\"backfilled\""))
            #expect(try await database.tableExists("t") == false)
            #expect(try await database.scalar("SELECT count(*)::int FROM schema_migrations", as: Int.self) == 0)
            let attempt = try await database.scalar(
                "SELECT file || ':' || line FROM schema_migrations_history WHERE NOT success", as: String.self)
            #expect(attempt == "001_t.verify.sql:3")
        }
    }

    @Test("a verify script that raises rolls the migration back")
    func raisingVerifyRollsBack() async throws {
        let folder = try MigrationFolder([
            "001_t.up.sql": "CREATE TABLE t (id int);",
            "001_t.verify.sql": "DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM t) THEN RAISE EXCEPTION 't is empty'; END IF; END $$;",
        ])
        try await TestDatabase.withFresh { database in
            let error = await #expect(throws: MigrationError.self) { try await runner(folder, database).up() }
            #expect(error?.description.contains("t is empty") == true)
            let leftBehind = try await database.tableExists("t")
            #expect(!leftBehind)
        }
    }

    @Test("a verify script runs as a fresh session would, not with the migration's settings")
    func verifyRunsInFreshSettings() async throws {
        let folder = try MigrationFolder([
            "001_t.up.sql": "CREATE SCHEMA other;\nCREATE TABLE other.t (id int);\nCREATE TABLE public.t (id int);\nINSERT INTO public.t VALUES (1);\nSET search_path = other;",
            "001_t.verify.sql": "SELECT count(*) = 1 AS public_t_seen FROM t;",
        ])
        try await TestDatabase.withFresh { database in
            try await runner(folder, database).up()
        }
    }

    @Test("a failing verify script of a non-transactional migration records it failed")
    func nonTransactionalVerifyFailure() async throws {
        let folder = try MigrationFolder([
            "001_t.up.sql": "-- sqlstore:no-transaction\nCREATE TABLE t (id int);",
            "001_t.verify.sql": "SELECT false AS never;",
        ])
        try await TestDatabase.withFresh { database in
            let runner = try runner(folder, database)
            await #expect(throws: MigrationError.self) { try await runner.up() }
            #expect(try await runner.status().entries.first?.state == .failed)
        }
    }

    @Test("verify runs every applied migration's verify script again, in the verify phase, changing nothing")
    func verifyRunsScriptsAgain() async throws {
        let folder = try MigrationFolder([
            "001_t.up.sql": "CREATE TABLE t (id int);\nINSERT INTO t VALUES (1);",
            "001_t.verify.sql": """
                SELECT count(*) = 1 AS one_row FROM t;
                CREATE TEMP TABLE phases AS SELECT current_setting('sqlstore.phase', true) AS phase;
                INSERT INTO t VALUES (2);
                """,
        ])
        try await TestDatabase.withFresh { database in
            let runner = try runner(folder, database)
            try await runner.up()
            #expect(try await database.scalar("SELECT count(*)::int FROM t", as: Int.self) == 1, "a verify script changes nothing")
            #expect(try await runner.verify(expected: nil).isClean)
            try await database.execute("INSERT INTO t VALUES (3)")
            let report = try await runner.verify(expected: nil)
            #expect(report.problems == ["001_t.verify.sql:1: verification failed: column \"one_row\" is false"])
        }
    }

    @Test("the verify script sees which phase it runs in")
    func phaseIsVisible() async throws {
        let folder = try MigrationFolder([
            "001_t.up.sql": "CREATE TABLE t (id int);",
            "001_t.verify.sql": "SELECT current_setting('sqlstore.phase', true) = 'apply' AS applying;",
        ])
        try await TestDatabase.withFresh { database in
            let runner = try runner(folder, database)
            try await runner.up()
            #expect(try await runner.verify(expected: nil).problems.count == 1, "in verify the phase is 'verify'")
        }
    }

    @Test("SQLStore's 008 verify script passes on the migrated schema, in both phases")
    func shippedVerifyPasses() async throws {
        try await TestDatabase.withMigrated { database in
            #expect(try database.schemaRunner().migrations.first { $0.version == 8 }?.verify != nil)
            let report = try await database.schemaRunner().verify(expected: nil)
            #expect(report.problems.isEmpty, "\(report.problems)")
        }
    }

    @Test("SQLStore's 008 verify script catches a setter that lost SECURITY DEFINER")
    func shippedVerifyCatchesDrift() async throws {
        try await TestDatabase.withMigrated { database in
            try await database.execute("ALTER FUNCTION set_user_active_org(bigint, bigint) SECURITY INVOKER")
            let report = try await database.schemaRunner().verify(expected: nil)
            #expect(report.problems.count == 1)
            #expect(report.problems.first?.contains("set_user_active_org_is_security_definer_with_pinned_search_path") == true)
        }
    }

    @Test("SQLStore's 008 verify script fails the migration when the backfill is incomplete")
    func shippedVerifyCatchesIncompleteBackfill() async throws {
        try await TestDatabase.withFresh { database in
            let runner = try database.schemaRunner()
            try await runner.up(to: 7)
            try await database.execute("INSERT INTO users (email, name) VALUES ('a@example.com', 'A')")
            try await database.execute("INSERT INTO organizations (slug, name) VALUES ('acme', 'Acme')")
            try await database.execute(
                "INSERT INTO organization_members (organization_id, user_id, role) SELECT o.id, u.id, 'member' FROM organizations o, users u")
            // A trigger standing in for a broken backfill: it undoes every active organization set.
            try await database.execute(
                """
                CREATE FUNCTION undo_backfill() RETURNS trigger LANGUAGE plpgsql AS $$
                BEGIN NEW.active_org_id := NULL; RETURN NEW; END $$
                """)
            try await database.execute(
                "CREATE TRIGGER undo_backfill BEFORE UPDATE ON users FOR EACH ROW EXECUTE FUNCTION undo_backfill()")
            let error = await #expect(throws: MigrationError.self) { try await runner.up(to: 8) }
            #expect(error?.description.contains("every_member_has_an_active_organization") == true, "\(String(describing: error))")
            #expect(try await runner.status().currentVersion == 7)
        }
    }
}
