import Foundation
import PostgresNIO
import SQLStore
import Testing
import TestSupport

@Suite("Order placement")
struct OrderPlacementTests {
    @Test("an order is priced from the database, merges duplicate lines, takes the stock and records its creation")
    func placesCompleteOrder() async throws {
        try await withStore { store, database in
            let (user, products) = try await store.seed(stock: [10, 10])
            let placed = try await store.placeOrder(
                userId: user.id,
                lines: [
                    OrderLine(productId: products[1].id, quantity: 2), OrderLine(productId: products[0].id, quantity: 1),
                    OrderLine(productId: products[1].id, quantity: 1),
                ])
            let order = placed.order
            #expect(placed.created)
            #expect(order.status == .pending)
            #expect(order.orderNumber.hasPrefix("SO-"))
            #expect(order.items.map(\.productId) == [products[0].id, products[1].id])
            #expect(order.items.map(\.quantity) == [1, 3])
            #expect(order.items.map(\.unitPrice) == [Decimal(string: "9.99")!, Decimal(string: "9.99")!])
            #expect(order.totalAmount == Decimal(string: "39.96")!)
            #expect(try await store.product(id: products[1].id).stockQuantity == 7)
            #expect(try await store.order(id: order.id) == order)
            let history = try await store.statusHistory(orderId: order.id)
            #expect(history.map(\.to) == [.pending] && history.first?.from == nil)
        }
    }

    @Test("order numbers are unique and readable")
    func orderNumbers() async throws {
        try await withStore { store, _ in
            let (user, products) = try await store.seed(stock: [100])
            var numbers: Set<String> = []
            for _ in 0..<20 {
                let order = try await store.placeOrder(userId: user.id, lines: [OrderLine(productId: products[0].id, quantity: 1)]).order
                numbers.insert(order.orderNumber)
                #expect(order.orderNumber.wholeMatch(of: /SO-\d{8,}/) != nil)
            }
            #expect(numbers.count == 20)
        }
    }

    @Test("an order is attributed to the user's active organization")
    func attributedToActiveOrganization() async throws {
        try await withStore { store, _ in
            let (user, products) = try await store.seed(stock: [5])
            let organization = try await store.createOrganization(slug: "acme", name: "Acme")
            _ = try await store.addMember(organizationId: organization.id, userId: user.id, role: .member)
            _ = try await store.setActiveOrganization(userId: user.id, organizationId: organization.id)
            let order = try await store.placeOrder(userId: user.id, lines: [OrderLine(productId: products[0].id, quantity: 1)]).order
            #expect(order.organizationId == organization.id)
            let page = try await store.orders(organizationId: organization.id, limit: 10, cursor: nil)
            #expect(page.items.map(\.id) == [order.id])
        }
    }

    @Test("insufficient stock names the products, and changes nothing")
    func insufficientStock() async throws {
        try await withStore { store, database in
            let (user, products) = try await store.seed(stock: [5, 1])
            let error = await #expect(throws: StoreError.self) {
                try await store.placeOrder(
                    userId: user.id,
                    lines: [OrderLine(productId: products[0].id, quantity: 2), OrderLine(productId: products[1].id, quantity: 3)])
            }
            #expect(error == .insufficientStock([StockShortage(productId: products[1].id, requested: 3, available: 1)]))
            #expect(try await store.product(id: products[0].id).stockQuantity == 5)
            let orders = try await database.scalar("SELECT count(*) FROM orders", as: Int.self)
            #expect(orders == 0)
        }
    }

    @Test("an unknown user or product is refused by name, and nothing changes")
    func unknownUserOrProduct() async throws {
        try await withStore { store, database in
            let (user, products) = try await store.seed(stock: [5])
            let line = OrderLine(productId: products[0].id, quantity: 1)
            await #expect(throws: StoreError.notFound(resource: .user, id: "999999")) {
                try await store.placeOrder(userId: 999_999, lines: [line])
            }
            await #expect(throws: StoreError.notFound(resource: .product, id: "424242")) {
                try await store.placeOrder(userId: user.id, lines: [line, OrderLine(productId: 424_242, quantity: 1)])
            }
            #expect(try await store.product(id: products[0].id).stockQuantity == 5)
            let orders = try await database.scalar("SELECT count(*) FROM orders", as: Int.self)
            #expect(orders == 0)
        }
    }

    @Test("empty orders, non-positive and absurd quantities are refused before any SQL")
    func invalidQuantities() async throws {
        try await withStore { store, _ in
            let (user, products) = try await store.seed(stock: [5])
            let id = products[0].id
            for lines in [[], [OrderLine(productId: id, quantity: 0)], [OrderLine(productId: id, quantity: -1)],
                [OrderLine(productId: id, quantity: 10_001)],
                [OrderLine(productId: id, quantity: 6000), OrderLine(productId: id, quantity: 6000)]]
            {
                await #expect(throws: StoreError.self) { try await store.placeOrder(userId: user.id, lines: lines) }
            }
        }
    }

    @Test("many concurrent orders on a few hot products never oversell and conserve stock exactly")
    func hotProductsConserveStock() async throws {
        try await withStore { store, database in
            let (user, products) = try await store.seed(stock: [40, 40, 40])
            let initial = Dictionary(uniqueKeysWithValues: products.map { ($0.id, Int($0.stockQuantity)) })
            let outcomes = try await withThrowingTaskGroup(of: Bool.self) { group in
                for index in 0..<200 {
                    group.addTask {
                        let first = products[index % 3].id
                        let second = products[(index + 1) % 3].id
                        do {
                            _ = try await store.placeOrder(
                                userId: user.id,
                                lines: [OrderLine(productId: first, quantity: 1 + index % 2), OrderLine(productId: second, quantity: 1)])
                            return true
                        } catch StoreError.insufficientStock {
                            return false
                        }
                    }
                }
                return try await group.reduce(into: [Bool]()) { $0.append($1) }
            }
            #expect(outcomes.contains(true) && outcomes.contains(false), "some orders sold out")
            #expect(try await stockIsConserved(database, initial: initial))
            let sold = try await database.scalar("SELECT sum(quantity)::int FROM order_items", as: Int.self) ?? 0
            let remaining = try await database.scalar("SELECT sum(stock_quantity)::int FROM products", as: Int.self) ?? 0
            #expect(sold + remaining == 120)
        }
    }

    @Test("orders whose lines come in opposite orders never fail with a deadlock")
    func oppositeOrderLinesNeverDeadlock() async throws {
        try await withStore { store, database in
            let (user, products) = try await store.seed(stock: [10_000, 10_000])
            let (a, b) = (products[0].id, products[1].id)
            try await withThrowingTaskGroup(of: Void.self) { group in
                for index in 0..<150 {
                    group.addTask {
                        let lines = index.isMultiple(of: 2)
                            ? [OrderLine(productId: a, quantity: 1), OrderLine(productId: b, quantity: 1)]
                            : [OrderLine(productId: b, quantity: 1), OrderLine(productId: a, quantity: 1)]
                        _ = try await store.placeOrder(userId: user.id, lines: lines)
                    }
                }
                try await group.waitForAll()
            }
            #expect(try await store.product(id: a).stockQuantity == 10_000 - 150)
            // Retries would hide a deadlock from the outcome; PostgreSQL's counter does not.
            // Backends flush their statistics at most once a second.
            try await Task.sleep(for: .milliseconds(1100))
            let deadlocks = try await database.scalar(
                "SELECT deadlocks FROM pg_stat_database WHERE datname = current_database()", as: Int.self)
            #expect(deadlocks == 0)
        }
    }
}

@Suite("Idempotency keys")
struct IdempotencyTests {
    @Test("racing duplicates of one key make one order and one stock decrement")
    func racingDuplicatesMakeOneOrder() async throws {
        // Connections opened up front, so the duplicates really run at the same time.
        try await withStore(maxConnections: 10, warmConnections: 10) { store, database in
            let (user, products) = try await store.seed(stock: [100])
            try await Task.sleep(for: .milliseconds(300))
            let lines = [OrderLine(productId: products[0].id, quantity: 3)]
            let results = try await withThrowingTaskGroup(of: PlacedOrder.self) { group in
                for _ in 0..<20 {
                    group.addTask { try await store.placeOrder(userId: user.id, lines: lines, idempotencyKey: "checkout-42") }
                }
                return try await group.reduce(into: [PlacedOrder]()) { $0.append($1) }
            }
            #expect(Set(results.map(\.order.id)).count == 1)
            #expect(results.filter(\.created).count == 1)
            #expect(try await store.product(id: products[0].id).stockQuantity == 97)
            let orders = try await database.scalar("SELECT count(*) FROM orders", as: Int.self)
            #expect(orders == 1)
        }
    }

    @Test("a replay of the same request returns the original order; a different request is refused")
    func replayAndMismatch() async throws {
        try await withStore { store, _ in
            let (user, products) = try await store.seed(stock: [10, 10])
            let first = try await store.placeOrder(
                userId: user.id, lines: [OrderLine(productId: products[0].id, quantity: 2)], idempotencyKey: "k1")
            // The same request written differently (split lines) is the same request.
            let replay = try await store.placeOrder(
                userId: user.id,
                lines: [OrderLine(productId: products[0].id, quantity: 1), OrderLine(productId: products[0].id, quantity: 1)],
                idempotencyKey: "k1")
            #expect(replay.order == first.order && !replay.created)
            await #expect(throws: StoreError.idempotencyKeyReused(key: "k1")) {
                try await store.placeOrder(userId: user.id, lines: [OrderLine(productId: products[1].id, quantity: 1)], idempotencyKey: "k1")
            }
            #expect(try await store.product(id: products[0].id).stockQuantity == 8)
            #expect(try await store.product(id: products[1].id).stockQuantity == 10)
        }
    }
}
