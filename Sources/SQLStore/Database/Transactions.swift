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
    public var budget: Duration = .seconds(5)
    /// The most any operation may take, waiting for a pooled connection included (PostgresNIO's
    /// pool has no acquire timeout): past it the caller gets ``StoreError/unavailable(reason:)``
    /// instead of hanging. `SERVER_WRITE_TIMEOUT` sets it for the server.
    public var deadline: Duration = .seconds(10)

    public init() {}
}

extension OrderStore {
    /// Runs `body` in a transaction at `isolation`, retrying the whole transaction when PostgreSQL
    /// reports a serialization failure, a deadlock or a lock timeout (also at COMMIT).
    public func transaction<Result: Sendable>(
        _ isolation: IsolationLevel = .readCommitted,
        _ body: @escaping @Sendable (PostgresConnection) async throws -> Result
    ) async throws -> Result {
        try await retrying {
            try await client.withTransaction(logger: logger) { connection in
                // Always explicit: the server's default_transaction_isolation may differ.
                try await connection.query("SET TRANSACTION ISOLATION LEVEL \(unescaped: isolation.rawValue)", logger: logger)
                return try await body(connection)
            }
        }
    }

    /// Runs `operation` within the deadline, retrying retryable failures with exponential
    /// backoff and full jitter, bounded in attempts and time; the final error is classified
    /// into a ``StoreError``.
    func retrying<Result: Sendable>(_ operation: @escaping @Sendable () async throws -> Result) async throws -> Result {
        try await withinDeadline { try await retryLoop(operation) }
    }

    /// Runs `operation`, or gives up with ``StoreError/unavailable(reason:)`` at the deadline.
    func withinDeadline<Result: Sendable>(_ operation: @escaping @Sendable () async throws -> Result) async throws -> Result {
        let deadline = retry.deadline
        StoreMetrics.operationStarted()
        defer { StoreMetrics.operationEnded() }
        return try await withThrowingTaskGroup(of: Result?.self) { group in
            group.addTask { try await operation() }
            group.addTask {
                try await Task.sleep(for: deadline)
                return nil
            }
            defer { group.cancelAll() }
            guard let first = try await group.next(), let result = first else {
                throw StoreError.unavailable(reason: "no answer from PostgreSQL within \(deadline)")
            }
            return result
        }
    }

    private func retryLoop<Result>(_ operation: () async throws -> Result) async throws -> Result {
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
