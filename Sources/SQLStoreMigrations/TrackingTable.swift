import Foundation
import Logging
import PostgresNIO

/// The tables where the runner records what it applied (`schema_migrations`) and every attempt,
/// failed ones included (`schema_migrations_history`).
///
/// Every statement here names its tables schema-qualified (once ``resolved(on:logger:)`` has
/// fixed the schema) and its functions through `pg_catalog`, so that whatever a migration does
/// to `search_path` cannot send a tracking row elsewhere or fail to find the table.
struct TrackingTable: Sendable {
    let schema: String?
    let table: String

    /// Quoted, optionally schema-qualified: safe to splice into SQL (identifiers only).
    var qualified: String { qualify(table) }
    var qualifiedHistory: String { qualify(table + "_history") }
    var historyTable: String { table + "_history" }

    private func qualify(_ name: String) -> String {
        let quoted = Self.quote(name)
        return schema.map { "\(Self.quote($0)).\(quoted)" } ?? quoted
    }

    /// This table with its schema fixed: the configured one, else the schema an existing table
    /// of this name is found in through the session's `search_path` (so databases migrated before
    /// the schema was configurable keep their table), else the session's current schema. Runs
    /// on a connection as the runner opened it, before any migration touches its settings.
    func resolved(on connection: PostgresConnection, logger: Logger) async throws -> TrackingTable {
        if schema != nil { return self }
        let rows = try await connection.query(
            """
            SELECT coalesce(
                (SELECT n.nspname::text FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
                 WHERE c.oid = pg_catalog.to_regclass(\(Self.quote(table)))),
                pg_catalog.current_schema()::text, 'public')
            """, logger: logger)
        for try await found in rows.decode(String.self) { return TrackingTable(schema: found, table: table) }
        return TrackingTable(schema: "public", table: table)
    }

    static func quote(_ identifier: String) -> String {
        "\"" + identifier.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }

    func create(on connection: PostgresConnection, logger: Logger) async throws {
        // Under the advisory lock, so two runners never race to create these.
        // Only when missing: even IF NOT EXISTS needs CREATE on the database, which a migrator
        // role that owns just its schema lacks.
        if let schema, try await !schemaExists(schema, on: connection, logger: logger) {
            try await connection.query("CREATE SCHEMA IF NOT EXISTS \(unescaped: Self.quote(schema))", logger: logger)
        }
        try await connection.query(
            """
            CREATE TABLE IF NOT EXISTS \(unescaped: qualified) (
                version BIGINT PRIMARY KEY,
                name TEXT NOT NULL,
                checksum TEXT NOT NULL,
                state TEXT NOT NULL DEFAULT 'applied' CHECK (state IN ('applied', 'running', 'failed')),
                operation TEXT NOT NULL DEFAULT 'up' CHECK (operation IN ('up', 'down', 'baseline')),
                transactional BOOLEAN NOT NULL,
                applied_at TIMESTAMPTZ NOT NULL DEFAULT pg_catalog.now(),
                duration_ms DOUBLE PRECISION,
                applied_by TEXT NOT NULL,
                statements_done INT NOT NULL DEFAULT 0,
                error TEXT
            )
            """, logger: logger)
        try await connection.query(
            """
            CREATE TABLE IF NOT EXISTS \(unescaped: qualifiedHistory) (
                id BIGSERIAL PRIMARY KEY,
                version BIGINT NOT NULL,
                name TEXT NOT NULL,
                operation TEXT NOT NULL,
                checksum TEXT,
                started_at TIMESTAMPTZ NOT NULL,
                finished_at TIMESTAMPTZ NOT NULL DEFAULT pg_catalog.clock_timestamp(),
                duration_ms DOUBLE PRECISION,
                success BOOLEAN NOT NULL,
                sqlstate TEXT,
                message TEXT,
                file TEXT,
                line INT,
                applied_by TEXT NOT NULL
            )
            """, logger: logger)
    }

    private func schemaExists(_ schema: String, on connection: PostgresConnection, logger: Logger) async throws -> Bool {
        let rows = try await connection.query(
            "SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_namespace WHERE nspname = \(schema))", logger: logger)
        for try await exists in rows.decode(Bool.self) { return exists }
        return false
    }

    func exists(on connection: PostgresConnection, logger: Logger) async throws -> Bool {
        let rows = try await connection.query(
            "SELECT pg_catalog.to_regclass(\(qualified)) IS NOT NULL", logger: logger)
        for try await exists in rows.decode(Bool.self) { return exists }
        return false
    }

    /// Refuses a table of this name that another tool made: golang-migrate and dbmate also
    /// call theirs `schema_migrations`.
    func checkShape(on connection: PostgresConnection, logger: Logger) async throws {
        var columns: [String] = []
        for try await column in try await connection.query(
            """
            SELECT attname::text FROM pg_catalog.pg_attribute
            WHERE attrelid = pg_catalog.to_regclass(\(qualified)) AND attnum > 0 AND NOT attisdropped ORDER BY attnum
            """, logger: logger
        ).decode(String.self) {
            columns.append(column)
        }
        guard !columns.isEmpty, !["checksum", "state", "applied_by"].allSatisfy(columns.contains) else { return }
        let owner = columns.contains("dirty") ? "golang-migrate's" : columns == ["version"] ? "dbmate's" : "another tool's"
        throw MigrationAdoptError(
            code: .trackingInUse,
            message: "\(qualified) is not SQLStore's tracking table but \(owner) (columns: \(columns.joined(separator: ", "))); "
                + "give SQLStore's tracking tables a schema of their own: --tracking-schema sqlstore")
    }

    func applied(on connection: PostgresConnection, logger: Logger) async throws -> [AppliedMigration] {
        guard try await exists(on: connection, logger: logger) else { return [] }
        try await checkShape(on: connection, logger: logger)
        let rows = try await connection.query(
            """
            SELECT version, name, checksum, state, operation, transactional,
                   pg_catalog.to_char(applied_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
                   duration_ms, applied_by, statements_done, error
            FROM \(unescaped: qualified) ORDER BY version
            """, logger: logger)
        var result: [AppliedMigration] = []
        for try await (version, name, checksum, state, operation, transactional, appliedAt, duration, by, done, error)
            in rows.decode((Int64, String, String, String, String, Bool, String, Double?, String, Int, String?).self)
        {
            result.append(
                AppliedMigration(
                    version: version, name: name, checksum: checksum, state: .init(rawValue: state) ?? .failed,
                    operation: operation, transactional: transactional, appliedAt: appliedAt,
                    durationMilliseconds: duration, appliedBy: by, statementsDone: done, error: error))
        }
        return result
    }

    func recordApplied(
        _ migration: Migration, operation: String, durationMilliseconds: Double, appliedBy: String,
        on connection: PostgresConnection, logger: Logger
    ) async throws {
        try await connection.query(
            """
            INSERT INTO \(unescaped: qualified)
                (version, name, checksum, state, operation, transactional, applied_at, duration_ms, applied_by, statements_done)
            VALUES (\(migration.version), \(migration.name), \(migration.up.checksum), 'applied', \(operation),
                    \(migration.up.directives.transactional), pg_catalog.now(), \(durationMilliseconds), session_user || ' (' || \(appliedBy) || ')',
                    \(migration.up.statements.count))
            ON CONFLICT (version) DO UPDATE SET
                name = EXCLUDED.name, checksum = EXCLUDED.checksum, state = 'applied', operation = EXCLUDED.operation,
                transactional = EXCLUDED.transactional, applied_at = EXCLUDED.applied_at,
                duration_ms = EXCLUDED.duration_ms, applied_by = EXCLUDED.applied_by,
                statements_done = EXCLUDED.statements_done, error = NULL
            """, logger: logger)
    }

    func recordState(
        _ migration: Migration, state: AppliedMigration.State, operation: String, statementsDone: Int,
        error: String?, appliedBy: String, on connection: PostgresConnection, logger: Logger
    ) async throws {
        try await connection.query(
            """
            INSERT INTO \(unescaped: qualified)
                (version, name, checksum, state, operation, transactional, applied_by, statements_done, error)
            VALUES (\(migration.version), \(migration.name), \(migration.up.checksum), \(state.rawValue), \(operation),
                    \(migration.up.directives.transactional), session_user || ' (' || \(appliedBy) || ')', \(statementsDone), \(error))
            ON CONFLICT (version) DO UPDATE SET
                state = EXCLUDED.state, operation = EXCLUDED.operation, statements_done = EXCLUDED.statements_done,
                error = EXCLUDED.error, applied_by = EXCLUDED.applied_by
            """, logger: logger)
    }

    /// Writes back rows read before a migration that dropped the tracking tables (for example
    /// `DROP SCHEMA public CASCADE` with the tables in `public`), after ``create(on:logger:)``.
    func restore(_ rows: [AppliedMigration], on connection: PostgresConnection, logger: Logger) async throws {
        for row in rows {
            try await connection.query(
                """
                INSERT INTO \(unescaped: qualified)
                    (version, name, checksum, state, operation, transactional, applied_at, duration_ms, applied_by,
                     statements_done, error)
                VALUES (\(row.version), \(row.name), \(row.checksum), \(row.state.rawValue), \(row.operation),
                        \(row.transactional), \(row.appliedAt)::timestamptz, \(row.durationMilliseconds), \(row.appliedBy),
                        \(row.statementsDone), \(row.error))
                ON CONFLICT (version) DO NOTHING
                """, logger: logger)
        }
    }

    func remove(version: Int64, on connection: PostgresConnection, logger: Logger) async throws {
        try await connection.query("DELETE FROM \(unescaped: qualified) WHERE version = \(version)", logger: logger)
    }

    struct Attempt {
        var version: Int64
        var name: String
        var operation: String
        var checksum: String?
        var startedAt: ContinuousClock.Instant
        var durationMilliseconds: Double
        var success: Bool
        var failure: ServerError?
        var file: String?
        var line: Int?
        var appliedBy: String
    }

    func recordAttempt(_ attempt: Attempt, on connection: PostgresConnection, logger: Logger) async throws {
        let seconds = attempt.durationMilliseconds / 1000
        try await connection.query(
            """
            INSERT INTO \(unescaped: qualifiedHistory)
                (version, name, operation, checksum, started_at, duration_ms, success, sqlstate, message, file, line, applied_by)
            VALUES (\(attempt.version), \(attempt.name), \(attempt.operation), \(attempt.checksum),
                    pg_catalog.clock_timestamp() - pg_catalog.make_interval(secs => \(seconds)), \(attempt.durationMilliseconds),
                    \(attempt.success), \(attempt.failure?.sqlState), \(attempt.failure?.message), \(attempt.file),
                    \(attempt.line), session_user || ' (' || \(attempt.appliedBy) || ')')
            """, logger: logger)
    }
}
