import NIOCore
import Synchronization

/// At most `limit` holders at once; the others wait in arrival order.
///
/// A waiter whose task is cancelled (by the caller, or by its operation's deadline) leaves the
/// queue at once and throws `CancellationError`, as a lease waiting in PostgresNIO's pool does.
/// A holder whose task is cancelled gives its place back at once, without waiting for its body
/// to end: see ``admitting(_:)``.
final class ConcurrencyGate: Sendable {
    private struct State {
        var available: Int
        var nextTicket: UInt64 = 0
        /// Tickets in arrival order; those of cancelled waiters are skipped when reached.
        var queue = CircularBuffer<UInt64>()
        var waiters: [UInt64: CheckedContinuation<Void, any Error>] = [:]
    }

    let limit: Int
    private let state: Mutex<State>

    init(limit: Int) {
        self.limit = max(1, limit)
        self.state = Mutex(State(available: max(1, limit)))
    }

    /// Runs `body` once admitted, and admits the next waiter when it ends or when the task is
    /// cancelled, whichever comes first.
    ///
    /// Why at cancellation: the store cancels an operation's task when its deadline answers, and
    /// the body may then never end. PostgresNIO 1.33 never completes a query written to a
    /// connection that has just closed, so a place held until the body ends would leak with every
    /// lost connection, until no placement was admitted at all. A body still running in
    /// PostgreSQL when it gives its place back is bounded there by `statement_timeout`.
    ///
    /// - Throws: `CancellationError` if the task is cancelled while it waits; whatever `body` throws.
    func admitting<Result>(_ body: () async throws -> Result) async throws -> Result {
        try await enter()
        let place = Place(in: self)
        defer { place.giveBack() }
        return try await withTaskCancellationHandler(operation: body, onCancel: { place.giveBack() })
    }

    /// One admission's place, given back once: by the body's end or by cancellation, whichever
    /// comes first.
    private final class Place: Sendable {
        private let gate: ConcurrencyGate
        private let given = Atomic(false)

        init(in gate: ConcurrencyGate) {
            self.gate = gate
        }

        func giveBack() {
            if given.compareExchange(expected: false, desired: true, ordering: .acquiringAndReleasing).exchanged {
                gate.leave()
            }
        }
    }

    /// Waiters queued now (for tests and diagnostics).
    var waiting: Int { state.withLock { $0.waiters.count } }
    /// Whether every place is taken.
    var isFull: Bool { state.withLock { $0.available == 0 } }

    private func enter() async throws {
        let ticket: UInt64? = state.withLock { state in
            if state.available > 0 {
                state.available -= 1
                return nil
            }
            defer { state.nextTicket += 1 }
            return state.nextTicket
        }
        guard let ticket else { return }
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                // Under the lock that the cancellation handler takes too: either it runs after the
                // waiter is queued and finds it, or the task was cancelled before and it is seen here.
                // A place may have come free since the ticket was drawn (a `leave` that found the
                // queue empty): take it, or this waiter would wait for the next `leave`.
                let outcome: Result<Void, CancellationError>? = state.withLock { state in
                    if Task.isCancelled { return .failure(CancellationError()) }
                    if state.available > 0 {
                        state.available -= 1
                        return .success(())
                    }
                    state.queue.append(ticket)
                    state.waiters[ticket] = continuation
                    return nil
                }
                if let outcome { continuation.resume(with: outcome.mapError { $0 as any Error }) }
            }
        } onCancel: {
            state.withLock { $0.waiters.removeValue(forKey: ticket) }?.resume(throwing: CancellationError())
        }
    }

    private func leave() {
        let next: CheckedContinuation<Void, any Error>? = state.withLock { state in
            while let ticket = state.queue.popFirst() {
                if let waiter = state.waiters.removeValue(forKey: ticket) { return waiter }
            }
            state.available += 1
            return nil
        }
        next?.resume()
    }
}
