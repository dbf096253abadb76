import Foundation
import PostgresNIO
import SQLStore
import Testing
import TestSupport

@Suite("Order lifecycle")
struct OrderLifecycleTests {
    @Test("pending → confirmed → shipped → delivered, each change recorded with its time")
    func happyPath() async throws {
        try await withStore { store, _ in
            let (user, products) = try await store.seed(stock: [5])
            var order = try await store.placeOrder(userId: user.id, lines: [OrderLine(productId: products[0].id, quantity: 1)]).order
            for status in [OrderStatus.confirmed, .shipped, .delivered] {
                order = try await store.transition(orderId: order.id, to: status, version: order.version)
                #expect(order.status == status)
            }
            #expect(order.version == 4)
            let history = try await store.statusHistory(orderId: order.id)
            #expect(history.map(\.to) == [.pending, .confirmed, .shipped, .delivered])
            #expect(history.map(\.from) == [nil, .pending, .confirmed, .shipped])
            #expect(zip(history, history.dropFirst()).allSatisfy { $0.changedAt <= $1.changedAt })
        }
    }

    @Test("illegal transitions and stale versions are refused and change nothing")
    func refusals() async throws {
        try await withStore { store, _ in
            let (user, products) = try await store.seed(stock: [5])
            let order = try await store.placeOrder(userId: user.id, lines: [OrderLine(productId: products[0].id, quantity: 1)]).order
            await #expect(throws: StoreError.illegalTransition(from: .pending, to: .shipped)) {
                try await store.transition(orderId: order.id, to: .shipped, version: order.version)
            }
            await #expect(throws: StoreError.versionConflict(resource: .order, id: order.id, expected: 7, current: 1)) {
                try await store.transition(orderId: order.id, to: .confirmed, version: 7)
            }
            await #expect(throws: StoreError.notFound(resource: .order, id: "999999")) {
                try await store.transition(orderId: 999_999, to: .confirmed, version: 1)
            }
            let delivered = try await store.transition(orderId: order.id, to: .cancelled, version: 1)
            await #expect(throws: StoreError.illegalTransition(from: .cancelled, to: .confirmed)) {
                try await store.transition(orderId: order.id, to: .confirmed, version: delivered.version)
            }
            #expect(try await store.order(id: order.id).status == .cancelled)
        }
    }

    @Test("racing cancels return the stock exactly once")
    func racingCancelsRestockOnce() async throws {
        try await withStore { store, database in
            let (user, products) = try await store.seed(stock: [10, 10])
            let order = try await store.placeOrder(
                userId: user.id,
                lines: [OrderLine(productId: products[0].id, quantity: 3), OrderLine(productId: products[1].id, quantity: 2)]
            ).order
            let successes = try await withThrowingTaskGroup(of: Bool.self) { group in
                for _ in 0..<12 {
                    group.addTask {
                        do {
                            _ = try await store.transition(orderId: order.id, to: .cancelled, version: order.version)
                            return true
                        } catch StoreError.versionConflict {
                            return false
                        }
                    }
                }
                return try await group.reduce(0) { $0 + ($1 ? 1 : 0) }
            }
            #expect(successes == 1)
            #expect(try await store.product(id: products[0].id).stockQuantity == 10)
            #expect(try await store.product(id: products[1].id).stockQuantity == 10)
            let initial = Dictionary(uniqueKeysWithValues: products.map { ($0.id, 10) })
            #expect(try await stockIsConserved(database, initial: initial))
        }
    }
}

@Suite("Order worker")
struct OrderWorkerTests {
    @Test("four workers confirm a thousand pending orders, each exactly once")
    func fourWorkersExactlyOnce() async throws {
        try await withStore { store, database in
            let (user, _) = try await store.seed(stock: [])
            try await database.execute(
                """
                INSERT INTO orders (user_id, order_number, total_amount)
                SELECT \(user.id), 'W-' || g, 0 FROM generate_series(1, 1000) g
                """)
            let workers = (0..<4).map { _ in OrderWorker(store: store, batchSize: 25, logger: TestDatabase.logger) }
            let processed = try await withThrowingTaskGroup(of: [Int64].self) { group in
                for worker in workers {
                    group.addTask {
                        var mine: [Int64] = []
                        while true {
                            let batch = try await worker.processBatch()
                            if batch.isEmpty { return mine }
                            mine += batch
                        }
                    }
                }
                return try await group.reduce(into: [[Int64]]()) { $0.append($1) }
            }
            let all = processed.flatMap { $0 }
            #expect(all.count == 1000)
            #expect(Set(all).count == 1000)
            #expect(processed.filter { !$0.isEmpty }.count > 1, "the work was shared")
            let check = try await database.scalar(
                """
                SELECT count(*) = 1000 AND bool_and(n = 1)
                FROM (SELECT order_id, count(*) AS n FROM order_status_changes
                      WHERE from_status = 'pending' AND to_status = 'confirmed' GROUP BY order_id) s
                """, as: Bool.self)
            #expect(check == true)
            let pending = try await database.scalar("SELECT count(*) FROM orders WHERE status = 'pending'", as: Int.self)
            #expect(pending == 0)
        }
    }
}
