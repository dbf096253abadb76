import Foundation
public import Logging
public import PostgresNIO

/// Applies and reverts migrations on one PostgreSQL database, safely under concurrency.
///
/// Every command follows the same shape: **connect** a dedicated connection, **lock** (a
/// session-level advisory lock, polled until `lockWait`), **plan** from the tracking table as
/// it is *after* the lock is held, **apply** each step, **record** it.
///
/// Guarantees:
/// - A transactional migration runs in one transaction together with its tracking row and
///   history row: it is applied completely, or not at all (even if the process is killed).
/// - A non-transactional migration (`-- sqlstore:no-transaction`) is marked `running` before
///   its first statement and `applied` after its last; if it fails or its runner dies, the row
///   stays `failed`/`running` and every command refuses to go on until ``repair(version:as:progress:)``.
/// - Concurrent runners apply each migration exactly once: the second waits for the lock, then
///   finds nothing left to do.
/// - Applied migrations whose file changed (SHA-256) and pending migrations numbered below the
///   newest applied one are refused before anything runs.
/// - Every statement runs under `lock_timeout` and `statement_timeout`; a transactional
///   migration that hits the lock timeout (55P03) is retried with backoff.
/// - Each migration behaves as if `psql -1 -f` ran it in a session of its own: after every file
///   the session's settings, role, temporary tables, plans, cursors and `LISTEN`s are reset
///   (not with `DISCARD ALL`, which would release the lock), and tracking rows are written
///   schema-qualified, as the runner's own role, whatever the migration did to its session.
/// - A file wrapped in its own `BEGIN; … COMMIT;` is one transactional migration; any other
///   transaction control refuses the whole plan, every offence listed
///   (``MigrationPlanError``), before anything runs.
/// - A migration's `verify` script runs after it, in its transaction for a transactional one,
///   and fails it when a check raises or returns `false`; ``verify(expected:)`` runs it again.
public struct MigrationRunner: Sendable {
    public struct Configuration: Sendable {
        /// The schema whose objects ``MigrationRunner/snapshot()`` and ``MigrationRunner/verify(expected:)``
        /// compare; `nil` uses the connection's current schema. Also the tracking tables' schema
        /// unless ``trackingSchema`` is set.
        public var schema: String?
        /// The schema of the tracking tables (`sqlstore migrate --tracking-schema`), created if
        /// missing. `nil`: ``schema``, else the schema the tracking table is found in today, else
        /// the connection's current schema, fixed when the connection opens (so existing
        /// databases keep their table). Give the tables a schema of their own when migrations
        /// drop or recreate the application's schema (`DROP SCHEMA public CASCADE`).
        public var trackingSchema: String?
        /// The tracking table; its history is kept in `<trackingTable>_history`.
        public var trackingTable = "schema_migrations"
        /// How long to wait for another runner's lock before giving up.
        public var lockWait: Duration = .seconds(60)
        /// `lock_timeout` for each migration unless its file says otherwise.
        public var lockTimeout: Duration = .seconds(5)
        /// `statement_timeout` for each migration unless its file says otherwise (`.zero`: none).
        public var statementTimeout: Duration = .seconds(600)
        /// How many times a transactional migration that hit `lock_timeout` is retried (at most
        /// 1000); the waits between attempts double from 500 ms to at most 32 s, with ±25 % jitter.
        public var lockRetries = 3
        /// Whether pending migrations numbered below the newest applied one may run.
        public var allowOutOfOrder = false
        /// Recorded with every row, next to the database user (e.g. "deploy@host").
        public var appliedBy: String = Configuration.defaultAppliedBy

        public init() {}

        public static var defaultAppliedBy: String {
            let info = ProcessInfo.processInfo
            let user = getpwuid(geteuid()).map { String(cString: $0.pointee.pw_name) } ?? "uid \(geteuid())"
            return "\(user)@\(info.hostName) pid \(info.processIdentifier)"
        }
    }

    public let migrations: [Migration]
    public let configuration: Configuration
    let connectionConfiguration: PostgresConnection.Configuration
    let logger: Logger
    let tracking: TrackingTable

    public init(
        migrations: [Migration], connection: PostgresConnection.Configuration,
        configuration: Configuration = .init(), logger: Logger = Logger(label: "sqlstore.migrations")
    ) {
        self.migrations = migrations.sorted { $0.version < $1.version }
        self.connectionConfiguration = connection
        self.configuration = configuration
        self.logger = logger
        self.tracking = TrackingTable(
            schema: configuration.trackingSchema ?? configuration.schema, table: configuration.trackingTable)
    }

    // MARK: Commands

    /// Applies pending migrations in order, up to and including `target` if given.
    ///
    /// - Throws: ``MigrationPlanError`` when a script of the plan controls the transaction
    ///   itself (every offence listed, nothing run); ``MigrationError`` for the lock, edited or
    ///   out-of-order migrations, a step needing repair, or a failed statement or verify check;
    ///   ``MigrationAdoptError`` (``MigrationAdoptError/Code/trackingInUse``) when the tracking
    ///   table is another tool's.
    @discardableResult
    public func up(
        to target: Int64? = nil, progress: @Sendable (MigrationProgress) -> Void = { _ in }
    ) async throws -> [MigrationStep] {
        try await withLockedSession(progress: progress) { session in
            let plan = try planUp(to: target, applied: try await session.applied())
            for step in plan { try await session.apply(step, progress: progress) }
            return plan
        }
    }

    /// Reverts the newest applied migrations: `steps` of them, or all above `target`.
    ///
    /// - Throws: ``MigrationPlanError`` when a script of the plan controls the transaction
    ///   itself (every offence listed, nothing run); ``MigrationError`` for the lock, edited or
    ///   out-of-order migrations, a step needing repair, or a failed statement or verify check;
    ///   ``MigrationAdoptError`` (``MigrationAdoptError/Code/trackingInUse``) when the tracking
    ///   table is another tool's.
    @discardableResult
    public func down(
        steps: Int? = nil, to target: Int64? = nil, progress: @Sendable (MigrationProgress) -> Void = { _ in }
    ) async throws -> [MigrationStep] {
        try await withLockedSession(progress: progress) { session in
            let plan = try planDown(steps: steps, to: target, applied: try await session.applied())
            for step in plan { try await session.apply(step, progress: progress) }
            return plan
        }
    }

    /// Reverts the newest applied migration and applies it again.
    ///
    /// - Throws: ``MigrationPlanError`` when a script of the plan controls the transaction
    ///   itself (every offence listed, nothing run); ``MigrationError`` for the lock, edited or
    ///   out-of-order migrations, a step needing repair, or a failed statement or verify check;
    ///   ``MigrationAdoptError`` (``MigrationAdoptError/Code/trackingInUse``) when the tracking
    ///   table is another tool's.
    @discardableResult
    public func redo(progress: @Sendable (MigrationProgress) -> Void = { _ in }) async throws -> [MigrationStep] {
        try await withLockedSession(progress: progress) { session in
            let plan = try planRedo(applied: try await session.applied())
            for step in plan { try await session.apply(step, progress: progress) }
            return plan
        }
    }

    /// What `up`, `down` or `redo` would do now, computed without the lock and without writing
    /// anything (not even the tracking table).
    ///
    /// Guarantees: read-only; the plan is refused for the same reasons the command itself would
    /// refuse it. Another runner may change the database before the command runs, so the plan
    /// is a preview, not a promise.
    ///
    /// - Throws: ``MigrationError`` (edited, out-of-order or failed migrations, an unknown or
    ///   unapplied target, ``MigrationError/Code/nothingToRedo``, a missing down script);
    ///   ``MigrationPlanError`` for transaction control in a script of the plan; PostgresNIO's
    ///   `PSQLError` when PostgreSQL cannot be reached; ``MigrationAdoptError`` when the tracking
    ///   table is another tool's.
    public func plan(_ command: PlanCommand) async throws -> [MigrationStep] {
        try await withConnection { connection, tracking in
            let applied = try await tracking.applied(on: connection, logger: logger)
            switch command {
            case .up(let target): return try planUp(to: target, applied: applied)
            case .down(let steps, let target): return try planDown(steps: steps, to: target, applied: applied)
            case .redo: return try planRedo(applied: applied)
            }
        }
    }

    public enum PlanCommand: Sendable {
        case up(to: Int64?)
        case down(steps: Int?, to: Int64?)
        case redo
    }

    /// Creates the tracking tables if they are missing, under the migration lock, so that an
    /// administrator can create them as the schema's owner and grant on them before the first
    /// migration runs.
    ///
    /// Guarantees: idempotent; existing tables and their rows are left as they are.
    ///
    /// - Throws: ``MigrationError`` (``MigrationError/Code/lockNotAcquired``) when another runner
    ///   holds the lock for ``Configuration/lockWait``; ``MigrationAdoptError`` when a table of that
    ///   name is another tool's; `PSQLError` when PostgreSQL cannot be reached or the role may not
    ///   create the tables.
    public func createTrackingTables() async throws {
        try await withLockedSession(progress: { _ in }) { _ in }
    }

    /// The tracking tables, schema-qualified when a schema is configured, quoted for SQL.
    public var trackingTables: [String] { [tracking.qualified, tracking.qualifiedHistory] }

    /// Every known migration with its state, and applied ones whose files are missing, read on a
    /// connection of the runner's own (``status(on:)-(PostgresConnection)`` reads on one you hold).
    ///
    /// Guarantees: read-only and lock-free: it answers while another runner migrates, and shows
    /// the state as of its query.
    ///
    /// - Throws: ``MigrationAdoptError`` when the tracking table is another tool's; `PSQLError`
    ///   when PostgreSQL cannot be reached.
    public func status() async throws -> MigrationStatus {
        try await withConnection { connection, tracking in
            MigrationStatus(migrations: migrations, applied: try await tracking.applied(on: connection, logger: logger))
        }
    }

    /// Records migrations up to `version` as applied without running them, to adopt a database
    /// whose schema was created some other way. Refuses if anything is recorded already.
    ///
    /// Guarantees: under the migration lock, in one transaction: every row or none. With
    /// `dryRun`, nothing is written and no lock is taken.
    ///
    /// - Throws: ``MigrationError`` with ``MigrationError/Code/unknownVersion`` when no migration
    ///   has `version`, ``MigrationError/Code/baselineNotEmpty`` when migrations are recorded
    ///   already, ``MigrationError/Code/lockNotAcquired``; ``MigrationAdoptError`` when the
    ///   tracking table is another tool's; `PSQLError` when PostgreSQL cannot be reached.
    @discardableResult
    public func baseline(
        version: Int64, dryRun: Bool = false, progress: @Sendable (MigrationProgress) -> Void = { _ in }
    ) async throws -> [Migration] {
        guard migrations.contains(where: { $0.version == version }) else {
            throw MigrationError(code: .unknownVersion, version: version)
        }
        let adopted = migrations.filter { $0.version <= version }
        if dryRun {
            let applied = try await withConnection { try await $1.applied(on: $0, logger: logger) }
            guard applied.isEmpty else { throw MigrationError.baselineNotEmpty(applied: applied.count) }
            return adopted
        }
        return try await withLockedSession(progress: progress) { session in
            let applied = try await session.applied()
            guard applied.isEmpty else { throw MigrationError.baselineNotEmpty(applied: applied.count) }
            try await session.recordWithoutRunning(adopted, operation: "baseline")
            return adopted
        }
    }

    /// How an operator resolves a failed or interrupted non-transactional migration.
    public enum Resolution: String, Sendable {
        /// Its effects are complete (finished by hand): record it as applied.
        case applied
        /// Its effects are undone: forget it, so that `up` runs it again.
        case pending
    }

    /// Resolves a non-transactional migration left `failed` or `running`: `.applied` records it
    /// as applied (its effects were completed by hand), `.pending` forgets it (they were undone),
    /// so that `up` runs it again. Returns the row as it was.
    ///
    /// Guarantees: under the migration lock; the tracking row and a history row saying who
    /// repaired it change in one transaction. Nothing of the schema is touched: inspecting it (an
    /// `INVALID` index left by a failed `CREATE INDEX CONCURRENTLY`) is the operator's part.
    ///
    /// - Throws: ``MigrationError`` with ``MigrationError/Code/notRecorded`` (the database has no
    ///   row for `version`), ``MigrationError/Code/nothingToRepair`` (it is applied),
    ///   ``MigrationError/Code/filesMissing`` (its files are not among the runner's migrations) or
    ///   ``MigrationError/Code/lockNotAcquired``; ``MigrationAdoptError`` when the tracking table
    ///   is another tool's; `PSQLError` when PostgreSQL cannot be reached.
    public func repair(
        version: Int64, as resolution: Resolution, progress: @Sendable (MigrationProgress) -> Void = { _ in }
    ) async throws -> AppliedMigration {
        try await withLockedSession(progress: progress) { session in
            guard let row = try await session.applied().first(where: { $0.version == version }) else {
                throw MigrationError(code: .notRecorded, version: version)
            }
            guard row.state != .applied else {
                throw MigrationError(code: .nothingToRepair, version: version)
            }
            guard let migration = migrations.first(where: { $0.version == version }) else {
                throw MigrationError(code: .filesMissing, version: version)
            }
            try await session.inTransaction {
                switch resolution {
                case .applied:
                    try await session.tracking.recordApplied(
                        migration, operation: "up", durationMilliseconds: 0, appliedBy: session.appliedBy,
                        on: session.connection, logger: logger)
                case .pending:
                    try await session.tracking.remove(version: version, on: session.connection, logger: logger)
                }
                try await session.tracking.recordAttempt(
                    .init(
                        version: version, name: migration.name, operation: "repair-\(resolution.rawValue)",
                        checksum: migration.up.checksum, startedAt: .now, durationMilliseconds: 0, success: true,
                        appliedBy: session.appliedBy), on: session.connection, logger: logger)
            }
            return row
        }
    }

    /// Checks that the database matches the migrations: nothing failed, nothing edited,
    /// nothing pending, every applied migration's verify script passes (each in a transaction
    /// that is rolled back, so a check never changes anything), and (given the expected
    /// snapshot) the live schema is the expected one.
    ///
    /// Guarantees: changes nothing (each verify script's transaction is rolled back) and takes no
    /// lock; what it finds is in the report, not thrown.
    ///
    /// - Throws: ``MigrationAdoptError`` when the tracking table is another tool's; `PSQLError`
    ///   when PostgreSQL cannot be reached or the catalog cannot be read.
    public func verify(expected: SchemaSnapshot?) async throws -> VerificationReport {
        try await withConnection { connection, tracking in
            let applied = try await tracking.applied(on: connection, logger: logger)
            let status = MigrationStatus(migrations: migrations, applied: applied)
            var problems: [String] = []
            for entry in status.entries {
                switch entry.state {
                case .applied: break
                case .pending: problems.append("\(entry.id) is pending")
                case .checksumMismatch: problems.append("\(entry.id) was edited after it was applied (checksum differs)")
                case .missingFile: problems.append("\(entry.id) is applied but its file is missing")
                case .failed, .running: problems.append("\(entry.id) is \(entry.state.rawValue) and needs repair")
                }
            }
            for migration in migrations {
                guard let verify = migration.verify,
                    status.entries.contains(where: { $0.version == migration.version && $0.state == .applied })
                else { continue }
                if let failure = try await runVerifyScript(verify, on: connection) { problems.append(failure) }
            }
            var differences: [String] = []
            if let expected {
                let live = try await SchemaSnapshot.capture(
                    on: connection, schema: configuration.schema, excluding: [tracking.table, tracking.historyTable],
                    logger: logger)
                differences = expected.differences(from: live)
            }
            return VerificationReport(problems: problems, schemaDifferences: differences, checkedSchema: expected != nil)
        }
    }

    /// Runs a verify script in a transaction it rolls back; returns what failed, or nil.
    private func runVerifyScript(_ script: MigrationScript, on connection: PostgresConnection) async throws -> String? {
        var current: SQLStatement?
        do {
            try await connection.inTransaction(end: .rollback, logger: logger) {
                try await setVerifyPhase(.verify, local: true, on: connection, logger: logger)
                for statement in script.body {
                    current = statement
                    try await check(statement, connection: connection, logger: logger)
                }
            }
            return nil
        } catch {
            let failure = (error as? VerificationFailure)?.serverError ?? ServerError(error)
            return "\(script.fileName):\(current?.line ?? 1): \(failure.sqlState.map { "[\($0)] " } ?? "")\(failure.message)"
        }
    }

    /// The live schema, in the form kept in `schema.snapshot`, without the tracking tables.
    ///
    /// Guarantees: read-only, lock-free.
    ///
    /// - Throws: `PSQLError` when PostgreSQL cannot be reached or the catalog cannot be read.
    public func snapshot() async throws -> SchemaSnapshot {
        try await withConnection { connection, tracking in
            try await SchemaSnapshot.capture(
                on: connection, schema: configuration.schema, excluding: [tracking.table, tracking.historyTable],
                logger: logger)
        }
    }

    // MARK: Planning

    /// The public initializer takes any list; every plan starts here, before a dictionary by
    /// version would trap on a duplicate.
    func checkVersionsAreUnique() throws {
        var seen: Set<Int64> = []
        if let duplicate = migrations.first(where: { !seen.insert($0.version).inserted }) {
            throw MigrationError(code: .duplicateVersion, version: duplicate.version)
        }
    }

    func checkHistory(_ applied: [AppliedMigration]) throws {
        try checkVersionsAreUnique()
        if let broken = applied.first(where: { $0.state != .applied }) {
            throw MigrationError.needsRepair(broken)
        }
        let byVersion = Dictionary(uniqueKeysWithValues: migrations.map { ($0.version, $0) })
        let mismatches = applied.compactMap { row -> ChecksumMismatch? in
            guard let migration = byVersion[row.version], !migration.up.matches(recorded: row.checksum) else { return nil }
            return ChecksumMismatch(migration: migration.id, applied: row.checksum, current: migration.up.checksum)
        }
        if !mismatches.isEmpty { throw MigrationError.checksumMismatch(mismatches) }
    }

    func planUp(to target: Int64?, applied: [AppliedMigration]) throws -> [MigrationStep] {
        try checkHistory(applied)
        if let target, !migrations.contains(where: { $0.version == target }) {
            throw MigrationError(code: .unknownVersion, version: target)
        }
        let appliedVersions = Set(applied.map(\.version))
        let pending = migrations.filter { !appliedVersions.contains($0.version) && $0.version <= (target ?? .max) }
        if let newest = applied.map(\.version).max(), !configuration.allowOutOfOrder {
            let late = pending.filter { $0.version < newest }
            if !late.isEmpty { throw MigrationError.outOfOrder(pending: late.map(\.id), newestApplied: newest) }
        }
        let scripts = pending.flatMap { [$0.up] + ($0.verify.map { [$0] } ?? []) }
        if let refusal = MigrationPlanError.transactionControl(in: scripts) { throw refusal }
        return pending.map { MigrationStep(migration: $0, direction: .up) }
    }

    func planDown(steps: Int?, to target: Int64?, applied: [AppliedMigration]) throws -> [MigrationStep] {
        try checkHistory(applied)
        let newestFirst = applied.sorted { $0.version > $1.version }
        let chosen: [AppliedMigration]
        if let target {
            if target != 0, !applied.contains(where: { $0.version == target }) {
                throw MigrationError(code: .notApplied, version: target)
            }
            chosen = newestFirst.filter { $0.version > target }
        } else {
            chosen = Array(newestFirst.prefix(max(0, steps ?? 1)))
        }
        let byVersion = Dictionary(uniqueKeysWithValues: migrations.map { ($0.version, $0) })
        let steps = try chosen.map { row in
            guard let migration = byVersion[row.version] else {
                throw MigrationError.irreversible(version: row.version, reason: "its files are not in the migrations directory")
            }
            guard migration.down != nil else {
                throw MigrationError.irreversible(version: row.version, reason: "\(migration.id) has no .down.sql file")
            }
            return MigrationStep(migration: migration, direction: .down)
        }
        if let refusal = MigrationPlanError.transactionControl(in: steps.compactMap(\.script)) { throw refusal }
        return steps
    }

    func planRedo(applied: [AppliedMigration]) throws -> [MigrationStep] {
        let down = try planDown(steps: 1, to: nil, applied: applied)
        guard let last = down.first else {
            throw MigrationError(code: .nothingToRedo)
        }
        // As `up` checks it: the up script and its verify script run again.
        let scripts = [last.migration.up] + (last.migration.verify.map { [$0] } ?? [])
        if let refusal = MigrationPlanError.transactionControl(in: scripts) { throw refusal }
        return down + [MigrationStep(migration: last.migration, direction: .up)]
    }

    // MARK: Sessions

    /// Opens the runner's dedicated connection, configures it (``configureSession(_:)``), fixes
    /// the tracking tables' schema while the session is as the runner opened it, runs `body`.
    func withConnection<Result: Sendable>(
        _ body: (PostgresConnection, TrackingTable) async throws -> Result
    ) async throws -> Result {
        let connection = try await PostgresConnection.connect(
            configuration: connectionConfiguration, id: 1, logger: logger)
        do {
            try await configureSession(connection)
            let tracking = try await self.tracking.resolved(on: connection, logger: logger)
            let result = try await body(connection, tracking)
            try? await connection.close()
            return result
        } catch {
            try? await connection.close()
            throw error
        }
    }

    /// The runner's own session settings, applied when the connection opens and again after
    /// every reset (`RESET ALL` would undo them).
    func configureSession(_ connection: PostgresConnection) async throws {
        // PostgreSQL 14+: if this process dies mid-statement, the server notices within a
        // second, aborts the statement and frees the migration lock (instead of running on).
        try await connection.query(
            """
            SELECT pg_catalog.set_config('client_connection_check_interval', '1s', false)
            WHERE pg_catalog.current_setting('server_version_num')::int >= 140000
            """, logger: logger)
    }

    /// Connects, takes the migration lock, ensures the tracking tables, runs `body`, unlocks.
    /// Closing the connection releases the lock too, so a crashed runner never leaves it held.
    func withLockedSession<Result: Sendable>(
        progress: @Sendable (MigrationProgress) -> Void, _ body: (Session) async throws -> Result
    ) async throws -> Result {
        try await withConnection { connection, tracking in
            let lock = MigrationLock(trackingTable: self.tracking)
            try await lock.acquire(on: connection, wait: configuration.lockWait, logger: logger, progress: progress)
            try await tracking.create(on: connection, logger: logger)
            let session = Session(
                runner: self, connection: connection, tracking: tracking,
                identity: try await SessionIdentity.read(on: connection, logger: logger))
            let result = try await body(session)
            try await lock.release(on: connection, logger: logger)
            return result
        }
    }
}

/// What ``MigrationRunner/verify(expected:)`` found. Clean means nothing to report.
public struct VerificationReport: Sendable {
    public let problems: [String]
    /// Lines of the expected snapshot missing from the live schema (`- …`) and the reverse (`+ …`).
    public let schemaDifferences: [String]
    public let checkedSchema: Bool
    public var isClean: Bool { problems.isEmpty && schemaDifferences.isEmpty }
}
