import Foundation
import PostgresNIO
import Testing
import TestSupport

@testable import SQLStoreMigrations

/// Each migration behaves as if `psql -1 -f` ran it in a session of its own: the repros of
/// issue 12, each asserting what psql does with the same files.
@Suite("Session isolation")
struct SessionIsolationTests {
    func relationExists(_ qualified: String, in database: TestDatabase) async throws -> Bool {
        try await database.scalar("SELECT to_regclass(\(qualified)) IS NOT NULL", as: Bool.self) ?? false
    }

    /// A role of the cluster for one test (roles are cluster-wide; tests run in parallel).
    func withRole<Result: Sendable>(
        _ options: String = "NOLOGIN", _ body: (String) async throws -> Result
    ) async throws -> Result {
        let role = "r_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased().prefix(16)
        let admin = try TestDatabase.adminURL()
        _ = try await TestDatabase.withConnection(to: admin) {
            try await $0.query("CREATE ROLE \(unescaped: role) \(unescaped: options)", logger: TestDatabase.logger)
        }
        do {
            let result = try await body(role)
            _ = try? await TestDatabase.withConnection(to: admin) {
                try await $0.query("DROP ROLE IF EXISTS \(unescaped: role)", logger: TestDatabase.logger)
            }
            return result
        } catch {
            _ = try? await TestDatabase.withConnection(to: admin) {
                try await $0.query("DROP ROLE IF EXISTS \(unescaped: role)", logger: TestDatabase.logger)
            }
            throw error
        }
    }

    @Test("a search_path set by one migration does not leak: the next file's table lands in public")
    func searchPathDoesNotLeak() async throws {
        let folder = try MigrationFolder([
            "001_app_schema.up.sql": "CREATE SCHEMA app;\nSET search_path = app, public;",
            "002_table.up.sql": "CREATE TABLE t (a int);",
        ])
        try await TestDatabase.withFresh { database in
            try await runner(folder, database).up()
            #expect(try await relationExists("public.t", in: database))
            #expect(try await relationExists("app.t", in: database) == false)
        }
    }

    @Test("session_replication_role = replica in one migration does not turn off the next one's triggers")
    func replicationRoleDoesNotLeak() async throws {
        let folder = try MigrationFolder([
            "001_audited.up.sql": """
                CREATE TABLE audited (id int);
                CREATE TABLE audit_log (id int);
                CREATE FUNCTION log_insert() RETURNS trigger LANGUAGE plpgsql AS $$
                BEGIN INSERT INTO audit_log VALUES (NEW.id); RETURN NEW; END $$;
                CREATE TRIGGER audited_insert AFTER INSERT ON audited FOR EACH ROW EXECUTE FUNCTION log_insert();
                """,
            "002_replica.up.sql": "SET session_replication_role = replica;",
            "003_insert.up.sql": "INSERT INTO audited VALUES (1);",
        ])
        try await TestDatabase.withFresh { database in
            try await runner(folder, database).up()
            #expect(try await database.scalar("SELECT count(*)::int FROM audit_log", as: Int.self) == 1)
        }
    }

    @Test("a temporary table of the same name in two migrations: both apply")
    func temporaryTablesDoNotLeak() async throws {
        let folder = try MigrationFolder([
            "001_first.up.sql": "CREATE TEMP TABLE tmp (a int);\nINSERT INTO tmp VALUES (1);",
            "002_second.up.sql": "CREATE TEMP TABLE tmp (a int);\nCREATE TABLE copied AS SELECT count(*) AS n FROM tmp;",
        ])
        try await TestDatabase.withFresh { database in
            try await runner(folder, database).up()
            #expect(try await database.scalar("SELECT n::int FROM copied", as: Int.self) == 0)
            #expect(try await runner(folder, database).status().isUpToDate)
        }
    }

    @Test("a temporary table also goes away after a non-transactional migration")
    func temporaryTablesDoNotLeakFromNonTransactional() async throws {
        let folder = try MigrationFolder([
            "001_first.up.sql": "-- sqlstore:no-transaction\nCREATE TEMP TABLE tmp (a int);",
            "002_second.up.sql": "CREATE TEMP TABLE tmp (a int);",
        ])
        try await TestDatabase.withFresh { database in
            try await runner(folder, database).up()
            #expect(try await runner(folder, database).status().isUpToDate)
        }
    }

    @Test("a pg_dump-style empty search_path is recorded, and the next migration's table lands in public")
    func emptySearchPathDoesNotBreakRecording() async throws {
        let folder = try MigrationFolder([
            "001_dump.up.sql": """
                SELECT pg_catalog.set_config('search_path', '', false);
                CREATE TABLE public.dumped (id int);
                """,
            "002_next.up.sql": "CREATE TABLE next_one (id int);",
        ])
        try await TestDatabase.withFresh { database in
            try await runner(folder, database).up()
            #expect(try await runner(folder, database).status().entries.map(\.state) == [.applied, .applied])
            #expect(try await relationExists("public.next_one", in: database))
        }
    }

    @Test("an empty search_path in a non-transactional migration does not break its progress rows")
    func emptySearchPathInNonTransactional() async throws {
        let folder = try MigrationFolder([
            "001_dump.up.sql": """
                -- sqlstore:no-transaction
                SELECT pg_catalog.set_config('search_path', '', false);
                CREATE TABLE public.dumped (id int);
                """
        ])
        try await TestDatabase.withFresh { database in
            try await runner(folder, database).up()
            #expect(try await runner(folder, database).status().isUpToDate)
        }
    }

    @Test("SET ROLE in a migration: it is recorded as the runner's role, and the next migration runs as the runner")
    func setRoleDoesNotBreakRecording() async throws {
        try await withRole { role in
            let folder = try MigrationFolder([
                "001_become.up.sql": "SET ROLE \(role);\nSELECT 1;",
                "002_owned.up.sql": "CREATE TABLE owned (id int);",
            ])
            try await TestDatabase.withFresh { database in
                try await runner(folder, database).up()
                let by = try await database.scalar("SELECT applied_by FROM schema_migrations WHERE version = 1", as: String.self)
                #expect(by?.hasPrefix("postgres (") == true)
                let owner = try await database.scalar(
                    "SELECT pg_get_userbyid(relowner)::text FROM pg_class WHERE oid = 'public.owned'::regclass", as: String.self)
                #expect(owner == "postgres")
            }
        }
    }

    @Test("SET ROLE in a non-transactional migration does not break its progress rows")
    func setRoleInNonTransactional() async throws {
        try await withRole { role in
            let folder = try MigrationFolder([
                "001_become.up.sql": "-- sqlstore:no-transaction\nSET ROLE \(role);\nSELECT 1;"
            ])
            try await TestDatabase.withFresh { database in
                try await runner(folder, database).up()
                let by = try await database.scalar("SELECT applied_by FROM schema_migrations WHERE version = 1", as: String.self)
                #expect(by?.hasPrefix("postgres (") == true)
            }
        }
    }

    @Test("a runner that is not a superuser resets and records as itself")
    func nonSuperuserRunner() async throws {
        try await withRole("LOGIN") { role in
            let folder = try MigrationFolder([
                "001_a.up.sql": "SET search_path = pg_catalog;\nCREATE TABLE public.a (id int);",
                "002_b.up.sql": "-- sqlstore:no-transaction\nCREATE TABLE b (id int);",
            ])
            try await TestDatabase.withFresh { database in
                try await database.execute("ALTER DATABASE \(unescaped: database.name) OWNER TO \(unescaped: role)")
                try await database.execute("ALTER SCHEMA public OWNER TO \(unescaped: role)")
                var url = database.url
                url.username = role
                let runner = MigrationRunner(
                    migrations: try folder.migrations(),
                    connection: try url.connectionConfiguration(applicationName: "sqlstore tests"),
                    logger: TestDatabase.logger)
                try await runner.up()
                #expect(try await runner.status().isUpToDate)
                let by = try await database.scalar("SELECT applied_by FROM schema_migrations WHERE version = 2", as: String.self)
                #expect(by?.hasPrefix("\(role) (") == true)
            }
        }
    }

    @Test("DROP SCHEMA public CASCADE; CREATE SCHEMA public applies, with the tracking tables in public")
    func dropSchemaPublicWithTrackingInPublic() async throws {
        let folder = try MigrationFolder([
            "001_before.up.sql": "CREATE TABLE before_reset (id int);",
            "002_reset.up.sql": "DROP SCHEMA public CASCADE;\nCREATE SCHEMA public;\nCREATE TABLE public.fresh (id int);",
            "003_after.up.sql": "CREATE TABLE after_reset (id int);",
        ])
        try await TestDatabase.withFresh { database in
            try await runner(folder, database).up()
            let status = try await runner(folder, database).status()
            #expect(status.entries.map(\.state) == [.applied, .applied, .applied])
            #expect(try await relationExists("public.before_reset", in: database) == false)
            #expect(try await relationExists("public.fresh", in: database))
            #expect(try await relationExists("public.after_reset", in: database))
        }
    }

    @Test("DROP SCHEMA public CASCADE leaves tracking tables in a tracking schema of their own untouched")
    func dropSchemaPublicWithTrackingSchema() async throws {
        let folder = try MigrationFolder([
            "001_before.up.sql": "CREATE TABLE before_reset (id int);",
            "002_reset.up.sql": "DROP SCHEMA public CASCADE;\nCREATE SCHEMA public;",
        ])
        try await TestDatabase.withFresh { database in
            try await runner(folder, database) { $0.trackingSchema = "sqlstore" }.up()
            #expect(try await relationExists("sqlstore.schema_migrations", in: database))
            #expect(try await relationExists("public.schema_migrations", in: database) == false)
            let history = try await database.scalar(
                "SELECT count(*)::int FROM sqlstore.schema_migrations_history WHERE success", as: Int.self)
            #expect(history == 2)
        }
    }

    @Test("without --tracking-schema the tracking table stays where it is, even if the current schema changed since")
    func defaultTrackingSchemaIsWhereTheTableIs() async throws {
        let folder = try MigrationFolder([
            "001_a.up.sql": "CREATE TABLE public.a (id int);",
            "002_b.up.sql": "CREATE TABLE public.b (id int);",
        ])
        try await TestDatabase.withFresh { database in
            try await runner(folder, database).up(to: 1)
            // The default search_path is "$user", public: a schema named after the user now comes first.
            try await database.execute("CREATE SCHEMA postgres")
            try await runner(folder, database).up()
            #expect(try await relationExists("public.b", in: database))
            #expect(try await relationExists("postgres.schema_migrations", in: database) == false)
            #expect(try await database.scalar("SELECT count(*)::int FROM public.schema_migrations", as: Int.self) == 2)
        }
    }

    @Test("SET TRANSACTION ISOLATION LEVEL as a migration's first statement is honoured")
    func setTransactionIsolationIsHonoured() async throws {
        let folder = try MigrationFolder([
            "001_serializable.up.sql": """
                SET TRANSACTION ISOLATION LEVEL SERIALIZABLE;
                CREATE TABLE isolation_seen AS SELECT current_setting('transaction_isolation') AS level;
                """
        ])
        try await TestDatabase.withFresh { database in
            try await runner(folder, database).up()
            #expect(try await database.scalar("SELECT level FROM isolation_seen", as: String.self) == "serializable")
        }
    }

    @Test("DISCARD ALL would release the runner's session-level advisory lock, so the runner does not use it")
    func discardAllReleasesAdvisoryLocks() async throws {
        try await TestDatabase.withFresh { database in
            try await database.withConnection { connection in
                try await connection.query("SELECT pg_advisory_lock(42)", logger: TestDatabase.logger)
                try await connection.query("DISCARD ALL", logger: TestDatabase.logger)
                let held = try await connection.query(
                    "SELECT count(*)::int FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid()",
                    logger: TestDatabase.logger
                ).decode(Int.self).reduce(into: [Int]()) { $0.append($1) }
                #expect(held == [0])
            }
        }
    }

    @Test("the runner still holds its lock after a migration's session is reset")
    func lockSurvivesReset() async throws {
        let folder = try MigrationFolder([
            "001_a.up.sql": "SET search_path = pg_catalog;",
            "002_b.up.sql": "CREATE TABLE public.lock_seen AS SELECT count(*)::int AS n FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid();",
        ])
        try await TestDatabase.withFresh { database in
            try await runner(folder, database).up()
            #expect(try await database.scalar("SELECT n FROM lock_seen", as: Int.self) == 1)
        }
    }
}
