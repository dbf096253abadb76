import Logging
import PostgresNIO

/// Who the runner is in its session, read when the session opens, before any migration runs.
struct SessionIdentity: Sendable {
    /// `current_user` as the runner connected: the role its tracking rows are written as.
    let role: String

    static func read(on connection: PostgresConnection, logger: Logger) async throws -> SessionIdentity {
        let rows = try await connection.query("SELECT current_user::text", logger: logger)
        for try await role in rows.decode(String.self) { return SessionIdentity(role: role) }
        // current_user always has a value; no row at all can only be a broken connection.
        throw NoCurrentUser()
    }
}

private struct NoCurrentUser: Error, CustomStringConvertible {
    var description: String { "PostgreSQL answered no row to SELECT current_user" }
}

/// Each migration runs as if `psql -1 -f` ran it in a session of its own.
///
/// All migrations of a run share the runner's connection (it holds the session-level advisory
/// lock), so after every file the runner puts the session back as it opened it. `DISCARD ALL`
/// would do that in one statement, but it also runs `pg_advisory_unlock_all()` and would drop
/// the runner's own lock; so the reset is the rest of `DISCARD ALL`, statement by statement.
extension MigrationRunner.Session {
    /// Outside a transaction, after a migration (committed or rolled back): settings (`RESET
    /// ALL`: `search_path`, `session_replication_role`, timeouts, …), role and session
    /// authorization, temporary tables, sequences' cached values, plans, prepared statements,
    /// cursors and `LISTEN`s, then the runner's own settings again.
    static let resetStatements = [
        "RESET ALL", "SET SESSION AUTHORIZATION DEFAULT", "RESET ROLE", "DISCARD TEMP", "DISCARD SEQUENCES",
        "DISCARD PLANS", "DEALLOCATE ALL", "CLOSE ALL", "UNLISTEN *",
    ]

    /// Inside a migration's transaction, after its statements and before its verify script:
    /// settings and role as the session opened (temporary tables are dropped after COMMIT).
    static let resetInTransactionStatements = ["RESET ALL", "SET SESSION AUTHORIZATION DEFAULT", "RESET ROLE"]

    func resetSession() async throws {
        for statement in Self.resetStatements {
            try await connection.query(PostgresQuery(unsafeSQL: statement), logger: logger)
        }
        try await runner.configureSession(connection)
    }

    func resetInTransaction() async throws {
        for statement in Self.resetInTransactionStatements {
            try await connection.query(PostgresQuery(unsafeSQL: statement), logger: logger)
        }
    }

    /// Inside an open transaction: become the runner's own role with a `search_path` of only
    /// `pg_catalog` until the transaction ends, make sure the tracking tables exist (restoring
    /// `rowsBefore` if the migration dropped them), and run `body`, which writes tracking rows.
    func asRunner(restoring rowsBefore: [AppliedMigration], _ body: () async throws -> Void) async throws {
        try await connection.query("SET LOCAL SESSION AUTHORIZATION DEFAULT", logger: logger)
        try await connection.query(
            PostgresQuery(unsafeSQL: "SET LOCAL ROLE \(TrackingTable.quote(identity.role))"), logger: logger)
        try await connection.query("SET LOCAL search_path = pg_catalog, pg_temp", logger: logger)
        if try await !tracking.exists(on: connection, logger: logger) {
            logger.warning(
                "a migration dropped the tracking tables; recreating them and restoring their rows",
                metadata: ["table": "\(tracking.qualified)", "rows": "\(rowsBefore.count)"])
            try await tracking.create(on: connection, logger: logger)
            try await tracking.restore(rowsBefore, on: connection, logger: logger)
        }
        try await body()
    }

    /// Outside a transaction (between a non-transactional migration's statements): one short
    /// transaction that writes tracking rows as ``asRunner(restoring:_:)`` does.
    func recordAsRunner(restoring rowsBefore: [AppliedMigration], _ body: () async throws -> Void) async throws {
        try await inTransaction { try await asRunner(restoring: rowsBefore, body) }
    }
}
