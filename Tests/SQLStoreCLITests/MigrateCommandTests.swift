import Foundation
import PostgresNIO
import SQLStore
import SQLStoreMigrations
import Testing
import TestSupport

#if canImport(Glibc)
import Glibc
#endif

/// `sqlstore migrate` as operators run it: separate processes, real signals, real PostgreSQL.
@Suite("sqlstore migrate (processes)")
struct MigrateCommandTests {
    func sqlstore(_ arguments: [String], database: TestDatabase? = nil, environment: [String: String?] = [:]) throws -> ChildProcess {
        var arguments = arguments
        if let database { arguments += ["--database-url", database.url.urlString] }
        return try ChildProcess(try sqlstoreExecutable(), arguments, environment: environment)
    }

    /// Polls until the database shows a session running `pg_sleep` (the migration is mid-way).
    func waitForSleeper(in database: TestDatabase) async throws {
        for _ in 0..<500 {
            let sleeping = try await database.scalar(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND query LIKE 'SELECT pg_sleep%' AND pid <> pg_backend_pid()",
                as: Int.self)
            if sleeping == 1 { return }
            try await Task.sleep(for: .milliseconds(20))
        }
        let sessions = try await database.scalar(
            "SELECT string_agg(state || ': ' || query, ' | ') FROM pg_stat_activity WHERE datname = current_database()",
            as: String.self)
        throw TestSetupError("the migration never reached its pg_sleep; sessions: \(sessions ?? "none")")
    }

    @Test("several `migrate up` processes started at once all exit 0 and apply every migration exactly once")
    func concurrentProcesses() async throws {
        try await TestDatabase.withFresh { database in
            let processes = try (0..<4).map { _ in try sqlstore(["migrate", "up"], database: database) }
            for process in processes {
                let status = try await process.wait()
                #expect(status == 0, "\(process.output)")
            }
            let shipped = try SchemaMigrations.load().count
            let once = try await database.scalar(
                """
                SELECT bool_and(n = 1) AND count(*) = \(shipped)
                FROM (SELECT version, count(*) AS n FROM schema_migrations_history WHERE success GROUP BY version) s
                """, as: Bool.self)
            #expect(once == true)
        }
    }

    @Test("kill -9 during a transactional migration leaves no trace, and the next run succeeds")
    func killDuringTransactionalMigration() async throws {
        let folder = try MigrationFolder([
            "001_a.up.sql": "CREATE TABLE a (id INT);",
            "002_b.up.sql": "CREATE TABLE b (id INT);\nSELECT pg_sleep(60);",
        ])
        try await TestDatabase.withFresh { database in
            let victim = try sqlstore(["migrate", "up", "--dir", folder.url.path], database: database)
            try await waitForSleeper(in: database)
            victim.signal(SIGKILL)
            _ = try await victim.wait()

            try folder.write("002_b.up.sql", "CREATE TABLE b (id INT);")
            let next = try sqlstore(["migrate", "up", "--dir", folder.url.path, "--lock-wait", "20s"], database: database)
            let status = try await next.wait()
            #expect(status == 0, "\(next.output)")
            #expect(next.output.contains("applied  002_b"))
            let versions = try await database.scalar(
                "SELECT string_agg(version::text || state, ',' ORDER BY version) FROM schema_migrations", as: String.self)
            #expect(versions == "1applied,2applied")
        }
    }

    @Test("kill -9 during a non-transactional migration is reported with what to resolve, and repair lets it rerun")
    func killDuringNonTransactionalMigration() async throws {
        let folder = try MigrationFolder([
            "001_a.up.sql": "CREATE TABLE a (id INT);",
            "002_b.up.sql": """
                -- sqlstore:no-transaction
                CREATE TABLE IF NOT EXISTS b (id INT);
                SELECT pg_sleep(60);
                CREATE TABLE IF NOT EXISTS c (id INT);
                """,
        ])
        try await TestDatabase.withFresh { database in
            let victim = try sqlstore(["migrate", "up", "--dir", folder.url.path], database: database)
            try await waitForSleeper(in: database)
            victim.signal(SIGKILL)
            _ = try await victim.wait()

            let refused = try sqlstore(["migrate", "up", "--dir", folder.url.path, "--lock-wait", "20s"], database: database)
            #expect(try await refused.wait() == 1)
            #expect(refused.output.contains("002_b is non-transactional and was interrupted"), "\(refused.output)")
            #expect(refused.output.contains("1 of its statements completed"))
            #expect(refused.output.contains("sqlstore migrate repair 2 --pending"))

            let repair = try sqlstore(["migrate", "repair", "2", "--pending", "--dir", folder.url.path], database: database)
            #expect(try await repair.wait() == 0, "\(repair.output)")
            try folder.write("002_b.up.sql", "-- sqlstore:no-transaction\nCREATE TABLE IF NOT EXISTS b (id INT);\nCREATE TABLE IF NOT EXISTS c (id INT);")
            let rerun = try sqlstore(["migrate", "up", "--dir", folder.url.path], database: database)
            #expect(try await rerun.wait() == 0, "\(rerun.output)")
            #expect(try await database.tableExists("c"))
        }
    }

    @Test("a failure prints file, line, SQLSTATE, message and hint, and exits 1")
    func failureOutput() async throws {
        let folder = try MigrationFolder([
            "001_bad.up.sql": "CREATE TABLE ok (id INT);\n\nSELECT no_such_function(1);"
        ])
        try await TestDatabase.withFresh { database in
            let process = try sqlstore(["migrate", "up", "--dir", folder.url.path], database: database)
            #expect(try await process.wait() == 1)
            let output = process.output
            #expect(output.contains("001_bad.up.sql:3: statement 2 of 2 failed [SQLSTATE 42883]"), "\(output)")
            #expect(output.contains("function no_such_function(integer) does not exist"))
            #expect(output.contains("hint: No function matches"))
            #expect(output.contains("rolled back"))
        }
    }

    @Test("status --json reports every migration; verify passes on the shipped schema")
    func statusAndVerify() async throws {
        try await TestDatabase.withFresh { database in
            #expect(try await sqlstore(["migrate", "up", "--to", "3"], database: database).wait() == 0)
            let status = try sqlstore(["migrate", "status", "--json"], database: database)
            #expect(try await status.wait() == 0)
            struct Document: Decodable {
                struct Entry: Decodable { let version: Int; let state: String }
                let current_version: Int?
                let migrations: [Entry]
            }
            let document = try JSONDecoder().decode(Document.self, from: Data(status.output.utf8))
            #expect(document.current_version == 3)
            #expect(document.migrations.filter { $0.state == "pending" }.count == (try SchemaMigrations.load().count) - 3)

            let behind = try sqlstore(["migrate", "verify"], database: database)
            #expect(try await behind.wait() == 1)
            #expect(behind.output.contains("004_create_order_items is pending"))

            #expect(try await sqlstore(["migrate", "up"], database: database).wait() == 0)
            let verify = try sqlstore(["migrate", "verify"], database: database)
            #expect(try await verify.wait() == 0, "\(verify.output)")
            #expect(verify.output.contains("the live schema matches schema.snapshot"))
        }
    }

    @Test("--dry-run and status say that a file's own BEGIN/COMMIT is replaced by the runner's transaction")
    func wrapperIsReported() async throws {
        let folder = try MigrationFolder([
            "001_wrapped.up.sql": "BEGIN;\nCREATE TABLE wrapped (id INT);\nCOMMIT;\n"
        ])
        try await TestDatabase.withFresh { database in
            let dryRun = try sqlstore(["migrate", "up", "--dry-run", "--dir", folder.url.path], database: database)
            #expect(try await dryRun.wait() == 0, "\(dryRun.output)")
            #expect(dryRun.output.contains("replacing its BEGIN/COMMIT wrapper"), "\(dryRun.output)")
            #expect(!dryRun.output.contains("BEGIN;"), "only the statements in between are printed")
            let status = try sqlstore(["migrate", "status", "--dir", folder.url.path], database: database)
            #expect(try await status.wait() == 0)
            #expect(status.output.contains("transaction (own BEGIN/COMMIT)"), "\(status.output)")
        }
    }

    @Test("transaction control in several files is refused in one run, each file and line listed, nothing run")
    func transactionControlListedAtOnce() async throws {
        let folder = try MigrationFolder([
            "001_fine.up.sql": "CREATE TABLE fine (id INT);",
            "002_middle.up.sql": "CREATE TABLE a (id INT);\nCOMMIT;",
            "003_savepoint.up.sql": "SELECT 1;\nSAVEPOINT s;",
        ])
        try await TestDatabase.withFresh { database in
            let process = try sqlstore(["migrate", "up", "--dir", folder.url.path], database: database)
            #expect(try await process.wait() == 1)
            #expect(process.output.contains("002_middle.up.sql:2: COMMIT"), "\(process.output)")
            #expect(process.output.contains("003_savepoint.up.sql:2: SAVEPOINT s"))
            let ranAnything = try await database.tableExists("fine")
            #expect(!ranAnything)
        }
    }

    @Test("a goose folder is detected, applied, reported and reverted as it is")
    func gooseFolder() async throws {
        let goose = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("MigrationFormats/goose").path
        try await TestDatabase.withFresh { database in
            let up = try sqlstore(["migrate", "up", "--dir", goose], database: database)
            #expect(try await up.wait() == 0, "\(up.output)")
            #expect(up.output.contains("applied  003_index_email"), "\(up.output)")
            let status = try sqlstore(["migrate", "status", "--dir", goose, "--format", "goose"], database: database)
            #expect(try await status.wait() == 0)
            #expect(status.output.contains("no transaction"), "\(status.output)")
            let down = try sqlstore(["migrate", "down", "--to", "0", "--dir", goose], database: database)
            #expect(try await down.wait() == 0, "\(down.output)")
        }
    }

    @Test("adopt --from golang-migrate records its history, after which up applies the rest")
    func adoptGolangMigrate() async throws {
        let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("MigrationFormats/golang-migrate").path
        try await TestDatabase.withFresh { database in
            try await database.execute("CREATE TABLE accounts (id BIGINT PRIMARY KEY, email TEXT)")
            try await database.execute("CREATE TABLE schema_migrations (version bigint NOT NULL PRIMARY KEY, dirty boolean NOT NULL)")
            try await database.execute("INSERT INTO schema_migrations VALUES (2, false)")
            let clash = try sqlstore(["migrate", "adopt", "--from", "golang-migrate", "--dir", folder], database: database)
            #expect(try await clash.wait() == 1)
            #expect(clash.output.contains("--tracking-schema"), "\(clash.output)")
            let adopt = try sqlstore(
                ["migrate", "adopt", "--from", "golang-migrate", "--dir", folder, "--tracking-schema", "sqlstore"],
                database: database)
            #expect(try await adopt.wait() == 0, "\(adopt.output)")
            #expect(adopt.output.contains("recorded 002_add-email as applied (from golang-migrate)"), "\(adopt.output)")
            let up = try sqlstore(["migrate", "up", "--dir", folder, "--tracking-schema", "sqlstore"], database: database)
            #expect(try await up.wait() == 0, "\(up.output)")
            #expect(up.output.contains("applied  003_index_email"), "\(up.output)")
        }
    }

    @Test("lint exits 1 and explains each finding with the safe alternative")
    func lintFindings() async throws {
        let folder = try MigrationFolder([
            "001_users.up.sql": "CREATE TABLE users (id INT PRIMARY KEY, email TEXT UNIQUE);",
            "001_users.down.sql": "DROP TABLE IF EXISTS users;",
            "002_index.up.sql": "CREATE INDEX users_email ON users (email);",
            "002_index.down.sql": "DROP INDEX IF EXISTS users_email;",
        ])
        let process = try ChildProcess(try sqlstoreExecutable(), ["migrate", "lint", "--dir", folder.url.path])
        #expect(try await process.wait() == 1)
        #expect(process.output.contains("002_index.up.sql:1:1: error [index-without-concurrently]"), "\(process.output)")
        #expect(process.output.contains("[duplicate-index]"))
        #expect(process.output.contains("instead:"))
    }

    @Test("with no DATABASE_URL, migrate up creates, starts, migrates and stops an embedded cluster")
    func embeddedDefault() async throws {
        let home = FileManager.default.temporaryDirectory.appendingPathComponent("sqlstore-home-\(UUID().uuidString.prefix(8))")
        defer { try? FileManager.default.removeItem(at: home) }
        let environment: [String: String?] = ["DATABASE_URL": nil, "SQLSTORE_HOME": home.path]
        let up = try ChildProcess(try sqlstoreExecutable(), ["migrate", "up"], environment: environment)
        #expect(try await up.wait() == 0, "\(up.output)")
        let newest = try #require(try SchemaMigrations.load().last)
        #expect(up.output.contains("applied  \(newest.id)"))
        #expect(!FileManager.default.fileExists(atPath: home.appendingPathComponent("data/postmaster.pid").path),
            "the cluster is stopped again")

        let status = try ChildProcess(try sqlstoreExecutable(), ["migrate", "status", "--json"], environment: environment)
        #expect(try await status.wait() == 0)
        #expect(status.output.contains("\"up_to_date\" : true"), "\(status.output)")
    }

    @Test("migrate create writes the next version's up and down files; after the highest version there is none, and it says so")
    func createNext() async throws {
        let folder = try MigrationFolder(["007_existing.up.sql": "SELECT 1;", "007_existing.down.sql": "SELECT 1;"])
        let create = try sqlstore(["migrate", "create", "Add order notes!", "--dir", folder.url.path])
        #expect(try await create.wait() == 0, "\(create.output)")
        let made = try FileManager.default.contentsOfDirectory(atPath: folder.url.path).sorted()
        #expect(made.contains("008_add_order_notes.up.sql") && made.contains("008_add_order_notes.down.sql"), "\(made)")

        let full = try MigrationFolder(["9223372036854775807_last.up.sql": "SELECT 1;"])
        let refused = try sqlstore(["migrate", "create", "more", "--dir", full.url.path])
        #expect(try await refused.wait() != 0)
        #expect(refused.output.contains("no version follows it"), "\(refused.output)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: full.url.path) == ["9223372036854775807_last.up.sql"])
    }
}
