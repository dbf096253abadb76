public import Logging
public import ServiceLifecycle
import Synchronization

/// Migrates as a step of an application's service group: `run()` applies the pending
/// migrations, then stays up until the group shuts down, so that a migration finishing does not
/// end the group. The application's server waits for ``waitUntilCompleted()`` before serving.
///
/// ```swift
/// let migrations = MigrationService(runner: MigrationRunner(migrations: try MigrationSource.load(directory: url),
///                                                           connection: connectionConfiguration))
/// var app = Application(router: router, services: [client, migrations])
/// app.beforeServerStarts { try await migrations.waitUntilCompleted() }
/// ```
///
/// Guarantees: everything ``MigrationRunner/up(to:progress:)`` guarantees: it takes the
/// migration lock on a connection of its own, so several instances starting at once apply each
/// migration exactly once, the others waiting for the lock and then finding nothing to do. It
/// never starts a task of its own: the service group runs it. ``waitUntilCompleted()`` returns
/// once the migrations are applied, and throws the migration's error if they failed; it may be
/// called any number of times, before or after `run()` finishes. A graceful shutdown that arrives
/// while a migration runs waits for it to finish (a transactional migration is all or nothing
/// anyway, and the runner records a non-transactional one step by step).
///
/// Migrating at start-up suits small deployments and development. Where several versions run
/// side by side or migrations need review, run `sqlstore migrate up` (or ``MigrationRunner``) as a
/// deploy step, and have instances only check ``MigrationRunner/isUpToDate(on:)-(PostgresClient)``.
public final class MigrationService: Service, Sendable {
    public let runner: MigrationRunner
    /// The version to migrate up to; nil applies every pending migration.
    public let target: Int64?
    let logger: Logger
    private let state = Mutex(State())

    private struct State {
        /// Set once, when `run()` has applied the migrations or failed.
        var outcome: Result<Void, any Error>?
        var waiters: [UInt64: CheckedContinuation<Void, any Error>] = [:]
        /// Waiters cancelled before they registered their continuation.
        var cancelled: Set<UInt64> = []
        var nextID: UInt64 = 0
    }

    public init(runner: MigrationRunner, target: Int64? = nil, logger: Logger = Logger(label: "sqlstore.migrations")) {
        self.runner = runner
        self.target = target
        self.logger = logger
    }

    /// Applies the pending migrations, then waits for the group's graceful shutdown.
    ///
    /// - Throws: what ``MigrationRunner/up(to:progress:)`` throws (``MigrationError``,
    ///   ``MigrationPlanError``, ``MigrationAdoptError``, or PostgresNIO's error when PostgreSQL
    ///   cannot be reached), after handing it to every ``waitUntilCompleted()``. The service group
    ///   then shuts down, as for any service that fails.
    public func run() async throws {
        let logger = self.logger
        do {
            let applied = try await runner.up(to: target) { event in
                if case .finished(let migration, _, let duration) = event {
                    logger.info(
                        "applied migration", metadata: ["migration": "\(migration.id)", "duration": "\(duration)"])
                }
            }
            logger.info("migrations complete", metadata: ["applied": "\(applied.count)"])
            finish(.success(()))
        } catch {
            logger.error("migration failed", metadata: ["error": "\(String(reflecting: error))"])
            finish(.failure(error))
            throw error
        }
        // Returning would end the service group (a service that returns has finished its work).
        try? await gracefulShutdown()
    }

    /// Returns once ``run()`` has applied the migrations.
    ///
    /// - Throws: the error that made ``run()`` fail; `CancellationError` when the calling task is
    ///   cancelled while it waits.
    public func waitUntilCompleted() async throws {
        let id = state.withLock { state in
            defer { state.nextID += 1 }
            return state.nextID
        }
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                let outcome = state.withLock { state -> Result<Void, any Error>? in
                    if let outcome = state.outcome { return outcome }
                    if state.cancelled.remove(id) != nil { return .failure(CancellationError()) }
                    state.waiters[id] = continuation
                    return nil
                }
                if let outcome { continuation.resume(with: outcome) }
            }
        } onCancel: {
            let continuation = state.withLock { state -> CheckedContinuation<Void, any Error>? in
                if let continuation = state.waiters.removeValue(forKey: id) { return continuation }
                if state.outcome == nil { state.cancelled.insert(id) }
                return nil
            }
            continuation?.resume(throwing: CancellationError())
        }
    }

    private func finish(_ outcome: Result<Void, any Error>) {
        let waiters = state.withLock { state -> [CheckedContinuation<Void, any Error>] in
            state.outcome = outcome
            defer { state.waiters = [:] }
            return Array(state.waiters.values)
        }
        for waiter in waiters { waiter.resume(with: outcome) }
    }
}
