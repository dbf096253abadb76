import PostgresNIO

/// Why a migration command refused to run or stopped. Its ``description`` says what failed,
/// where, and what the operator can do about it.
///
/// Identified by ``code``: compare it with the static members of ``Code`` (`error.code ==
/// .needsRepair`), as with PostgresNIO's `PSQLError.Code`. New kinds of failure are new static
/// members, so they break no caller's `switch`. The details of each kind are in the properties
/// its code documents; the others are nil or empty.
public struct MigrationError: Error, CustomStringConvertible, Sendable {
    /// What kind of failure this is.
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        private let name: String
        private init(_ name: String) { self.name = name }

        /// Another runner held the migration lock for the whole `lockWait`. Details:
        /// ``MigrationError/lockWaited``, ``MigrationError/lockHolders``.
        public static let lockNotAcquired = Code("lock not acquired")
        /// Applied migrations whose files have changed since. Details: ``MigrationError/checksumMismatches``.
        public static let checksumMismatch = Code("checksum mismatch")
        /// Pending migrations numbered below the newest applied one. Details:
        /// ``MigrationError/outOfOrderPending``, ``MigrationError/version`` (the newest applied).
        public static let outOfOrder = Code("out of order")
        /// A non-transactional step failed or was interrupted; nothing runs until it is repaired.
        /// Details: ``MigrationError/migration``.
        public static let needsRepair = Code("needs repair")
        /// A statement failed; the migration's transaction (if any) was rolled back. Details:
        /// ``MigrationError/statementFailure``.
        public static let statementFailed = Code("statement failed")
        /// `down` needs a down script, and the migration has none (or its files are gone).
        /// Details: ``MigrationError/version``, ``MigrationError/reason``.
        public static let irreversible = Code("irreversible")
        /// A `--to` target or a `baseline` version that no migration has. Details: ``MigrationError/version``.
        public static let unknownVersion = Code("unknown version")
        /// `down --to` a version that is not applied (0 reverts everything). Details: ``MigrationError/version``.
        public static let notApplied = Code("not applied")
        /// `repair` of a version the database has no record of. Details: ``MigrationError/version``.
        public static let notRecorded = Code("not recorded")
        /// `repair` of a migration that is applied: there is nothing to repair. Details: ``MigrationError/version``.
        public static let nothingToRepair = Code("nothing to repair")
        /// `repair` of a migration whose files are not among the runner's migrations. Details:
        /// ``MigrationError/version``.
        public static let filesMissing = Code("files missing")
        /// `redo` with nothing applied: there is nothing to redo.
        public static let nothingToRedo = Code("nothing to redo")
        /// `baseline` adopts only databases with no recorded migrations. Details:
        /// ``MigrationError/appliedCount``.
        public static let baselineNotEmpty = Code("baseline not empty")
        /// Two of the runner's migrations have one version (``MigrationSource/load(directory:format:)``
        /// never gives such a list; a hand-built one can). Details: ``MigrationError/version``.
        public static let duplicateVersion = Code("duplicate version")

        public var description: String { name }
    }

    public let code: Code
    /// The migration version the failure is about (the newest applied one for ``Code/outOfOrder``).
    public let version: Int64?
    /// Why, in words, for ``Code/irreversible``.
    public let reason: String?
    /// How long the runner waited, for ``Code/lockNotAcquired``.
    public let lockWaited: Duration?
    /// The sessions holding the lock when the runner gave up, for ``Code/lockNotAcquired``.
    public let lockHolders: [LockHolder]
    /// The edited migrations, for ``Code/checksumMismatch``.
    public let checksumMismatches: [ChecksumMismatch]
    /// The late migrations' ids, for ``Code/outOfOrder``.
    public let outOfOrderPending: [String]
    /// The tracking row of the migration to repair, for ``Code/needsRepair``.
    public let migration: AppliedMigration?
    /// The failed statement, for ``Code/statementFailed``.
    public let statementFailure: StatementFailure?
    /// How many migrations are recorded, for ``Code/baselineNotEmpty``.
    public let appliedCount: Int?

    init(
        code: Code, version: Int64? = nil, reason: String? = nil, lockWaited: Duration? = nil,
        lockHolders: [LockHolder] = [], checksumMismatches: [ChecksumMismatch] = [], outOfOrderPending: [String] = [],
        migration: AppliedMigration? = nil, statementFailure: StatementFailure? = nil, appliedCount: Int? = nil
    ) {
        self.code = code
        self.version = version
        self.reason = reason
        self.lockWaited = lockWaited
        self.lockHolders = lockHolders
        self.checksumMismatches = checksumMismatches
        self.outOfOrderPending = outOfOrderPending
        self.migration = migration
        self.statementFailure = statementFailure
        self.appliedCount = appliedCount
    }

    static func lockNotAcquired(waited: Duration, holders: [LockHolder]) -> MigrationError {
        MigrationError(code: .lockNotAcquired, lockWaited: waited, lockHolders: holders)
    }
    static func checksumMismatch(_ mismatches: [ChecksumMismatch]) -> MigrationError {
        MigrationError(code: .checksumMismatch, checksumMismatches: mismatches)
    }
    static func outOfOrder(pending: [String], newestApplied: Int64) -> MigrationError {
        MigrationError(code: .outOfOrder, version: newestApplied, outOfOrderPending: pending)
    }
    static func needsRepair(_ migration: AppliedMigration) -> MigrationError {
        MigrationError(code: .needsRepair, version: migration.version, migration: migration)
    }
    static func statementFailed(_ failure: StatementFailure) -> MigrationError {
        MigrationError(code: .statementFailed, statementFailure: failure)
    }
    static func irreversible(version: Int64, reason: String) -> MigrationError {
        MigrationError(code: .irreversible, version: version, reason: reason)
    }
    static func baselineNotEmpty(applied: Int) -> MigrationError {
        MigrationError(code: .baselineNotEmpty, appliedCount: applied)
    }

    public var description: String {
        let version = self.version.map(String.init) ?? "?"
        switch code {
        case .lockNotAcquired:
            var text = "could not take the migration lock within \((lockWaited ?? .zero).humanReadable): another runner holds it"
            for holder in lockHolders {
                text += "\n  held by \(holder)"
            }
            if lockHolders.isEmpty { text += " (it was released as we gave up; run again)" }
            return text
        case .checksumMismatch:
            let lines = checksumMismatches.map {
                "  \($0.migration): applied with checksum \($0.applied.prefix(12))…, the file now has \($0.current.prefix(12))…"
            }
            return "applied migrations have been edited since they ran; refusing to continue:\n"
                + lines.joined(separator: "\n")
                + "\n  restore the original files (and put changes in a new migration)"
        case .outOfOrder:
            return "pending migrations are numbered below the newest applied one (\(version)): "
                + outOfOrderPending.joined(separator: ", ")
                + "; renumber them after \(version), or pass --allow-out-of-order if applying them late is safe"
        case .needsRepair:
            guard let migration else { return "a non-transactional migration needs repair" }
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
        case .statementFailed:
            return statementFailure?.description ?? "a statement failed"
        case .irreversible:
            return "cannot roll back migration \(version): \(reason ?? "it has no down script")"
        case .unknownVersion:
            return "version \(version): no migration has this version"
        case .notApplied:
            return "version \(version): it is not applied (use 0 to revert everything)"
        case .notRecorded:
            return "version \(version): the database has no record of this migration, so there is nothing to repair"
        case .nothingToRepair:
            return "version \(version): it is applied; there is nothing to repair"
        case .filesMissing:
            return "version \(version): its files are not in the migrations directory"
        case .nothingToRedo:
            return "nothing is applied, so there is nothing to redo"
        case .baselineNotEmpty:
            return "baseline adopts a database with no recorded migrations, and this one has \(appliedCount ?? 0)"
        case .duplicateVersion:
            return "version \(version): two of the runner's migrations have it; which one runs cannot be guessed"
        default:
            return "migration failed (\(code))\(self.version.map { " at version \($0)" } ?? "")"
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
        if let psql = PSQLError(unwrapping: error), let info = psql.serverInfo {
            sqlState = info[.sqlState]
            message = info[.message] ?? "\(psql.code)"
            detail = info[.detail]
            hint = info[.hint]
        } else if let psql = PSQLError(unwrapping: error) {
            sqlState = nil
            message = "connection error: \(psql.code)"
        } else {
            sqlState = nil
            message = String(describing: error)
        }
    }

    /// 55P03: `lock_timeout` expired (or NOWAIT could not lock).
    var isLockNotAvailable: Bool { sqlState == "55P03" }
}
