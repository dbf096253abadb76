import Foundation
import PostgresNIO
@testable import SQLStore
import Testing
import TestSupport

/// `DATABASE_MAX_ORDER_CONNS`: placements beyond the limit wait in the server, not in PostgreSQL.
@Suite("Order admission")
struct OrderAdmissionTests {
    @Test("with room for one placement, a second waits in the server; at its deadline it is 'unavailable' and never placed later")
    func waitingPlacementGivesUpAndIsNeverPlaced() async throws {
        var retry = RetryPolicy()
        retry.deadline = .milliseconds(500)
        try await withStore(retry: retry, maxOrderConnections: 1) { store, database in
            // Set up and checked in plain SQL, so that nothing but the measured call is bound by
            // the short deadline.
            try await database.execute("INSERT INTO users (id, email, name) VALUES (1, 'buyer@example.com', 'Buyer')")
            try await database.execute("INSERT INTO products (id, sku, name, price, stock_quantity) VALUES (1, 'A', 'A', 1, 5)")
            let gate = try #require(store.placements)
            // The gate's only place is held from outside, for as long as the test says.
            let (held, release) = AsyncStream.makeStream(of: Void.self)
            let holder = Task { try await gate.admitting { for await _ in held {} } }
            while !gate.isFull { await Task.yield() }

            await #expect(throws: StoreError.unavailable(reason: "no answer from PostgreSQL within 0.5 seconds")) {
                _ = try await store.placeOrder(userId: 1, lines: [.init(productId: 1, quantity: 1)])
            }
            release.finish()
            try await holder.value
            // Give a placement that wrongly stayed queued every chance to run.
            try await Task.sleep(for: .seconds(1))
            #expect(gate.waiting == 0)
            #expect(try await database.scalar("SELECT count(*)::int FROM orders", as: Int.self) == 0,
                    "the order answered 'unavailable' was placed after all")
            #expect(try await database.scalar("SELECT stock_quantity FROM products WHERE id = 1", as: Int32.self) == 5)
            // The place came back once the holder let go: the next placement is admitted at once.
            // (Checked on the gate, not by placing within the 500 ms deadline, which a loaded CI
            // machine missed 20 times running.)
            #expect(!gate.isFull, "the gate's place did not come back")
            #expect(try await gate.admitting { "admitted" } == "admitted")
        }
    }

    @Test("a placement abandoned at its deadline gives its place back at once, while its query still waits in PostgreSQL")
    func abandonedPlacementGivesItsPlaceBack() async throws {
        var retry = RetryPolicy()
        // Long enough for the placement to reach PostgreSQL's lock queue on a loaded machine.
        retry.deadline = .seconds(5)
        // Long enough that the abandoned query is certainly still waiting on its lock when the
        // place comes back: before the fix, the place came back only when the query ended.
        try await withStore(retry: retry, maxOrderConnections: 1, lockTimeout: .seconds(60)) { store, database in
            try await database.execute("INSERT INTO users (id, email, name) VALUES (1, 'buyer@example.com', 'Buyer')")
            try await database.execute(
                "INSERT INTO products (id, sku, name, price, stock_quantity) VALUES (1, 'A', 'A', 1, 5)")
            let gate = try #require(store.placements)
            try await database.withConnection { locker in
                _ = try await locker.query("BEGIN", logger: TestDatabase.logger)
                _ = try await locker.query("SELECT 1 FROM products WHERE id = 1 FOR UPDATE", logger: TestDatabase.logger)

                let abandoned = Task { try await store.placeOrder(userId: 1, lines: [.init(productId: 1, quantity: 1)]) }
                // It has reached PostgreSQL and waits there on the lock.
                var lockWaits = 0
                let queued = ContinuousClock.now
                while lockWaits == 0 && ContinuousClock.now - queued < .seconds(20) {
                    lockWaits = try await database.scalar(
                        "SELECT count(*)::int FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()",
                        as: Int.self) ?? 0
                    if lockWaits == 0 { try await Task.sleep(for: .milliseconds(10)) }
                }
                try #require(lockWaits == 1)
                await #expect(throws: StoreError.unavailable(reason: "no answer from PostgreSQL within 5.0 seconds")) {
                    _ = try await abandoned.value
                }
                // Given back before the answer: the deadline cancels the operation (which gives the
                // place back in its cancellation handler) before it answers the caller.
                #expect(!gate.isFull, "the abandoned placement kept its place")
                lockWaits = try await database.scalar(
                    "SELECT count(*)::int FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()",
                    as: Int.self) ?? 0
                #expect(lockWaits == 1, "the abandoned placement's query is still in PostgreSQL")

                // Another placement is admitted meanwhile.
                #expect(try await gate.admitting { "admitted" } == "admitted")
                _ = try await locker.query("ROLLBACK", logger: TestDatabase.logger)
            }
        }
    }

    @Test("many concurrent placements through a gate of 2 all succeed, and stock is conserved")
    func concurrentPlacementsThroughGate() async throws {
        // A generous deadline: on a loaded CI machine 30 placements, two at a time, took over 10 s.
        var retry = RetryPolicy()
        retry.deadline = .seconds(60)
        try await withStore(retry: retry, maxOrderConnections: 2) { store, database in
            let (user, products) = try await store.seed(stock: [1_000, 1_000, 1_000])
            let placed = try await withThrowingTaskGroup(of: Bool.self) { group in
                for index in 0..<30 {
                    group.addTask {
                        let lines = [OrderLine(productId: products[index % 3].id, quantity: 2), OrderLine(productId: products[(index + 1) % 3].id, quantity: 1)]
                        return try await store.placeOrder(userId: user.id, lines: lines).created
                    }
                }
                return try await group.reduce(0) { $0 + ($1 ? 1 : 0) }
            }
            #expect(placed == 30)
            #expect(try await stockIsConserved(database, initial: Dictionary(uniqueKeysWithValues: products.map { ($0.id, 1_000) })))
        }
    }
}
