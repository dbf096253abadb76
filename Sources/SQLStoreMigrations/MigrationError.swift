import PostgresNIO

/// Why a migration command refused to run or stopped. Each case's description says what
/// failed, where, and what the operator can do about it.
public enum MigrationError: Error, CustomStringConvertible, Sendable {
    /// Another runner held the migration lock for the whole `lockWait`.
    case lockNotAcquired(waited: Duration, holders: [LockHolder])
    /// Applied migrations whose files have changed since.
    case checksumMismatch([ChecksumMismatch])
    /// Pending migrations numbered below the newest applied one.
    case outOfOrder(pending: [String], newestApplied: Int64)
    /// A non-transactional step failed or was interrupted; nothing runs until it is repaired.
    case needsRepair(AppliedMigration)
    /// A statement failed; the migration's transaction (if any) was rolled back.
    case statementFailed(StatementFailure)
    /// A script contains its own top-level transaction control, which would break atomicity.
    /// No longer thrown: plans are refused with ``MigrationPlanError`` (code
    /// ``MigrationPlanError/Code/transactionControl``), which lists every offending statement.
    case transactionControl(file: String, line: Int)
    /// `down` needs a down script, and the migration has none (or its files are gone).
    case irreversible(version: Int64, reason: String)
    /// A `--to` target, `redo` or `repair` named a version that does not exist in this context.
    case unknownVersion(Int64, reason: String)
    /// `baseline` adopts only databases with no recorded migrations.
    case baselineNotEmpty(applied: Int)

    public var description: String {
        switch self {
        case .lockNotAcquired(let waited, let holders):
            var text = "could not take the migration lock within \(waited.humanReadable): another runner holds it"
            for holder in holders {
                text += "\n  held by \(holder)"
            }
            if holders.isEmpty { text += " (it was released as we gave up; run again)" }
            return text
        case .checksumMismatch(let mismatches):
            let lines = mismatches.map {
                "  \($0.migration): applied with checksum \($0.applied.prefix(12))…, the file now has \($0.current.prefix(12))…"
            }
            return "applied migrations have been edited since they ran; refusing to continue:\n"
                + lines.joined(separator: "\n")
                + "\n  restore the original files (and put changes in a new migration)"
        case .outOfOrder(let pending, let newestApplied):
            return "pending migrations are numbered below the newest applied one (\(newestApplied)): "
                + pending.joined(separator: ", ")
                + "; renumber them after \(newestApplied), or pass --allow-out-of-order if applying them late is safe"
        case .needsRepair(let migration):
            let what = migration.state == .running
                ? "was interrupted while running (\(migration.operation) started \(migration.appliedAt))"
                : "failed (\(migration.operation)): \(migration.error ?? "no error recorded")"
            return """
                migration \(migration.id) is non-transactional and \(what); \
                \(migration.statementsDone) of its statements completed.
                  Inspect the database (e.g. an INVALID index left by a failed CREATE INDEX CONCURRENTLY), then either:
                    sqlstore migrate repair \(migration.version) --applied   if its effects are now complete, or
                    sqlstore migrate repair \(migration.version) --pending   if they are undone and it should run again
                """
        case .statementFailed(let failure):
            return failure.description
        case .transactionControl(let file, let line):
            return "\(file):\(line): the script has its own transaction control (BEGIN/COMMIT/ROLLBACK); "
                + "the runner wraps each migration in a transaction together with its tracking row, "
                + "so remove it: the migration's statements already run in one transaction"
        case .irreversible(let version, let reason):
            return "cannot roll back migration \(version): \(reason)"
        case .unknownVersion(let version, let reason):
            return "version \(version): \(reason)"
        case .baselineNotEmpty(let applied):
            return "baseline adopts a database with no recorded migrations, and this one has \(applied)"
        }
    }
}

/// The session holding the migration lock, as `pg_stat_activity` reports it.
public struct LockHolder: Sendable, CustomStringConvertible {
    public let pid: Int32
    public let applicationName: String
    public let user: String
    public let client: String?
    public let since: String
    public let state: String
    public let query: String

    public var description: String {
        "pid \(pid), application '\(applicationName)', user \(user)\(client.map { " from \($0)" } ?? ""), "
            + "connected since \(since), \(state): \(query)"
    }
}

public struct ChecksumMismatch: Sendable {
    public let migration: String
    public let applied: String
    public let current: String
}

/// A statement that PostgreSQL rejected, with everything needed to find and fix it.
public struct StatementFailure: Sendable, CustomStringConvertible {
    public let file: String
    public let line: Int
    public let statementNumber: Int
    public let statementCount: Int
    public let sqlState: String?
    public let message: String
    public let detail: String?
    public let hint: String?
    /// Whether everything the migration did was rolled back (transactional migrations).
    public let rolledBack: Bool
    public let attempts: Int

    public var description: String {
        var text = statementNumber == 0
            ? "\(file): failed after its \(statementCount) statements ran, at COMMIT or while recording it"
            : "\(file):\(line): statement \(statementNumber) of \(statementCount) failed"
        if let sqlState { text += " [SQLSTATE \(sqlState)]" }
        text += ": \(message)"
        if let detail { text += "\n  detail: \(detail)" }
        if let hint { text += "\n  hint: \(hint)" }
        if attempts > 1 { text += "\n  gave up after \(attempts) attempts" }
        text += rolledBack
            ? "\n  the migration was rolled back: nothing of it was applied"
            : "\n  the migration is non-transactional: earlier statements stay applied"
        return text
    }
}

/// The fields of a server error, read from PostgresNIO's error types (never from message text).
struct ServerError: Sendable {
    var sqlState: String?
    var message: String
    var detail: String?
    var hint: String?

    init(sqlState: String?, message: String, detail: String?, hint: String?) {
        self.sqlState = sqlState
        self.message = message
        self.detail = detail
        self.hint = hint
    }

    init(_ error: any Error) {
        var underlying: any Error = error
        if let transaction = error as? PostgresTransactionError {
            underlying = transaction.closureError ?? transaction.commitError ?? transaction.beginError ?? error
        }
        if let psql = underlying as? PSQLError, let info = psql.serverInfo {
            sqlState = info[.sqlState]
            message = info[.message] ?? "\(psql.code)"
            detail = info[.detail]
            hint = info[.hint]
        } else if let psql = underlying as? PSQLError {
            sqlState = nil
            message = "connection error: \(psql.code)"
        } else {
            sqlState = nil
            message = String(describing: underlying)
        }
    }

    /// 55P03: `lock_timeout` expired (or NOWAIT could not lock).
    var isLockNotAvailable: Bool { sqlState == "55P03" }
}
