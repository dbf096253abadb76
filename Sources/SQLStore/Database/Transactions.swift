import Logging
import PostgresNIO

/// Transaction isolation levels, set as the transaction's first statement.
public enum IsolationLevel: String, Sendable {
    case readCommitted = "READ COMMITTED"
    case repeatableRead = "REPEATABLE READ"
    case serializable = "SERIALIZABLE"
}

/// How often and how long a transaction is retried after 40001, 40P01 or 55P03.
public struct RetryPolicy: Sendable {
    public var maxAttempts = 6
    public var baseDelay: Duration = .milliseconds(5)
    public var maxDelay: Duration = .milliseconds(200)
    /// No retry starts after this much time has passed since the first attempt.
    public var budget: Duration = .seconds(2)

    public init() {}
}

extension OrderStore {
    /// Runs `body` in a transaction at `isolation`, retrying the whole transaction when PostgreSQL
    /// reports a serialization failure, a deadlock or a lock timeout (also at COMMIT).
    public func transaction<Result: Sendable>(
        _ isolation: IsolationLevel = .readCommitted,
        _ body: @Sendable (PostgresConnection) async throws -> Result
    ) async throws -> Result {
        try await retrying {
            try await client.withTransaction(logger: logger) { connection in
                if isolation != .readCommitted {
                    try await connection.query("SET TRANSACTION ISOLATION LEVEL \(unescaped: isolation.rawValue)", logger: logger)
                }
                return try await body(connection)
            }
        }
    }

    /// Runs `operation`, retrying retryable failures with exponential backoff and full jitter,
    /// bounded in attempts and time; the final error is classified into a ``StoreError``.
    func retrying<Result>(_ operation: () async throws -> Result) async throws -> Result {
        let clock = ContinuousClock()
        let start = clock.now
        var attempt = 1
        while true {
            do {
                return try await operation()
            } catch {
                guard let failure = DatabaseFailure(error), failure.isRetryable, attempt < retry.maxAttempts,
                    clock.now - start < retry.budget
                else {
                    throw StoreError.classify(error)
                }
                StoreMetrics.retry(sqlState: failure.sqlState ?? "")
                let ceiling = min(retry.maxDelay, retry.baseDelay * (1 << min(attempt, 16)))
                let delay = ceiling * Double.random(in: 0...1)
                logger.debug("retrying after \(failure.sqlState ?? "?")", metadata: ["attempt": "\(attempt)"])
                try await Task.sleep(for: delay)
                attempt += 1
            }
        }
    }
}
