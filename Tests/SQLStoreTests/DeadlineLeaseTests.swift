import Foundation
import PostgresNIO
import SQLStore
import Testing
import TestSupport

extension DeadlineTests {
    /// How long the pool takes to lease a connection to a caller that waits without a deadline,
    /// or nil if none comes within `limit`. Unlike a store call, this does not depend on the
    /// machine answering within the store's own short deadline, only on the lease coming back.
    func leaseTime(_ store: OrderStore, within limit: Duration) async -> Duration? {
        let started = ContinuousClock.now
        return await withTaskGroup(of: Duration?.self) { group in
            group.addTask {
                guard (try? await store.client.withConnection { _ in }) != nil else { return nil }
                return ContinuousClock.now - started
            }
            group.addTask {
                try? await Task.sleep(for: limit)
                return nil
            }
            let first = await group.next() ?? nil
            group.cancelAll()
            return first
        }
    }

    @Test("a connection whose query outlived the deadline comes back to the pool once the query ends")
    func leaseComesBackAfterQueryDeadline() async throws {
        var retry = RetryPolicy()
        retry.deadline = .milliseconds(300)
        try await withStore(maxConnections: 1, retry: retry) { store, database in
            let started = ContinuousClock.now
            await #expect(throws: StoreError.unavailable(reason: "no answer from PostgreSQL within 0.3 seconds")) {
                try await store.transaction { connection in
                    for try await _ in try await connection.query("SELECT pg_sleep(8)", logger: TestDatabase.logger) {}
                }
            }
            // Well before the query ends (8 s), with seconds of room for a loaded machine.
            #expect(ContinuousClock.now - started < .seconds(5), "the caller got its answer at the deadline")
            // The pool's only connection is busy until pg_sleep ends (about 7.7 s from here); a
            // lease that never came back would make every later call time out.
            let waited = await leaseTime(store, within: .seconds(30))
            #expect(waited != nil, "the pool's only connection never came back")
            // And the abandoned query itself ends with its statement, leaving nothing running.
            var sleeping: Int? = 1
            for _ in 0..<100 where sleeping != 0 {
                sleeping = try await database.scalar(
                    "SELECT count(*)::int FROM pg_stat_activity WHERE query = 'SELECT pg_sleep(8)' AND state = 'active'",
                    as: Int.self)
                if sleeping != 0 { try await Task.sleep(for: .milliseconds(100)) }
            }
            #expect(sleeping == 0)
        }
    }

    @Test("a request that gave up waiting for a connection leaves no claim on the pool behind")
    func leaseRequestIsWithdrawnAtDeadline() async throws {
        var retry = RetryPolicy()
        retry.deadline = .milliseconds(300)
        try await withStore(maxConnections: 1, retry: retry) { store, database in
            let userID = try #require(try await database.scalar(
                "INSERT INTO users (email, name) VALUES ('queue@example.com', 'Queue') RETURNING id", as: Int64.self))
            let (held, holding) = AsyncStream.makeStream(of: Void.self)
            let holder = Task {
                try await store.client.withConnection { connection in
                    holding.yield()
                    try await connection.query("SELECT pg_sleep(1)", logger: TestDatabase.logger)
                }
            }
            for await _ in held { break }
            // Ten requests queue for the only connection and give up at their deadline.
            await withTaskGroup(of: Void.self) { group in
                for _ in 0..<10 {
                    group.addTask {
                        await #expect(throws: StoreError.self) { try await store.user(id: userID) }
                    }
                }
            }
            _ = try? await holder.value
            // Had any of them stayed queued, it would be served before this lease.
            let waited = await leaseTime(store, within: .seconds(30))
            #expect(waited != nil, "the connection was given to no one after the holder let go")
        }
    }
}
