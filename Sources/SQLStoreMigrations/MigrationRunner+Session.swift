import Logging
import PostgresNIO

extension MigrationRunner {
    /// A connection that holds the migration lock, and the steps that run on it.
    struct Session: Sendable {
        let runner: MigrationRunner
        let connection: PostgresConnection
        /// The tracking tables, schema fixed when the session opened.
        let tracking: TrackingTable
        let identity: SessionIdentity

        var logger: Logger { runner.logger }
        var appliedBy: String { runner.configuration.appliedBy }

        func applied() async throws -> [AppliedMigration] {
            try await tracking.applied(on: connection, logger: logger)
        }

        func inTransaction(_ body: () async throws -> Void) async throws {
            try await connection.inTransaction(logger: logger, body)
        }

        /// Records `migrations` as applied without running them (baseline, adopt), with an attempt
        /// row each naming `operation`, all in one transaction.
        func recordWithoutRunning(_ migrations: [Migration], operation: String) async throws {
            try await inTransaction {
                for migration in migrations {
                    try await tracking.recordApplied(
                        migration, operation: "baseline", durationMilliseconds: 0, appliedBy: appliedBy,
                        on: connection, logger: logger)
                    try await tracking.recordAttempt(
                        .init(
                            version: migration.version, name: migration.name, operation: operation,
                            checksum: migration.up.checksum, startedAt: .now, durationMilliseconds: 0, success: true,
                            appliedBy: appliedBy), on: connection, logger: logger)
                }
            }
        }

        func apply(_ step: MigrationStep, progress: @Sendable (MigrationProgress) -> Void) async throws {
            guard let script = step.script else { return }
            progress(.started(step.migration, step.direction))
            let clock = ContinuousClock()
            let start = clock.now
            // Kept in memory in case the migration drops the tracking tables themselves.
            let rowsBefore = try await applied()
            if script.directives.transactional {
                try await applyInTransaction(step, script: script, rowsBefore: rowsBefore, progress: progress)
            } else {
                try await applyStatementByStatement(step, script: script, rowsBefore: rowsBefore)
            }
            progress(.finished(step.migration, step.direction, duration: clock.now - start))
        }

        // MARK: Transactional

        /// BEGIN (the file's own wrapper `BEGIN`, if it has one), the file's `SET TRANSACTION` if
        /// it starts with one, timeouts, every statement, a reset of settings and role, the verify
        /// script, the tracking and history rows (as the runner's role), COMMIT: all or nothing.
        /// Then the session is reset. A lock timeout (55P03) rolls back and retries with backoff,
        /// since the migration only queued behind other traffic; anything else fails at once.
        private func applyInTransaction(
            _ step: MigrationStep, script: MigrationScript, rowsBefore: [AppliedMigration],
            progress: @Sendable (MigrationProgress) -> Void
        ) async throws {
            let maxAttempts = 1 + min(max(0, runner.configuration.lockRetries), 1_000)
            let verify = step.direction == .up ? step.migration.verify : nil
            var body = Array(script.body)
            // Valid only before the transaction's first query, so before the runner's set_config.
            let setTransaction = body.first.flatMap { $0.skeleton.hasPrefix("SET TRANSACTION ") ? $0 : nil }
            if setTransaction != nil { body.removeFirst() }
            var attempt = 1
            while true {
                let clock = ContinuousClock()
                let start = clock.now
                var failedStatement: SQLStatement?
                var failedScript = script
                do {
                    try await connection.inTransaction(
                        begin: PostgresQuery(unsafeSQL: script.wrapper?.begin.text ?? "BEGIN"), logger: logger
                    ) {
                        if let setTransaction {
                            failedStatement = setTransaction
                            try await execute(setTransaction)
                        }
                        try await setTimeouts(for: script, local: true)
                        for statement in body {
                            failedStatement = statement
                            try await execute(statement)
                        }
                        failedStatement = nil
                        if let verify {
                            try await resetInTransaction()
                            try await setTimeouts(for: script, local: true)
                            failedScript = verify
                            // A check changes nothing: whatever it writes is rolled back, the migration is kept.
                            try await connection.query("SAVEPOINT sqlstore_verify", logger: logger)
                            try await runVerification(verify, inTransaction: true, failedStatement: &failedStatement)
                            try await connection.query("ROLLBACK TO SAVEPOINT sqlstore_verify", logger: logger)
                            try await connection.query("RELEASE SAVEPOINT sqlstore_verify", logger: logger)
                            failedScript = script
                        }
                        let elapsed = milliseconds(clock.now - start)
                        try await asRunner(restoring: rowsBefore) {
                            switch step.direction {
                            case .up:
                                try await tracking.recordApplied(
                                    step.migration, operation: "up", durationMilliseconds: elapsed, appliedBy: appliedBy,
                                    on: connection, logger: logger)
                            case .down:
                                try await tracking.remove(version: step.migration.version, on: connection, logger: logger)
                            }
                            try await tracking.recordAttempt(
                                attemptRecord(step, script: script, start: start, success: true), on: connection,
                                logger: logger)
                        }
                    }
                    try await resetSession()
                    return
                } catch {
                    try? await resetSession()
                    let failure = (error as? VerificationFailure)?.serverError ?? ServerError(error)
                    let line = failedStatement?.line ?? 1
                    var record = attemptRecord(step, script: failedScript, start: start, success: false)
                    record.failure = failure
                    record.line = line
                    try? await tracking.recordAttempt(record, on: connection, logger: logger)
                    if failure.isLockNotAvailable, attempt < maxAttempts {
                        // Doubling up to 32 s: later waits stay there, however many retries are allowed.
                        let delay = Duration.milliseconds(500 * (1 << min(attempt - 1, 6))) * Double.random(in: 0.75...1.25)
                        progress(.retrying(step.migration, attempt: attempt + 1, after: delay, reason: failure.message))
                        try await Task.sleep(for: delay)
                        attempt += 1
                        continue
                    }
                    throw MigrationError.statementFailed(
                        failure: failure, script: failedScript, statement: failedStatement, attempts: attempt,
                        rolledBack: true)
                }
            }
        }

        // MARK: Non-transactional

        /// Marks the migration `running`, runs each statement on its own, counting progress in
        /// the tracking row, resets the session, runs the verify script, and marks it `applied`
        /// (or removes it, going down). Every tracking write is a short transaction as the
        /// runner's own role. A failure marks it `failed`; a crash leaves it `running`. Either
        /// blocks every later command until an operator runs `repair`.
        private func applyStatementByStatement(
            _ step: MigrationStep, script: MigrationScript, rowsBefore: [AppliedMigration]
        ) async throws {
            let clock = ContinuousClock()
            let start = clock.now
            let operation = step.direction.rawValue
            try await recordAsRunner(restoring: rowsBefore) {
                try await tracking.recordState(
                    step.migration, state: .running, operation: operation, statementsDone: 0, error: nil,
                    appliedBy: appliedBy, on: connection, logger: logger)
            }
            var done = 0
            var failedScript = script
            do {
                try await setTimeouts(for: script, local: false)
                for statement in script.body {
                    do {
                        try await execute(statement)
                    } catch {
                        throw MigrationError.statementFailed(
                            failure: ServerError(error), script: script, statement: statement, attempts: 1,
                            rolledBack: false)
                    }
                    done += 1
                    try await recordAsRunner(restoring: rowsBefore) {
                        try await tracking.recordState(
                            step.migration, state: .running, operation: operation, statementsDone: done, error: nil,
                            appliedBy: appliedBy, on: connection, logger: logger)
                    }
                }
                try await resetSession()
                if step.direction == .up, let verify = step.migration.verify {
                    failedScript = verify
                    var failedStatement: SQLStatement?
                    try await setTimeouts(for: script, local: false)
                    do {
                        // In a transaction that is rolled back: a check changes nothing.
                        try await connection.inTransaction(end: .rollback, logger: logger) {
                            try await runVerification(verify, inTransaction: true, failedStatement: &failedStatement)
                        }
                    } catch {
                        throw MigrationError.statementFailed(
                            failure: (error as? VerificationFailure)?.serverError ?? ServerError(error), script: verify,
                            statement: failedStatement, attempts: 1, rolledBack: false)
                    }
                    try await resetSession()
                }
            } catch {
                try? await resetSession()
                let failure: ServerError
                var line: Int?
                if let migrationError = error as? MigrationError, let statementFailure = migrationError.statementFailure {
                    failure = ServerError(
                        sqlState: statementFailure.sqlState, message: statementFailure.message,
                        detail: statementFailure.detail, hint: statementFailure.hint)
                    line = statementFailure.line
                } else {
                    failure = ServerError(error)
                }
                let summary =
                    "\(failedScript.fileName):\(line ?? 1): \(failure.sqlState.map { "[\($0)] " } ?? "")\(failure.message)"
                try? await recordAsRunner(restoring: rowsBefore) {
                    try await tracking.recordState(
                        step.migration, state: .failed, operation: operation, statementsDone: done, error: summary,
                        appliedBy: appliedBy, on: connection, logger: logger)
                }
                var record = attemptRecord(step, script: failedScript, start: start, success: false)
                record.failure = failure
                record.line = line
                try? await tracking.recordAttempt(record, on: connection, logger: logger)
                throw error
            }
            try await recordAsRunner(restoring: rowsBefore) {
                switch step.direction {
                case .up:
                    try await tracking.recordApplied(
                        step.migration, operation: "up", durationMilliseconds: milliseconds(clock.now - start),
                        appliedBy: appliedBy, on: connection, logger: logger)
                case .down:
                    try await tracking.remove(version: step.migration.version, on: connection, logger: logger)
                }
                try await tracking.recordAttempt(
                    attemptRecord(step, script: script, start: start, success: true), on: connection, logger: logger)
            }
        }

        // MARK: Statements

        func execute(_ statement: SQLStatement) async throws {
            let rows = try await connection.query(PostgresQuery(unsafeSQL: statement.text), logger: logger)
            // Drain: an error raised while rows stream (e.g. in a SELECT) arrives only here.
            for try await _ in rows {}
        }

        private func setTimeouts(for script: MigrationScript, local: Bool) async throws {
            let lockTimeout = script.directives.lockTimeout ?? runner.configuration.lockTimeout
            let statementTimeout = script.directives.statementTimeout ?? runner.configuration.statementTimeout
            try await connection.query(
                """
                SELECT pg_catalog.set_config('lock_timeout', \("\(lockTimeout.postgresMilliseconds)ms"), \(local)),
                       pg_catalog.set_config('statement_timeout', \("\(statementTimeout.postgresMilliseconds)ms"), \(local))
                """, logger: logger)
        }

        private func attemptRecord(
            _ step: MigrationStep, script: MigrationScript, start: ContinuousClock.Instant, success: Bool
        ) -> TrackingTable.Attempt {
            TrackingTable.Attempt(
                version: step.migration.version, name: step.migration.name, operation: step.direction.rawValue,
                checksum: step.migration.up.checksum, startedAt: start,
                durationMilliseconds: milliseconds(ContinuousClock.now - start), success: success, failure: nil,
                file: script.fileName, line: nil, appliedBy: appliedBy)
        }
    }
}

func milliseconds(_ duration: Duration) -> Double {
    Double(duration.components.seconds) * 1000 + Double(duration.components.attoseconds) / 1e15
}

extension MigrationError {
    static func statementFailed(
        failure: ServerError, script: MigrationScript, statement: SQLStatement?, attempts: Int, rolledBack: Bool
    ) -> MigrationError {
        let number = statement.flatMap { s in script.body.firstIndex(of: s).map { $0 - script.body.startIndex } }
            .map { $0 + 1 } ?? 0
        return statementFailed(
            StatementFailure(
                file: script.fileName, line: statement?.line ?? 1, statementNumber: number,
                statementCount: script.body.count, sqlState: failure.sqlState, message: failure.message,
                detail: failure.detail, hint: failure.hint, rolledBack: rolledBack, attempts: attempts))
    }
}
