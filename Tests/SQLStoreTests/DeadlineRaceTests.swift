@testable import SQLStore
import Synchronization
import Testing

@Suite("Deadline race")
struct DeadlineRaceTests {
    final class Flag: Sendable {
        private let raised = Atomic(false)
        func raise() { raised.store(true, ordering: .releasing) }
        var isRaised: Bool { raised.load(ordering: .acquiring) }
    }

    /// What makes "answered 503 at the deadline, never placed later" hold: a placement still
    /// waiting in the gate or the pool leaves the queue in its cancellation handler, and that
    /// handler has run by the time the caller hears the answer.
    @Test("when the deadline answers, the abandoned operation's cancellation handlers have already run")
    func cancelledBeforeTheAnswer() async throws {
        var retry = RetryPolicy()
        retry.deadline = .milliseconds(200)
        try await withStore(retry: retry) { store, _ in
            for _ in 0..<20 {
                let cancelled = Flag()
                await #expect(throws: StoreError.unavailable(reason: "no answer from PostgreSQL within 0.2 seconds")) {
                    try await store.withinDeadline {
                        try await withTaskCancellationHandler {
                            try await Task.sleep(for: .seconds(30))
                        } onCancel: {
                            cancelled.raise()
                        }
                    }
                }
                #expect(cancelled.isRaised)
            }
        }
    }
}
