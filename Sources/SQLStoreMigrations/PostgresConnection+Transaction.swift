import Logging
import PostgresNIO

extension PostgresConnection {
    /// How a transaction whose body returned ends.
    enum TransactionEnd {
        case commit
        /// For checks, which must change nothing whatever they run.
        case rollback
    }

    /// Runs `body` in a transaction opened by `begin` (a migration file's own `BEGIN …` keeps its
    /// options), ended by `end` when `body` returns, and rolled back when it throws.
    ///
    /// The runner's one transaction helper: PostgresNIO's `withTransaction` neither takes the
    /// opening statement nor ends in a rollback, and wraps the body's error in
    /// `PostgresTransactionError`, which the runner's errors would have to unwrap again.
    ///
    /// - Throws: the body's error after the rollback (a failed rollback is not reported: the
    ///   connection is then unusable, and its next statement says so), or the `BEGIN` or `COMMIT`
    ///   error.
    func inTransaction<Result>(
        begin: PostgresQuery = "BEGIN", end: TransactionEnd = .commit, logger: Logger,
        _ body: () async throws -> Result
    ) async throws -> Result {
        try await query(begin, logger: logger)
        let result: Result
        do {
            result = try await body()
        } catch {
            _ = try? await query("ROLLBACK", logger: logger)
            throw error
        }
        switch end {
        case .commit: try await query("COMMIT", logger: logger)
        case .rollback: try await query("ROLLBACK", logger: logger)
        }
        return result
    }
}
