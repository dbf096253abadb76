import Logging
import PostgresNIO

extension MigrationRunner {
    /// A connection that holds the migration lock, and the steps that run on it.
    struct Session: Sendable {
        let runner: MigrationRunner
        let connection: PostgresConnection

        var logger: Logger { runner.logger }
        var tracking: TrackingTable { runner.tracking }
        var appliedBy: String { runner.configuration.appliedBy }

        func applied() async throws -> [AppliedMigration] {
            try await tracking.applied(on: connection, logger: logger)
        }

        func inTransaction(_ body: () async throws -> Void) async throws {
            try await connection.query("BEGIN", logger: logger)
            do {
                try await body()
                try await connection.query("COMMIT", logger: logger)
            } catch {
                _ = try? await connection.query("ROLLBACK", logger: logger)
                throw error
            }
        }

        func apply(_ step: MigrationStep, progress: @Sendable (MigrationProgress) -> Void) async throws {
            guard let script = step.script else { return }
            progress(.started(step.migration, step.direction))
            let clock = ContinuousClock()
            let start = clock.now
            if script.directives.transactional {
                try await applyInTransaction(step, script: script, progress: progress)
            } else {
                try await applyStatementByStatement(step, script: script)
            }
            progress(.finished(step.migration, step.direction, duration: clock.now - start))
        }

        // MARK: Transactional

        /// BEGIN, timeouts, every statement, the tracking and history rows, COMMIT: all or nothing.
        /// A lock timeout (55P03) rolls back and retries with backoff, since the migration only
        /// queued behind other traffic; anything else fails at once.
        private func applyInTransaction(
            _ step: MigrationStep, script: MigrationScript, progress: @Sendable (MigrationProgress) -> Void
        ) async throws {
            let maxAttempts = 1 + max(0, runner.configuration.lockRetries)
            var attempt = 1
            while true {
                let clock = ContinuousClock()
                let start = clock.now
                var failedStatement: SQLStatement?
                do {
                    try await connection.query("BEGIN", logger: logger)
                    try await setTimeouts(for: script, local: true)
                    for statement in script.statements {
                        failedStatement = statement
                        try await execute(statement)
                    }
                    failedStatement = nil
                    let elapsed = milliseconds(clock.now - start)
                    switch step.direction {
                    case .up:
                        try await tracking.recordApplied(
                            step.migration, operation: "up", durationMilliseconds: elapsed, appliedBy: appliedBy,
                            on: connection, logger: logger)
                    case .down:
                        try await tracking.remove(version: step.migration.version, on: connection, logger: logger)
                    }
                    try await tracking.recordAttempt(
                        attemptRecord(step, script: script, start: start, success: true), on: connection, logger: logger)
                    try await connection.query("COMMIT", logger: logger)
                    return
                } catch {
                    _ = try? await connection.query("ROLLBACK", logger: logger)
                    let failure = ServerError(error)
                    let line = failedStatement?.line ?? 1
                    var record = attemptRecord(step, script: script, start: start, success: false)
                    record.failure = failure
                    record.line = line
                    try? await tracking.recordAttempt(record, on: connection, logger: logger)
                    if failure.isLockNotAvailable, attempt < maxAttempts {
                        let delay = Duration.milliseconds(500 * (1 << (attempt - 1))) * Double.random(in: 0.75...1.25)
                        progress(.retrying(step.migration, attempt: attempt + 1, after: delay, reason: failure.message))
                        try await Task.sleep(for: delay)
                        attempt += 1
                        continue
                    }
                    throw MigrationError.statementFailed(
                        failure: failure, script: script, statement: failedStatement, attempts: attempt,
                        rolledBack: true)
                }
            }
        }

        // MARK: Non-transactional

        /// Marks the migration `running`, runs each statement on its own, counting progress in
        /// the tracking row, and marks it `applied` (or removes it, going down). A failure marks
        /// it `failed`; a crash leaves it `running`. Either blocks every later command until an
        /// operator runs `repair`.
        private func applyStatementByStatement(_ step: MigrationStep, script: MigrationScript) async throws {
            let clock = ContinuousClock()
            let start = clock.now
            let operation = step.direction.rawValue
            try await tracking.recordState(
                step.migration, state: .running, operation: operation, statementsDone: 0, error: nil,
                appliedBy: appliedBy, on: connection, logger: logger)
            var done = 0
            do {
                try await setTimeouts(for: script, local: false)
                for statement in script.statements {
                    do {
                        try await execute(statement)
                    } catch {
                        throw MigrationError.statementFailed(
                            failure: ServerError(error), script: script, statement: statement, attempts: 1,
                            rolledBack: false)
                    }
                    done += 1
                    try await tracking.recordState(
                        step.migration, state: .running, operation: operation, statementsDone: done, error: nil,
                        appliedBy: appliedBy, on: connection, logger: logger)
                }
                try await connection.query("RESET lock_timeout", logger: logger)
                try await connection.query("RESET statement_timeout", logger: logger)
            } catch {
                let failure: ServerError
                var line: Int?
                if case .statementFailed(let statementFailure) = error as? MigrationError {
                    failure = ServerError(
                        sqlState: statementFailure.sqlState, message: statementFailure.message,
                        detail: statementFailure.detail, hint: statementFailure.hint)
                    line = statementFailure.line
                } else {
                    failure = ServerError(error)
                }
                let summary = "\(script.fileName):\(line ?? 1): \(failure.sqlState.map { "[\($0)] " } ?? "")\(failure.message)"
                try? await tracking.recordState(
                    step.migration, state: .failed, operation: operation, statementsDone: done, error: summary,
                    appliedBy: appliedBy, on: connection, logger: logger)
                var record = attemptRecord(step, script: script, start: start, success: false)
                record.failure = failure
                record.line = line
                try? await tracking.recordAttempt(record, on: connection, logger: logger)
                throw error
            }
            try await inTransaction {
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

        private func execute(_ statement: SQLStatement) async throws {
            let rows = try await connection.query(PostgresQuery(unsafeSQL: statement.text), logger: logger)
            // Drain: an error raised while rows stream (e.g. in a SELECT) arrives only here.
            for try await _ in rows {}
        }

        private func setTimeouts(for script: MigrationScript, local: Bool) async throws {
            let lockTimeout = script.directives.lockTimeout ?? runner.configuration.lockTimeout
            let statementTimeout = script.directives.statementTimeout ?? runner.configuration.statementTimeout
            try await connection.query(
                """
                SELECT set_config('lock_timeout', \("\(lockTimeout.wholeMilliseconds)ms"), \(local)),
                       set_config('statement_timeout', \("\(statementTimeout.wholeMilliseconds)ms"), \(local))
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
        let number = statement.flatMap { s in script.statements.firstIndex(of: s) }.map { $0 + 1 } ?? 0
        return .statementFailed(
            StatementFailure(
                file: script.fileName, line: statement?.line ?? 1, statementNumber: number,
                statementCount: script.statements.count, sqlState: failure.sqlState, message: failure.message,
                detail: failure.detail, hint: failure.hint, rolledBack: rolledBack, attempts: attempts))
    }
}
