@testable import SQLStore
import Synchronization
import Testing

@Suite("Concurrency gate")
struct ConcurrencyGateTests {
    /// How many bodies run at once, and the most that ever did.
    final class Occupancy: Sendable {
        private let state = Mutex((now: 0, most: 0, order: [Int]()))
        func enter(_ id: Int) { state.withLock { $0.now += 1; $0.most = max($0.most, $0.now); $0.order.append(id) } }
        func leave() { state.withLock { $0.now -= 1 } }
        var most: Int { state.withLock { $0.most } }
        var order: [Int] { state.withLock { $0.order } }
    }

    @Test("never more than the limit run at once, and all of them run")
    func limitHolds() async throws {
        let gate = ConcurrencyGate(limit: 3)
        let occupancy = Occupancy()
        try await withThrowingTaskGroup(of: Void.self) { group in
            for id in 0..<40 {
                group.addTask {
                    try await gate.admitting {
                        occupancy.enter(id)
                        try await Task.sleep(for: .milliseconds(2))
                        occupancy.leave()
                    }
                }
            }
            try await group.waitForAll()
        }
        #expect(occupancy.most == 3)
        #expect(occupancy.order.count == 40)
    }

    @Test("waiters are admitted in arrival order")
    func fifo() async throws {
        let gate = ConcurrencyGate(limit: 1)
        let occupancy = Occupancy()
        let (held, holder) = AsyncStream.makeStream(of: Void.self)
        let first = Task { try await gate.admitting { for await _ in held {} } }
        // Each waiter is queued before the next starts: its task has suspended in the gate once
        // the next line runs, checked by the gate's queue length.
        var waiters: [Task<Void, any Error>] = []
        for id in 1...5 {
            waiters.append(Task { try await gate.admitting { occupancy.enter(id); occupancy.leave() } })
            while gate.waiting < id { await Task.yield() }
        }
        holder.finish()
        try await first.value
        for waiter in waiters { try await waiter.value }
        #expect(occupancy.order == [1, 2, 3, 4, 5])
    }

    @Test("a waiter cancelled while it waits leaves at once with CancellationError, and its place goes to the next")
    func cancelledWaiterLeaves() async throws {
        let gate = ConcurrencyGate(limit: 1)
        let (held, holder) = AsyncStream.makeStream(of: Void.self)
        let first = Task { try await gate.admitting { for await _ in held {} } }
        while !gate.isFull { await Task.yield() }
        let cancelled = Task { try await gate.admitting { Issue.record("a cancelled waiter ran") } }
        while gate.waiting < 1 { await Task.yield() }
        let next = Task { try await gate.admitting { "admitted" } }
        while gate.waiting < 2 { await Task.yield() }

        cancelled.cancel()
        await #expect(throws: CancellationError.self) { try await cancelled.value }
        holder.finish()
        try await first.value
        #expect(try await next.value == "admitted")
        #expect(gate.waiting == 0)
    }

    @Test("a task cancelled before it reaches the gate is refused without waiting")
    func cancelledBeforeArriving() async throws {
        let gate = ConcurrencyGate(limit: 1)
        let (held, holder) = AsyncStream.makeStream(of: Void.self)
        let first = Task { try await gate.admitting { for await _ in held {} } }
        while !gate.isFull { await Task.yield() }
        let late = Task {
            withUnsafeCurrentTask { $0?.cancel() }
            try await gate.admitting { Issue.record("a cancelled task ran") }
        }
        await #expect(throws: CancellationError.self) { try await late.value }
        holder.finish()
        try await first.value
    }

    // Without the fix this test waits forever for the place; the limit turns that into a failure.
    @Test("a holder cancelled while its body never ends gives its place back at once, and only once", .timeLimit(.minutes(3)))
    func cancelledHolderGivesItsPlaceBack() async throws {
        let gate = ConcurrencyGate(limit: 1)
        // A body that ignores cancellation, as a query PostgresNIO never completes does.
        let stuck = Latch()
        let holder = Task { try await gate.admitting { await stuck.wait() } }
        while !gate.isFull { await Task.yield() }
        let next = Task { try await gate.admitting { "admitted" } }
        while gate.waiting < 1 { await Task.yield() }

        holder.cancel()
        #expect(try await next.value == "admitted")
        #expect(!stuck.isOpen, "the place came back before the cancelled body ended")

        stuck.open()
        try await holder.value
        // The body's end gave nothing back a second time: one holder fills the gate again.
        let (held, release) = AsyncStream.makeStream(of: Void.self)
        let again = Task { try await gate.admitting { for await _ in held {} } }
        while !gate.isFull { await Task.yield() }
        let late = Task { try await gate.admitting { "after" } }
        while gate.waiting < 1 { await Task.yield() }
        #expect(gate.isFull && gate.waiting == 1)
        release.finish()
        try await again.value
        #expect(try await late.value == "after")
    }

    /// Opened once from outside; `wait()` ignores cancellation.
    final class Latch: Sendable {
        private let state = Mutex((open: false, waiters: [CheckedContinuation<Void, Never>]()))
        var isOpen: Bool { state.withLock { $0.open } }
        func wait() async {
            await withCheckedContinuation { continuation in
                let resumeNow = state.withLock { state in
                    if state.open { return true }
                    state.waiters.append(continuation)
                    return false
                }
                if resumeNow { continuation.resume() }
            }
        }
        func open() {
            let waiters = state.withLock { state in
                state.open = true
                defer { state.waiters.removeAll() }
                return state.waiters
            }
            waiters.forEach { $0.resume() }
        }
    }

    /// The lost wakeup this guards against needs a `leave` between a waiter's drawing its ticket
    /// and its queueing. Kept small: a thousand tasks yielding in a loop took the test process's
    /// two cooperative threads from every other suite on CI, and made them miss their deadlines.
    @Test("under contention no place is lost: thousands of short admissions by many tasks all complete")
    func noLostWakeups() async throws {
        let gate = ConcurrencyGate(limit: 2)
        let completed = Occupancy()
        let finished = await withTaskGroup(of: Bool.self) { group in
            group.addTask {
                await withThrowingTaskGroup(of: Void.self) { workers in
                    for _ in 0..<10 {
                        workers.addTask {
                            for _ in 0..<300 {
                                try await gate.admitting { await Task.yield() }
                                completed.enter(0)
                                completed.leave()
                            }
                        }
                    }
                    try? await workers.waitForAll()
                }
                return true
            }
            // A lost place leaves waiters that nothing wakes: cancelling them ends the test.
            group.addTask {
                try? await Task.sleep(for: .seconds(60))
                return false
            }
            let first = await group.next() ?? false
            group.cancelAll()
            return first
        }
        let count = completed.order.count
        #expect(finished && count == 3_000, "admissions stalled after \(count) of 3,000")
    }
}
