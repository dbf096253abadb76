import Logging
import PostgresNIO

/// A check that a migration did what it says: `NNN_name.verify.sql`, beside its up script.
///
/// Its statements run after the migration's own, in the same transaction for a transactional
/// migration (after the session's settings and role are reset, as if in a fresh session), and
/// again in ``MigrationRunner/verify(expected:)``. `current_setting('sqlstore.phase', true)` tells
/// the two apart (`apply` or `verify`), for checks that hold only right after the migration
/// (a backfill's completeness) or only once later migrations ran. The check fails when a statement raises (for
/// example `DO $$ … RAISE EXCEPTION … $$`, or a `SELECT 1/0` style guard) or returns a row
/// with a boolean column that is `false` (`SELECT count(*) = 0 FROM users WHERE …`). NULL is
/// not false: write `coalesce(…, false)` where NULL must fail. A failed check fails the
/// migration: a transactional one is rolled back, a non-transactional one is recorded `failed`.
extension MigrationRunner.Session {
    /// Runs every statement of `script`; throws ``VerificationFailure`` for a row with `false`,
    /// or the server's error. `failedStatement` names the statement that failed.
    func runVerification(
        _ script: MigrationScript, inTransaction: Bool, failedStatement: inout SQLStatement?
    ) async throws {
        try await setVerifyPhase(.apply, local: inTransaction, on: connection, logger: logger)
        for statement in script.body {
            failedStatement = statement
            try await check(statement, connection: connection, logger: logger)
        }
        failedStatement = nil
    }
}

/// When a verify script runs, as its statements read it from
/// `current_setting('sqlstore.phase', true)` (NULL under psql).
enum VerifyPhase: String {
    /// Right after the migration, before it is recorded.
    case apply
    /// In ``MigrationRunner/verify(expected:)``, any time later.
    case verify
}

func setVerifyPhase(_ phase: VerifyPhase, local: Bool, on connection: PostgresConnection, logger: Logger) async throws {
    try await connection.query(
        "SELECT pg_catalog.set_config('sqlstore.phase', \(phase.rawValue), \(local))", logger: logger)
}

/// Runs one verify statement and throws if any row has a boolean column that is `false`.
func check(_ statement: SQLStatement, connection: PostgresConnection, logger: Logger) async throws {
    let rows = try await connection.query(PostgresQuery(unsafeSQL: statement.text), logger: logger)
    var falseColumn: String?
    for try await row in rows {
        for cell in row where cell.dataType == .bool && falseColumn == nil {
            if cell.bytes != nil, try cell.decode(Bool.self) == false { falseColumn = cell.columnName }
        }
    }
    if let falseColumn { throw VerificationFailure(column: falseColumn) }
}

/// A verify statement returned a row in which a boolean column is `false`.
struct VerificationFailure: Error, Sendable {
    let column: String

    var serverError: ServerError {
        ServerError(
            sqlState: nil, message: "verification failed: column \"\(column)\" is false", detail: nil,
            hint: "the migration did not leave the database as its verify script expects")
    }
}
