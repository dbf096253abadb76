import Foundation
import HTTPTypes
import HummingbirdTesting
import PostgresNIO
import Testing
import TestSupport

@Suite("API: orders")
struct OrdersAPITests {
    @Test("POST /orders answers 201 with Location, prices from the catalogue, and takes the stock")
    func placeAnOrder() async throws {
        try await TestApplication.run { app in
            let user = try await app.createUser()
            let tea = try await app.createProduct("TEA", price: "4.20", stock: 5)
            let response = try await app.placeOrder(userId: user.id, [(tea.id, 2)])
            #expect(response.status == .created)
            let order = try response.decode(OrderBody.self)
            #expect(order.totalAmount == "8.40" && order.status == "pending" && order.version == 1)
            #expect(order.items?.map(\.unitPrice) == ["4.20"])
            #expect(response.headers[.location] == "/orders/\(order.id)")
            let stock = try await app.request(.get, "/products/\(tea.id)", expecting: .ok, decoding: ProductBody.self)
            #expect(stock.stockQuantity == 3)
            let read = try await app.request(.get, "/orders/\(order.id)", expecting: .ok, decoding: OrderBody.self)
            #expect(read == order)
        }
    }

    @Test("the same Idempotency-Key and body replays the first order without placing another")
    func idempotentReplay() async throws {
        try await TestApplication.run { app in
            let user = try await app.createUser()
            let tea = try await app.createProduct("TEA", stock: 5)
            let first = try await app.placeOrder(userId: user.id, [(tea.id, 2)], idempotencyKey: "k-1")
            let replay = try await app.placeOrder(userId: user.id, [(tea.id, 2)], idempotencyKey: "k-1")
            #expect(replay.status == .created)
            #expect(try replay.decode(OrderBody.self) == (try first.decode(OrderBody.self)))
            #expect(replay.headers[HTTPField.Name("Idempotent-Replayed")!] == "true")
            #expect(try await app.database.scalar("SELECT count(*) FROM orders", as: Int.self) == 1)
            #expect(try await app.database.scalar("SELECT stock_quantity FROM products", as: Int32.self) == 3)
        }
    }

    @Test("an Idempotency-Key reused with another body is 422 idempotency_key_reused")
    func idempotencyKeyReusedWithAnotherBody() async throws {
        try await TestApplication.run { app in
            let user = try await app.createUser()
            let tea = try await app.createProduct("TEA", stock: 5)
            try await app.placeOrder(userId: user.id, [(tea.id, 2)], idempotencyKey: "k-1")
            let reused = try await app.placeOrder(userId: user.id, [(tea.id, 1)], idempotencyKey: "k-1")
            #expect(reused.status == .unprocessableContent && reused.errorCode == "idempotency_key_reused")
            #expect(try await app.database.scalar("SELECT count(*) FROM orders", as: Int.self) == 1)
        }
    }

    @Test("more than the stock is 409 insufficient_stock, and no stock is taken")
    func insufficientStock() async throws {
        try await TestApplication.run { app in
            let user = try await app.createUser()
            let tea = try await app.createProduct("TEA", stock: 3)
            let coffee = try await app.createProduct("COFFEE", stock: 9)
            let short = try await app.placeOrder(userId: user.id, [(coffee.id, 1), (tea.id, 4)])
            #expect(short.status == .conflict && short.errorCode == "insufficient_stock")
            let stock = try await app.database.scalar("SELECT array_agg(stock_quantity ORDER BY id) FROM products", as: [Int32].self)
            #expect(stock == [3, 9])
        }
    }

    @Test("an unknown product or user is 404 naming the resource")
    func unknownProductOrUser() async throws {
        try await TestApplication.run { app in
            let user = try await app.createUser()
            let tea = try await app.createProduct("TEA", stock: 3)
            let product = try await app.placeOrder(userId: user.id, [(987654, 1)])
            #expect(try product.status == .notFound && (try product.decode(ErrorBody.self).details.resource) == "product")
            let nobody = try await app.placeOrder(userId: 987654, [(tea.id, 1)])
            #expect(try nobody.status == .notFound && (try nobody.decode(ErrorBody.self).details.resource) == "user")
            #expect(try await app.database.scalar("SELECT count(*) FROM orders", as: Int.self) == 0)
        }
    }

    @Test("no items or an absurd quantity is 422; an id beyond 64 bits is 400")
    func invalidOrders() async throws {
        try await TestApplication.run { app in
            let user = try await app.createUser()
            let tea = try await app.createProduct("TEA", stock: 3)
            #expect(try await app.placeOrder(userId: user.id, []).status == .unprocessableContent)
            #expect(try await app.placeOrder(userId: user.id, [(tea.id, 3_000_000_000)]).status == .unprocessableContent)
            let huge = try await app.request(.post, "/orders", json: #"{"user_id": 99999999999999999999999, "items": []}"#)
            #expect(huge.status == .badRequest)
            #expect(try await app.database.scalar("SELECT count(*) FROM orders", as: Int.self) == 0)
        }
    }

    @Test("PATCH /orders/{id} moves the status along its lifecycle and bumps the version")
    func lifecycle() async throws {
        try await TestApplication.run { app in
            let user = try await app.createUser()
            let tea = try await app.createProduct("TEA")
            let order = try await app.placeOrder(userId: user.id, [(tea.id, 1)]).decode(OrderBody.self)
            let confirmed = try await app.request(
                .patch, "/orders/\(order.id)", json: #"{"status": "confirmed", "version": 1}"#, expecting: .ok, decoding: OrderBody.self)
            #expect(confirmed.status == "confirmed" && confirmed.version == 2)
        }
    }

    @Test("an illegal transition is 409, an unknown status 422, a stale version 409; none changes the order")
    func refusedTransitions() async throws {
        try await TestApplication.run { app in
            let user = try await app.createUser()
            let tea = try await app.createProduct("TEA")
            let order = try await app.placeOrder(userId: user.id, [(tea.id, 1)]).decode(OrderBody.self)
            let illegal = try await app.request(.patch, "/orders/\(order.id)", json: #"{"status": "delivered", "version": 1}"#)
            #expect(illegal.status == .conflict && illegal.errorCode == "illegal_transition")
            let unknown = try await app.request(.patch, "/orders/\(order.id)", json: #"{"status": "teleported", "version": 1}"#)
            #expect(unknown.status == .unprocessableContent)
            let stale = try await app.request(.patch, "/orders/\(order.id)", json: #"{"status": "confirmed", "version": 7}"#)
            #expect(stale.status == .conflict && stale.errorCode == "version_conflict")
            let stored = try await app.request(.get, "/orders/\(order.id)", expecting: .ok, decoding: OrderBody.self)
            #expect(stored.status == "pending" && stored.version == 1)
        }
    }

    @Test("GET /users/{id}/orders pages by cursor: next_cursor leads to the rest, and a forged cursor is 400")
    func cursorPages() async throws {
        try await TestApplication.run { app in
            let user = try await app.createUser()
            let tea = try await app.createProduct("TEA")
            var placed: [Int64] = []
            for _ in 0..<3 { placed.append(try await app.placeOrder(userId: user.id, [(tea.id, 1)]).decode(OrderBody.self).id) }
            let first = try await app.request(
                .get, "/users/\(user.id)/orders?limit=2", expecting: .ok, decoding: CursorPage<OrderBody>.self)
            #expect(first.items.map(\.id) == [placed[2], placed[1]] && first.hasMore)
            let cursor = try #require(first.nextCursor)
            let second = try await app.request(
                .get, "/users/\(user.id)/orders?limit=2&cursor=\(cursor)", expecting: .ok, decoding: CursorPage<OrderBody>.self)
            #expect(second.items.map(\.id) == [placed[0]] && !second.hasMore && second.nextCursor == nil)
            let forged = try await app.request(.get, "/users/\(user.id)/orders?cursor=forged")
            #expect(forged.status == .badRequest && forged.errorCode == "invalid_cursor")
        }
    }

    @Test("concurrent orders over HTTP: only 201 or sold-out 409, and stock is conserved in SQL")
    func concurrentOrdersConserveStock() async throws {
        try await TestApplication.run { app in
            let user = try await app.createUser()
            let hot = [try await app.createProduct("HOT-0", stock: 25).id, try await app.createProduct("HOT-1", stock: 25).id]
            let statuses = try await withThrowingTaskGroup(of: HTTPResponse.Status.self) { group in
                for index in 0..<80 {
                    group.addTask {
                        let lines = #"[{"product_id": \#(hot[index % 2]), "quantity": 1}, {"product_id": \#(hot[(index + 1) % 2]), "quantity": 1}]"#
                        return try await app.requestOnOwnConnection(
                            .post, "/orders", json: #"{"user_id": \#(user.id), "items": \#(lines)}"#)
                    }
                }
                return try await group.reduce(into: [HTTPResponse.Status]()) { $0.append($1) }
            }
            #expect(Set(statuses).isSubset(of: [.created, .conflict]))
            #expect(statuses.filter { $0 == .created }.count == 25)
            let conserved = try await app.database.scalar(
                """
                SELECT bool_and(p.stock_quantity >= 0 AND p.stock_quantity + coalesce(s.sold, 0) = 25)
                FROM products p LEFT JOIN (SELECT product_id, sum(quantity) AS sold FROM order_items GROUP BY product_id) s
                  ON s.product_id = p.id
                """, as: Bool.self)
            #expect(conserved == true)
            #expect(try await app.database.scalar("SELECT count(*) FROM orders", as: Int.self) == 25)
        }
    }
}
