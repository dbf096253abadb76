import Foundation
import PostgresNIO
import SQLStoreMigrations
import Testing
import TestSupport

#if canImport(Glibc)
import Glibc
#endif

/// `kill -9` of `sqlstore migrate up` in the middle of a `CREATE INDEX CONCURRENTLY`: the one
/// non-transactional fault that leaves a half-built object (an INVALID index) in the schema.
/// (kill -9 during a transactional migration, and during a non-transactional file's
/// `pg_sleep`, are covered in MigrateCommandTests.)
@Suite("kill -9 of migrate (processes)")
struct KillTests {
    func sqlstore(_ arguments: [String], _ database: TestDatabase) throws -> ChildProcess {
        try ChildProcess(try sqlstoreExecutable(), arguments + ["--database-url", database.url.urlString])
    }

    func rows(_ database: TestDatabase, _ query: PostgresQuery) async throws -> [String] {
        try await database.withConnection { connection in
            try await connection.query(query, logger: TestDatabase.logger).decode(String.self).reduce(into: []) { $0.append($1) }
        }
    }

    @Test("kill -9 during CREATE INDEX CONCURRENTLY: the INVALID index is never passed off as applied; the next run refuses and says what to resolve, and after repair the rerun rebuilds a valid index")
    func killDuringConcurrentIndexBuild() async throws {
        let folder = try MigrationFolder([
            "001_t.up.sql": "CREATE TABLE t (id INT PRIMARY KEY, v INT);\nINSERT INTO t SELECT g, g FROM generate_series(1, 1000) g;",
            "002_t_v.up.sql": """
                -- sqlstore:no-transaction
                DROP INDEX CONCURRENTLY IF EXISTS idx_t_v;
                CREATE INDEX CONCURRENTLY idx_t_v ON t (v);
                """,
        ])
        try await TestDatabase.withFresh { database in
            let first = try sqlstore(["migrate", "up", "--to", "1", "--dir", folder.url.path], database)
            #expect(try await first.wait() == 0, "\(first.output)")

            // A writer's open transaction: CREATE INDEX CONCURRENTLY commits the index as INVALID,
            // then waits for this transaction to end before it builds.
            try await database.withConnection { writer in
                try await writer.query("BEGIN", logger: TestDatabase.logger)
                try await writer.query("INSERT INTO t VALUES (5000, 5000)", logger: TestDatabase.logger)

                let victim = try sqlstore(["migrate", "up", "--dir", folder.url.path], database)
                let building = try await waitForSession(
                    database, "query LIKE 'CREATE INDEX CONCURRENTLY%' AND wait_event_type = 'Lock'")
                victim.signal(SIGKILL)
                #expect(try await victim.wait() == 128 + SIGKILL)
                let killedAt = ContinuousClock.now
                // The runner asked the server to check its client every second: the orphaned
                // build is cancelled, not left waiting (or finishing unrecorded).
                let gone = try await waitUntil(within: .seconds(15)) {
                    try await database.scalar("SELECT count(*) FROM pg_stat_activity WHERE pid = \(building)", as: Int.self) == 0
                }
                #expect(gone, "the build's session outlived its client")
                let cancelledAfter = ContinuousClock.now - killedAt

                // What was left: an INVALID index, and a row that says the step is running.
                let indexes = try await rows(
                    database,
                    """
                    SELECT c.relname || CASE WHEN i.indisvalid THEN ' valid' ELSE ' INVALID' END
                    FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid WHERE c.relname = 'idx_t_v'
                    """)
                #expect(indexes == ["idx_t_v INVALID"])
                let tracking = try await rows(
                    database, "SELECT state || ' ' || statements_done FROM schema_migrations WHERE version = 2")
                #expect(tracking == ["running 1"])

                // The next run refuses, and says exactly what happened and the two ways out.
                let refused = try sqlstore(["migrate", "up", "--dir", folder.url.path, "--lock-wait", "20s"], database)
                #expect(try await refused.wait() == 1)
                let message = refused.output
                for expected in [
                    "migration 002_t_v is non-transactional and was interrupted while running",
                    "1 of its statements completed",
                    "INVALID index left by a failed CREATE INDEX CONCURRENTLY",
                    "sqlstore migrate repair 2 --applied",
                    "sqlstore migrate repair 2 --pending",
                ] {
                    #expect(message.contains(expected), "missing '\(expected)' in:\n\(message)")
                }
                // status and verify agree: not applied, not silently current.
                let status = try sqlstore(["migrate", "status", "--json", "--dir", folder.url.path], database)
                #expect(try await status.wait() == 0)
                #expect(status.output.contains("\"running\""), "\(status.output)")
                #expect(!status.output.contains("\"up_to_date\" : true"))
                let verify = try sqlstore(["migrate", "verify", "--dir", folder.url.path], database)
                #expect(try await verify.wait() == 1, "\(verify.output)")

                try await writer.query("COMMIT", logger: TestDatabase.logger)
                print(
                    "[faults] kill-9-create-index-concurrently: faults injected 1 (SIGKILL while the build waited), "
                        + "orphaned build cancelled after \(cancelledAfter), left: \(indexes) and row \(tracking); "
                        + "refusal:\n\(message)\nverify:\n\(verify.output)")
            }

            // Resolved as the message says: the step is undone enough to rerun (its first
            // statement drops the INVALID index), so mark it pending and run up again.
            let repair = try sqlstore(["migrate", "repair", "2", "--pending", "--dir", folder.url.path], database)
            #expect(try await repair.wait() == 0, "\(repair.output)")
            let rerun = try sqlstore(["migrate", "up", "--dir", folder.url.path], database)
            #expect(try await rerun.wait() == 0, "\(rerun.output)")
            let indexes = try await rows(
                database,
                """
                SELECT c.relname || CASE WHEN i.indisvalid THEN ' valid' ELSE ' INVALID' END
                FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_class t ON t.oid = i.indrelid
                WHERE t.relname = 't' ORDER BY 1
                """)
            #expect(indexes == ["idx_t_v valid", "t_pkey valid"])
            let tracking = try await rows(database, "SELECT version || ' ' || state FROM schema_migrations ORDER BY version")
            #expect(tracking == ["1 applied", "2 applied"])
            let history = try await rows(
                database, "SELECT operation || ' ' || success FROM schema_migrations_history WHERE version = 2 ORDER BY id")
            #expect(history == ["repair-pending true", "up true"], "the kill left no success behind")
            print("[faults] kill-9-create-index-concurrently: after repair --pending and up: \(indexes), \(tracking), history \(history)")
        }
    }

    /// The pid of the one session (other than ours) that matches `condition`, once it does.
    func waitForSession(_ database: TestDatabase, _ condition: String) async throws -> Int32 {
        for _ in 0..<500 {
            if let pid = try await database.scalar(
                """
                SELECT pid FROM pg_stat_activity
                WHERE datname = current_database() AND pid <> pg_backend_pid() AND \(unescaped: condition)
                """, as: Int32.self)
            {
                return pid
            }
            try await Task.sleep(for: .milliseconds(20))
        }
        let sessions = try await database.scalar(
            "SELECT string_agg(coalesce(wait_event_type, '-') || ': ' || query, ' | ') FROM pg_stat_activity WHERE datname = current_database()",
            as: String.self)
        throw TestSetupError("no session reached \(condition); sessions: \(sessions ?? "none")")
    }

    func waitUntil(within limit: Duration, _ condition: () async throws -> Bool) async throws -> Bool {
        let deadline = ContinuousClock.now + limit
        while ContinuousClock.now < deadline {
            if try await condition() { return true }
            try await Task.sleep(for: .milliseconds(50))
        }
        return false
    }
}
