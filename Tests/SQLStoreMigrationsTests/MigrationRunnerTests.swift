import Foundation
import PostgresNIO
import Testing
import TestSupport

@testable import SQLStoreMigrations

/// The runner against a real PostgreSQL: every test gets a database of its own.
@Suite("Migration runner")
struct MigrationRunnerTests {
    static let basic: [String: String] = [
        "001_create_widgets.up.sql": "CREATE TABLE widgets (id BIGINT PRIMARY KEY, name TEXT NOT NULL);",
        "001_create_widgets.down.sql": "DROP TABLE IF EXISTS widgets;",
        "002_add_widget_color.up.sql": "ALTER TABLE widgets ADD COLUMN color TEXT;\nCOMMENT ON COLUMN widgets.color IS 'paint; not ink';",
        "002_add_widget_color.down.sql": "ALTER TABLE widgets DROP COLUMN IF EXISTS color;",
    ]

    @Test("up applies pending migrations in order and records version, checksum, duration and who")
    func upAppliesAndRecords() async throws {
        let folder = try MigrationFolder(Self.basic)
        try await TestDatabase.withFresh { database in
            let runner = try runner(folder, database)
            let steps = try await runner.up()
            #expect(steps.map(\.migration.version) == [1, 2])

            let status = try await runner.status()
            #expect(status.entries.map(\.state) == [.applied, .applied])
            #expect(status.currentVersion == 2)
            let checksum = try await database.scalar("SELECT checksum FROM schema_migrations WHERE version = 1", as: String.self)
            #expect(checksum == (try folder.migrations())[0].up.checksum)
            let by = try await database.scalar("SELECT applied_by FROM schema_migrations WHERE version = 2", as: String.self)
            #expect(by?.hasPrefix("postgres (") == true)
            let history = try await database.scalar(
                "SELECT count(*) FROM schema_migrations_history WHERE success AND operation = 'up'", as: Int.self)
            #expect(history == 2)
            #expect(try await database.scalar("SELECT col_description('widgets'::regclass, 3)", as: String.self) == "paint; not ink")

            let second = try await runner.up()
            #expect(second.isEmpty, "a second up has nothing to do")
        }
    }

    @Test("a failing statement in the middle of a migration leaves nothing behind")
    func failedMigrationIsAtomic() async throws {
        let folder = try MigrationFolder([
            "001_half.up.sql": """
                CREATE TABLE first_half (id INT);
                INSERT INTO first_half VALUES (1);

                INSERT INTO no_such_table VALUES (1);
                CREATE TABLE second_half (id INT);
                """,
            "001_half.down.sql": "DROP TABLE IF EXISTS second_half;\nDROP TABLE IF EXISTS first_half;",
        ])
        try await TestDatabase.withFresh { database in
            let error = await #expect(throws: MigrationError.self) { try await runner(folder, database).up() }
            guard let error, error.code == .statementFailed, let failure = error.statementFailure else {
                Issue.record("expected a statement failure, got \(String(describing: error))")
                return
            }
            #expect(failure.file == "001_half.up.sql")
            #expect(failure.line == 4)
            #expect(failure.statementNumber == 3)
            #expect(failure.sqlState == "42P01")
            #expect(failure.rolledBack)
            #expect(try await database.tableExists("first_half") == false)
            #expect(try await database.scalar("SELECT count(*) FROM schema_migrations", as: Int.self) == 0)
            let attempt = try await database.scalar(
                "SELECT sqlstate || ' line ' || line FROM schema_migrations_history WHERE NOT success", as: String.self)
            #expect(attempt == "42P01 line 4")
        }
    }

    @Test("a file with a COMMIT in the middle is refused before anything runs")
    func transactionControlIsRefused() async throws {
        let folder = try MigrationFolder([
            "001_ok.up.sql": "CREATE TABLE ok (id INT);",
            "002_own_tx.up.sql": "CREATE TABLE inside (id INT);\nCOMMIT;\nCREATE TABLE outside (id INT);",
        ])
        try await TestDatabase.withFresh { database in
            let error = await #expect(throws: MigrationPlanError.self) { try await runner(folder, database).up() }
            #expect(error?.code == .transactionControl)
            #expect(error?.offences.map { "\($0.file):\($0.line)" } == ["002_own_tx.up.sql:2"])
            let ranAnything = try await database.tableExists("ok")
            #expect(!ranAnything, "nothing runs when the plan is refused")
        }
    }

    @Test("redo refuses a verify script with a COMMIT in it, as up does, before anything runs")
    func redoChecksTheVerifyScript() async throws {
        let folder = try MigrationFolder([
            "001_t.up.sql": "CREATE TABLE t (id INT);",
            "001_t.down.sql": "DROP TABLE IF EXISTS t;",
            "001_t.verify.sql": "SELECT to_regclass('t') IS NOT NULL AS t_exists;",
        ])
        try await TestDatabase.withFresh { database in
            try await runner(folder, database).up()
            try folder.write("001_t.verify.sql", "SELECT 1 AS one;\nCOMMIT;")
            let error = await #expect(throws: MigrationPlanError.self) { try await runner(folder, database).redo() }
            #expect(error?.code == .transactionControl)
            #expect(error?.offences.map { "\($0.file):\($0.line)" } == ["001_t.verify.sql:2"])
            #expect(try await database.tableExists("t"), "the down did not run")
        }
    }

    @Test("a failed non-transactional migration is recorded and blocks until repaired")
    func failedNonTransactionalNeedsRepair() async throws {
        let folder = try MigrationFolder([
            "001_table.up.sql": "CREATE TABLE items (id INT, code TEXT);\nINSERT INTO items VALUES (1, 'a'), (2, 'a');",
            "001_table.down.sql": "DROP TABLE IF EXISTS items;",
            "002_index.up.sql": """
                -- sqlstore:no-transaction
                CREATE INDEX CONCURRENTLY IF NOT EXISTS items_id ON items (id);
                CREATE UNIQUE INDEX CONCURRENTLY items_code ON items (code);
                """,
            "002_index.down.sql": "-- sqlstore:no-transaction\nDROP INDEX CONCURRENTLY IF EXISTS items_code;\nDROP INDEX CONCURRENTLY IF EXISTS items_id;",
        ])
        try await TestDatabase.withFresh { database in
            let runner = try runner(folder, database)
            let error = await #expect(throws: MigrationError.self) { try await runner.up() }
            guard let error, error.code == .statementFailed, let failure = error.statementFailure else {
                Issue.record("expected a statement failure, got \(String(describing: error))")
                return
            }
            #expect(failure.sqlState == "23505" && failure.line == 3 && !failure.rolledBack)
            let row = try await runner.status().entries.last
            #expect(row?.state == .failed)
            #expect(try await database.scalar("SELECT statements_done FROM schema_migrations WHERE version = 2", as: Int.self) == 1)

            let blocked = await #expect(throws: MigrationError.self) { try await runner.up() }
            guard let blocked, blocked.code == .needsRepair, let applied = blocked.migration else {
                Issue.record("expected needsRepair, got \(String(describing: blocked))")
                return
            }
            #expect(applied.version == 2)
            #expect(blocked.description.contains("sqlstore migrate repair 2 --pending"))

            // The operator fixes the data and the INVALID index, then lets the migration run again.
            try await database.execute("UPDATE items SET code = 'b' WHERE id = 2")
            try await database.execute("DROP INDEX items_code")
            _ = try await runner.repair(version: 2, as: .pending)
            try await runner.up()
            #expect(try await runner.status().isUpToDate)
            #expect(try await database.scalar("SELECT indisvalid FROM pg_index WHERE indexrelid = 'items_code'::regclass", as: Bool.self) == true)
        }
    }

    @Test("concurrent runners apply each migration exactly once")
    func concurrentRunnersApplyOnce() async throws {
        var files = Self.basic
        files["003_slow.up.sql"] = "CREATE TABLE slow (id INT);\nSELECT pg_sleep(0.2);"
        let folder = try MigrationFolder(files)
        try await TestDatabase.withFresh { database in
            let runner = try runner(folder, database)
            let applied = try await withThrowingTaskGroup(of: Int.self) { group in
                for _ in 0..<8 { group.addTask { try await runner.up().count } }
                return try await group.reduce(0, +)
            }
            #expect(applied == 3, "the runners together applied each of the three migrations once")
            let counts = try await database.scalar(
                """
                SELECT string_agg(version || ':' || n, ',' ORDER BY version)
                FROM (SELECT version, count(*) AS n FROM schema_migrations_history WHERE success GROUP BY version) s
                """, as: String.self)
            #expect(counts == "1:1,2:1,3:1")
        }
    }

    @Test("a runner that cannot take the lock in time names who holds it")
    func lockWaitReportsHolder() async throws {
        let folder = try MigrationFolder(Self.basic)
        try await TestDatabase.withFresh { database in
            let runner = try runner(folder, database) { $0.lockWait = .milliseconds(300) }
            let key = MigrationLock(trackingTable: runner.tracking).key
            try await database.withConnection { holder in
                try await holder.query("SET application_name = 'deploy-7'", logger: TestDatabase.logger)
                try await holder.query("SELECT pg_advisory_lock(\(key))", logger: TestDatabase.logger)
                let pid = try await holder.query("SELECT pg_backend_pid()", logger: TestDatabase.logger)
                    .decode(Int32.self).reduce(into: [Int32]()) { $0.append($1) }.first

                let error = await #expect(throws: MigrationError.self) { try await runner.up() }
                guard let error, error.code == .lockNotAcquired, let waited = error.lockWaited else {
                    Issue.record("expected lockNotAcquired, got \(String(describing: error))")
                    return
                }
                #expect(waited >= .milliseconds(300))
                #expect(error.lockHolders.map(\.pid) == [pid].compactMap { $0 })
                #expect(error.lockHolders.first?.applicationName == "deploy-7")
                #expect(error.description.contains("deploy-7"))
            }
            #expect(try await database.tableExists("widgets") == false)
        }
    }

    @Test("a runner whose role may not see the holder's session still waits its time, and names what it can see")
    func lockHolderOfAnotherRole() async throws {
        let folder = try MigrationFolder(Self.basic)
        let role = "runner_\(UInt32.random(in: 0...UInt32.max))"
        try await TestDatabase.withFresh { database in
            try await database.execute("CREATE ROLE \(unescaped: role) LOGIN")
            do {
                var connection = try database.connectionConfiguration
                connection.username = role
                var configuration = MigrationRunner.Configuration()
                configuration.lockWait = .milliseconds(300)
                let runner = MigrationRunner(
                    migrations: try folder.migrations(), connection: connection, configuration: configuration, logger: TestDatabase.logger)
                let key = MigrationLock(trackingTable: runner.tracking).key
                try await database.withConnection { holder in
                    try await holder.query("SET application_name = 'deploy-8'", logger: TestDatabase.logger)
                    try await holder.query("SELECT pg_advisory_lock(\(key))", logger: TestDatabase.logger)
                    let error = await #expect(throws: MigrationError.self) { try await runner.up() }
                    #expect(error?.code == .lockNotAcquired, "\(String(describing: error))")
                    #expect(error?.lockHolders.first?.applicationName == "deploy-8")
                    #expect(error?.lockHolders.first?.since == "unknown")
                }
            } catch {
                try? await database.execute("DROP ROLE IF EXISTS \(unescaped: role)")
                throw error
            }
            try await database.execute("DROP ROLE IF EXISTS \(unescaped: role)")
        }
    }

    @Test("a hand-built list with two migrations of one version is refused by up, down and adopt, never a trap")
    func duplicateVersionsInTheLibraryAPI() async throws {
        let first = Migration(version: 1, name: "a", up: try MigrationScript(fileName: "1_a.up.sql", sql: "CREATE TABLE a (id INT);"), down: nil)
        let second = Migration(version: 1, name: "b", up: try MigrationScript(fileName: "1_b.up.sql", sql: "CREATE TABLE b (id INT);"), down: nil)
        try await TestDatabase.withFresh { database in
            let runner = MigrationRunner(
                migrations: [first, second], connection: try database.connectionConfiguration, logger: TestDatabase.logger)
            let operations: [@Sendable () async throws -> Void] = [
                { _ = try await runner.up() }, { _ = try await runner.down() }, { _ = try await runner.adopt(from: .goose) },
            ]
            for operation in operations {
                let error = await #expect(throws: MigrationError.self) { try await operation() }
                #expect(error?.code == .duplicateVersion && error?.version == 1, "\(String(describing: error))")
            }
            #expect(try await database.tableExists("a") == false)
            #expect(try await database.tableExists("b") == false)
        }
    }

    @Test("any lockRetries, Int.max included, is a number of retries and never an overflow")
    func lockRetriesAreBounded() async throws {
        let folder = try MigrationFolder(Self.basic)
        try await TestDatabase.withFresh { database in
            try await runner(folder, database) { $0.lockRetries = .max }.up()
            #expect(try await runner(folder, database).status().isUpToDate)
        }
    }

    @Test("a timeout longer than PostgreSQL's largest (24.8 days) is that largest, and the migrations apply")
    func timeoutsBeyondPostgresMaximum() async throws {
        let folder = try MigrationFolder([
            "001_plain.up.sql": "-- sqlstore:lock-timeout=900h\nCREATE TABLE plain (id BIGINT PRIMARY KEY);",
            "002_outside.up.sql": "-- sqlstore:no-transaction\n-- sqlstore:statement-timeout=600h\nCREATE INDEX CONCURRENTLY plain_id ON plain (id);",
        ])
        try await TestDatabase.withFresh { database in
            let runner = try runner(folder, database) { $0.statementTimeout = .seconds(40 * 86_400) }
            try await runner.up()
            #expect(try await database.scalar("SELECT count(*) FROM schema_migrations", as: Int.self) == 2)
            #expect(try await runner.status().entries.allSatisfy { $0.state == .applied })
        }
    }

    @Test("an applied migration whose file changed stops up")
    func checksumDriftIsRefused() async throws {
        let folder = try MigrationFolder(Self.basic)
        try await TestDatabase.withFresh { database in
            try await runner(folder, database).up(to: 1)
            try folder.write("001_create_widgets.up.sql", "CREATE TABLE widgets (id BIGINT PRIMARY KEY);")
            let runner = try runner(folder, database)
            let error = await #expect(throws: MigrationError.self) { try await runner.up() }
            guard let error, error.code == .checksumMismatch else {
                Issue.record("expected checksumMismatch, got \(String(describing: error))")
                return
            }
            #expect(error.checksumMismatches.map(\.migration) == ["001_create_widgets"])
            #expect(try await runner.status().entries.first?.state == .checksumMismatch)
            #expect(try await database.scalar("SELECT count(*) FROM schema_migrations", as: Int.self) == 1)
        }
    }

    @Test("a pending migration numbered below the newest applied one is refused unless allowed")
    func outOfOrderIsRefused() async throws {
        let folder = try MigrationFolder([
            "001_a.up.sql": "CREATE TABLE a (id INT);",
            "003_c.up.sql": "CREATE TABLE c (id INT);",
        ])
        try await TestDatabase.withFresh { database in
            try await runner(folder, database).up()
            try folder.write("002_b.up.sql", "CREATE TABLE b (id INT);")
            let error = await #expect(throws: MigrationError.self) { try await runner(folder, database).up() }
            guard let error, error.code == .outOfOrder, let newest = error.version else {
                Issue.record("expected outOfOrder, got \(String(describing: error))")
                return
            }
            #expect(error.outOfOrderPending == ["002_b"] && newest == 3)
            #expect(try await database.tableExists("b") == false)

            try await runner(folder, database) { $0.allowOutOfOrder = true }.up()
            #expect(try await database.tableExists("b"))
        }
    }

    @Test("a dry run plans without changing anything, not even creating the tracking table")
    func dryRunChangesNothing() async throws {
        let folder = try MigrationFolder(Self.basic)
        try await TestDatabase.withFresh { database in
            let plan = try await runner(folder, database).plan(.up(to: nil))
            #expect(plan.map(\.migration.id) == ["001_create_widgets", "002_add_widget_color"])
            #expect(try await database.tableExists("schema_migrations") == false)
            #expect(try await database.tableExists("widgets") == false)
        }
    }

    @Test("down reverts newest first, redo re-applies, and down to 0 empties the schema")
    func downAndRedo() async throws {
        let folder = try MigrationFolder(Self.basic)
        try await TestDatabase.withFresh { database in
            let runner = try runner(folder, database)
            try await runner.up()
            let reverted = try await runner.down()
            #expect(reverted.map(\.migration.version) == [2])
            #expect(try await database.scalar("SELECT count(*) FROM pg_attribute WHERE attrelid = 'widgets'::regclass AND attname = 'color'", as: Int.self) == 0)

            try await runner.up()
            let redone = try await runner.redo()
            #expect(redone.map(\.direction) == [.down, .up])
            #expect(try await runner.status().currentVersion == 2)

            try await runner.down(to: 0)
            #expect(try await database.tableExists("widgets") == false)
            #expect(try await runner.status().currentVersion == nil)
        }
    }

    @Test("nothing to redo, nothing to repair, no record, an unknown and an unapplied version are distinct identities")
    func refusalsHaveDistinctCodes() async throws {
        let folder = try MigrationFolder(Self.basic)
        try await TestDatabase.withFresh { database in
            let runner = try runner(folder, database)
            func code(_ body: () async throws -> Void) async -> MigrationError.Code? {
                let error = await #expect(throws: MigrationError.self) { try await body() }
                return error?.code
            }
            #expect(await code { _ = try await runner.redo() } == .nothingToRedo)
            #expect(await code { _ = try await runner.repair(version: 1, as: .applied) } == .notRecorded)
            #expect(await code { _ = try await runner.up(to: 7) } == .unknownVersion)
            #expect(await code { _ = try await runner.baseline(version: 7) } == .unknownVersion)
            try await runner.up(to: 1)
            #expect(await code { _ = try await runner.repair(version: 1, as: .applied) } == .nothingToRepair)
            #expect(await code { _ = try await runner.down(to: 2) } == .notApplied)
            #expect(try await runner.status().currentVersion == 1, "no refusal changed anything")
        }
    }

    @Test("down refuses a migration without a down script, before reverting anything")
    func downWithoutScriptIsRefused() async throws {
        let folder = try MigrationFolder([
            "001_a.up.sql": "CREATE TABLE a (id INT);",
            "001_a.down.sql": "DROP TABLE IF EXISTS a;",
            "002_b.up.sql": "CREATE TABLE b (id INT);",
        ])
        try await TestDatabase.withFresh { database in
            let runner = try runner(folder, database)
            try await runner.up()
            let error = await #expect(throws: MigrationError.self) { try await runner.down(to: 0) }
            guard let error, error.code == .irreversible, let version = error.version else {
                Issue.record("expected irreversible, got \(String(describing: error))")
                return
            }
            #expect(version == 2)
            #expect(try await database.tableExists("a"))
            #expect(try await database.tableExists("b"))
        }
    }

    @Test("a migration that hits lock_timeout is retried with backoff and succeeds once the lock is free")
    func lockTimeoutIsRetried() async throws {
        let folder = try MigrationFolder([
            "001_a.up.sql": "CREATE TABLE busy (id INT);",
            "002_b.up.sql": "ALTER TABLE busy ADD COLUMN note TEXT;",
        ])
        try await TestDatabase.withFresh { database in
            try await runner(folder, database).up(to: 1)
            let runner = try runner(folder, database) {
                $0.lockTimeout = .milliseconds(100)
                $0.lockRetries = 5
            }
            try await database.withConnection { blocker in
                try await blocker.query("BEGIN", logger: TestDatabase.logger)
                try await blocker.query("LOCK TABLE busy IN ACCESS SHARE MODE", logger: TestDatabase.logger)
                async let applied = runner.up()
                // Hold the lock until the runner has timed out on it at least once.
                for _ in 0..<500 {
                    let timedOut = try await database.scalar(
                        "SELECT count(*) FROM schema_migrations_history WHERE sqlstate = '55P03'", as: Int.self)
                    if (timedOut ?? 0) > 0 { break }
                    try await Task.sleep(for: .milliseconds(20))
                }
                try await blocker.query("COMMIT", logger: TestDatabase.logger)
                #expect(try await applied.count == 1)
            }
            let failures = try await database.scalar(
                "SELECT count(*) FROM schema_migrations_history WHERE version = 2 AND sqlstate = '55P03'", as: Int.self)
            #expect((failures ?? 0) >= 1)
            #expect(try await database.scalar("SELECT count(*) FROM information_schema.columns WHERE table_name = 'busy' AND column_name = 'note'", as: Int.self) == 1)
        }
    }

    @Test("a file's statement-timeout directive applies to its statements")
    func statementTimeoutDirective() async throws {
        let folder = try MigrationFolder([
            "001_slow.up.sql": "-- sqlstore:statement-timeout=100ms\nSELECT pg_sleep(2);"
        ])
        try await TestDatabase.withFresh { database in
            let error = await #expect(throws: MigrationError.self) { try await runner(folder, database).up() }
            guard let error, error.code == .statementFailed, let failure = error.statementFailure else {
                Issue.record("expected a statement failure, got \(String(describing: error))")
                return
            }
            #expect(failure.sqlState == "57014")
        }
    }

    @Test("baseline records existing migrations without running them, and only on an empty history")
    func baselineAdoptsDatabase() async throws {
        let folder = try MigrationFolder(Self.basic)
        try await TestDatabase.withFresh { database in
            try await database.execute("CREATE TABLE widgets (id BIGINT PRIMARY KEY, name TEXT NOT NULL)")
            let runner = try runner(folder, database)
            let adopted = try await runner.baseline(version: 1)
            #expect(adopted.map(\.version) == [1])
            try await runner.up()
            #expect(try await runner.status().isUpToDate)
            await #expect(throws: MigrationError.self) { try await runner.baseline(version: 1) }
        }
    }
}
