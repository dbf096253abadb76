import Logging
import PostgresNIO
import ServiceLifecycle
import Synchronization

/// Keeps a number of pooled connections open while the service is idle: the job of PostgresNIO's
/// `minimumConnections`, which ``DatabaseSettings`` leaves at 0.
///
/// PostgresNIO 1.33.2's pool traps when it has a minimum and a lease finds it holding fewer
/// connections than that minimum (`precondition(minimumConcurrentConnections <= stats.active)` in
/// `createNewDemandConnectionIfPossible`). It gets there after losing connections faster than it
/// replaces them, as when PostgreSQL restarts under load; with a minimum of 0 the check cannot fail.
///
/// Every `interval`, shorter than the pool's idle timeout, the warmer leases `count` connections at
/// once and gives them straight back. That restarts the idle timers of the connections there are
/// and makes the pool open the missing ones. A round gives up after `limit`: it never holds a busy
/// pool's connections longer than that, and waits for nothing while PostgreSQL is down.
public struct ConnectionWarmer: Service {
    let client: PostgresClient
    let count: Int
    let interval: Duration
    let limit: Duration
    let logger: Logger

    public init(client: PostgresClient, count: Int, interval: Duration, limit: Duration = .milliseconds(250), logger: Logger) {
        self.client = client
        self.count = count
        self.interval = interval
        self.limit = limit
        self.logger = logger
    }

    /// Warms at once, as the pool's minimum would at start, then every `interval` until the
    /// service group shuts down.
    public func run() async throws {
        guard count > 0 else {
            // A service that returns early would end the group: wait for the end instead.
            try? await gracefulShutdown()
            return
        }
        try? await cancelWhenGracefulShutdown { [self] in
            while !Task.isCancelled {
                let granted = await warm()
                if granted < count {
                    logger.debug("connection warmer got fewer connections than asked", metadata: ["granted": "\(granted)", "asked": "\(count)"])
                }
                try await Task.sleep(for: interval)
            }
        }
    }

    /// One round: `count` leases held together until all are granted or `limit` has passed.
    /// - Returns: how many leases were granted.
    @discardableResult
    public func warm() async -> Int {
        let gate = Gate(expected: count)
        await withTaskGroup(of: Round.self) { group in
            for _ in 0..<count {
                group.addTask { [client] in
                    // A lease cancelled in the pool's queue throws: that connection is simply not warmed.
                    try? await client.withConnection { _ in await gate.arrive() }
                    return .leaseEnded
                }
            }
            group.addTask { [limit] in
                try? await Task.sleep(for: limit)
                gate.open()
                return .limitReached
            }
            var ended = 0
            for await outcome in group {
                switch outcome {
                case .limitReached:
                    group.cancelAll()
                case .leaseEnded:
                    ended += 1
                    if ended == count { group.cancelAll() }
                }
            }
        }
        return gate.arrivals
    }

    private enum Round: Sendable {
        case leaseEnded
        case limitReached
    }
}

/// Holds the leases of a round until all have arrived or the round's time is up.
private final class Gate: Sendable {
    private struct State {
        var arrivals = 0
        var isOpen = false
        var waiters: [CheckedContinuation<Void, Never>] = []
    }

    private let expected: Int
    private let state = Mutex(State())

    init(expected: Int) {
        self.expected = expected
    }

    var arrivals: Int { state.withLock { $0.arrivals } }

    func arrive() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let released: [CheckedContinuation<Void, Never>] = state.withLock { state in
                state.arrivals += 1
                if !state.isOpen && state.arrivals < expected {
                    state.waiters.append(continuation)
                    return []
                }
                state.isOpen = true
                defer { state.waiters = [] }
                return state.waiters + [continuation]
            }
            for waiter in released { waiter.resume() }
        }
    }

    func open() {
        let released = state.withLock { state in
            state.isOpen = true
            defer { state.waiters = [] }
            return state.waiters
        }
        for waiter in released { waiter.resume() }
    }
}
