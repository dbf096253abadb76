import Logging
import NIOCore
import NIOPosix
import ServiceLifecycle
import Synchronization
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
            try await withConnection { connection in
                try await connection.withTransaction(logger: logger) { connection in
                    // Always explicit: the server's default_transaction_isolation may differ.
                    try await connection.query("SET TRANSACTION ISOLATION LEVEL \(unescaped: isolation.rawValue)", logger: logger)
                    return try await body(connection)
                }
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
    ///
    /// The answer at the deadline does not wait for `operation`: it is cancelled and left to end
    /// on its own, in a task of its own. It has to be: PostgresNIO 1.33 gives a query in flight no
    /// cancellation (`PostgresConnection.query` and `execute` await their result without a
    /// cancellation handler), and a query written to a connection that has just closed is never
    /// completed (the write's failure is dropped, `channel.write(_:promise: nil)`). Run in the
    /// caller's task, or in a task group, either would hold the caller, and graceful shutdown,
    /// past any deadline. Cancelling the caller's own task instead would fail its next write (the
    /// 503 itself: NIO's async writer throws `CancellationError` for a cancelled task).
    ///
    /// What it costs when the operation finishes first: the task starts at once on the calling
    /// thread (`Task.immediate`), so the query is written without a hop to another thread, and one
    /// small object is registered with the sweeper and removed again. Whatever the operation leases
    /// it gives back when it ends (tested in `DeadlineLeaseTests`), the lease at the latest when
    /// PostgreSQL answers or the connection closes.
    func withinDeadline<Result: Sendable>(_ operation: @escaping @Sendable () async throws -> Result) async throws -> Result {
        let race = DeadlineRace<Result>(deadline: retry.deadline)
        let expiry = deadlines.add(ContinuousClock.now + retry.deadline, race)
        defer { deadlines.remove(expiry) }
        let work = Task.immediate {
            StoreMetrics.operationStarted()
            defer { StoreMetrics.operationEnded() }
            do {
                race.settle(.success(try await operation()), abandon: false)
            } catch {
                race.settle(.failure(error), abandon: false)
            }
        }
        race.attach(work)
        return try await withTaskCancellationHandler {
            try await race.value
        } onCancel: {
            race.settle(.failure(CancellationError()), abandon: true)
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

/// Something the sweeper expires once its deadline has passed.
protocol DeadlineExpirable: AnyObject, Sendable {
    func expire()
}

/// One operation against its deadline: the first outcome wins (the operation's result, the
/// deadline, or the caller's cancellation) and later ones are dropped. The deadline and the
/// caller's cancellation also cancel the operation's task, so that a lease it still waits for is
/// withdrawn from the pool's queue and a retry's backoff ends.
final class DeadlineRace<Value: Sendable>: DeadlineExpirable {
    private enum State {
        case running
        case waiting(UnsafeContinuation<Value, any Error>)
        case settled(Result<Value, any Error>)
        case delivered
    }
    private let state = Mutex((state: State.running, work: Task<Void, Never>?.none, abandoned: false))
    private let deadline: Duration

    init(deadline: Duration) {
        self.deadline = deadline
    }

    /// The operation's task; cancelled at once if the operation was abandoned already.
    func attach(_ work: Task<Void, Never>) {
        let abandoned: Bool = state.withLock { race in
            race.work = work
            return race.abandoned
        }
        if abandoned { work.cancel() }
    }

    func expire() {
        settle(.failure(StoreError.unavailable(reason: "no answer from PostgreSQL within \(deadline)")), abandon: true)
    }

    /// Settles the race unless it is settled already; `abandon` cancels the operation's task.
    func settle(_ result: Result<Value, any Error>, abandon: Bool) {
        let (waiter, work): (UnsafeContinuation<Value, any Error>?, Task<Void, Never>?) = state.withLock { race in
            let waiter: UnsafeContinuation<Value, any Error>?
            switch race.state {
            case .running:
                race.state = .settled(result)
                waiter = nil
            case .waiting(let continuation):
                race.state = .delivered
                waiter = continuation
            case .settled, .delivered:
                return (nil, nil)
            }
            race.abandoned = abandon
            return (waiter, abandon ? race.work : nil)
        }
        // Cancelled before the caller hears the outcome: cancellation runs the operation's
        // handlers at once, so a placement still queued in the gate or the pool has left the
        // queue by the time its caller answers 503, and cannot be admitted later. The other way
        // round, a caller resumed first could let the place go (a holder ending) before the
        // cancellation, on a preempted thread, reached the waiter.
        work?.cancel()
        waiter?.resume(with: result)
    }

    var value: Value {
        get async throws {
            try await withUnsafeThrowingContinuation { waiter in
                let settled: Result<Value, any Error>? = state.withLock { race in
                    switch race.state {
                    case .running:
                        race.state = .waiting(waiter)
                        return nil
                    case .settled(let result):
                        race.state = .delivered
                        return result
                    case .waiting, .delivered:
                        // One waiter only: the caller of withinDeadline.
                        return .failure(CancellationError())
                    }
                }
                if let settled { waiter.resume(with: settled) }
            }
        }
    }
}

/// Expires operations past their deadline with one sweep every 50 ms, while it runs: the store
/// runs it as its ``OrderStore/run()``, a service of the application's service group, so that it
/// starts and stops with the application and nothing runs before or after.
///
/// Not a timer per operation: a cancelled `Task.sleep` keeps its memory until the moment it would
/// have woken, so under load a per-operation timer holds rate × deadline of them (measured: about
/// 700 bytes each, 30 MB at 4,500 requests/s with the 10 s deadline). Here an operation costs an
/// insertion and a removal, and memory follows the operations in flight.
final class DeadlineSweeper: Sendable {
    static let interval = TimeAmount.milliseconds(50)

    private struct Entry {
        let deadline: ContinuousClock.Instant
        let target: any DeadlineExpirable
    }
    private let state = Mutex((next: UInt64(0), entries: [UInt64: Entry]()))

    /// Registers `target`, expired once `deadline` has passed unless removed first.
    func add(_ deadline: ContinuousClock.Instant, _ target: any DeadlineExpirable) -> UInt64 {
        state.withLock { state in
            state.next += 1
            state.entries[state.next] = Entry(deadline: deadline, target: target)
            return state.next
        }
    }

    func remove(_ id: UInt64) {
        _ = state.withLock { $0.entries.removeValue(forKey: id) }
    }

    /// Sweeps every ``interval`` until the task is cancelled or the service group shuts down.
    ///
    /// The sweeps run on an event loop, not in a task: a deadline must fire even while Swift's
    /// cooperative threads (two on two cores) are all busy.
    func run() async {
        let sweeps = NIOSingletons.posixEventLoopGroup.any().scheduleRepeatedTask(
            initialDelay: Self.interval, delay: Self.interval
        ) { [weak self] _ in self?.sweep() }
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                do {
                    try await Task.sleep(for: .seconds(3600))
                } catch {
                    return
                }
            }
        }
        sweeps.cancel()
    }

    private func sweep() {
        let now = ContinuousClock.now
        let expired: [Entry] = state.withLock { state in
            let due = state.entries.filter { $0.value.deadline <= now }
            for id in due.keys { state.entries.removeValue(forKey: id) }
            return Array(due.values)
        }
        for entry in expired { entry.target.expire() }
    }
}
