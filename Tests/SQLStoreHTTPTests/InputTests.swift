import Foundation
import HTTPTypes
import HummingbirdTesting
import PostgresNIO
import TestSupport
import Testing

@Suite("Hostile input")
struct HostileInputTests {
    /// `value` as a JSON string literal, escaped by `JSONEncoder`.
    static func json(_ value: String) throws -> String { String(decoding: try JSONEncoder().encode(value), as: UTF8.self) }

    @Test("SQL, unicode and control characters in text are stored and returned verbatim")
    func hostileTextRoundTrips() async throws {
        let values = [
            "Robert'); DROP TABLE products;--",
            "$$ ; COMMIT; $tag$ \\ \\x00 %s %n",
            "Ünïcödé 🛒 e\u{301} 𝔘 \u{202E}RTL\u{202C} \u{200B}zero-width",
            "tab\tnewline\nbell\u{07}escape\u{1B}[31m",
            String(repeating: "long ", count: 20_000),
        ]
        try await TestApplication.run { app in
            for (index, value) in values.enumerated() {
                let created = try await app.request(
                    .post, "/products",
                    json: #"{"sku": "HOSTILE-\#(index)", "name": "Hostile", "description": \#(try Self.json(value)), "price": "1.00"}"#,
                    expecting: .created, decoding: ProductBody.self)
                let read = try await app.request(.get, "/products/\(created.id)", expecting: .ok, decoding: ProductBody.self)
                #expect(read.description == value, "description \(index) comes back verbatim")
            }
            let sqlName = "x'); DELETE FROM users; --"
            let user = try await app.request(
                .post, "/users", json: #"{"email": "o'brien+tag@example.com", "name": \#(try Self.json(sqlName))}"#,
                expecting: .created, decoding: UserBody.self)
            #expect(user.name == sqlName && user.email == "o'brien+tag@example.com")
            #expect(try await app.database.scalar("SELECT count(*) FROM products", as: Int.self) == values.count)
        }
    }

    @Test("text PostgreSQL cannot store, or longer than its column in code points, is a 422 naming the field")
    func unstorableTextIsRefused() async throws {
        try await TestApplication.run { app in
            let nul = try await app.request(.post, "/products", json: #"{"sku": "NUL", "name": "Nul", "description": "a\u0000b", "price": 1}"#)
            #expect(nul.status == .unprocessableContent)
            #expect(try nul.decode(ErrorBody.self).code == "invalid_input" && nul.decode(ErrorBody.self).details.field == "description")
            // 200 characters but 400 code points: VARCHAR(255) counts code points.
            let combining = String(repeating: "e\u{301}", count: 200)
            let long = try await app.request(.post, "/users", json: #"{"email": "long@example.com", "name": "\#(combining)"}"#)
            #expect(try long.status == .unprocessableContent && (try long.decode(ErrorBody.self).details.field) == "name")
            let fitting = String(repeating: "e\u{301}", count: 127)
            _ = try await app.createUser("fits@example.com", name: fitting)
            #expect(try await app.database.scalar("SELECT count(*) FROM products", as: Int.self) == 0)
            #expect(try await app.database.scalar("SELECT count(*) FROM users", as: Int.self) == 1)
        }
    }

    @Test("an Idempotency-Key that is not printable ASCII is a 422 and places nothing")
    func unprintableIdempotencyKey() async throws {
        try await TestApplication.run { app in
            let user = try await app.createUser()
            let product = try await app.createProduct("K", stock: 5)
            for key in ["caf\u{e9}", "tab\there", String(repeating: "k", count: 256)] {
                let reply = try await app.placeOrder(userId: user.id, [(product.id, 1)], idempotencyKey: key)
                #expect(reply.status == .unprocessableContent, "\(key.prefix(20))")
                #expect(try reply.decode(ErrorBody.self).details.field == "Idempotency-Key", "\(key.prefix(20))")
            }
            let printable = try await app.placeOrder(userId: user.id, [(product.id, 1)], idempotencyKey: "order-2026-11-21#1")
            #expect(printable.status == .created)
            #expect(try await app.database.scalar("SELECT count(*) FROM orders", as: Int.self) == 1)
        }
    }

    @Test("an order whose total reaches 100000000 is a 422 naming amount, and takes no stock")
    func orderTotalBeyondItsColumn() async throws {
        try await TestApplication.run { app in
            let user = try await app.createUser()
            let dear = try await app.createProduct("DEAR", price: "99999999.99", stock: 5)
            let reply = try await app.placeOrder(userId: user.id, [(dear.id, 2)])
            #expect(reply.status == .unprocessableContent)
            let body = try reply.decode(ErrorBody.self)
            #expect(body.code == "invalid_input" && body.details.field == "amount", "\(body)")
            #expect(try await app.database.scalar("SELECT stock_quantity FROM products WHERE id = \(dear.id)", as: Int.self) == 5)
            #expect(try await app.database.scalar("SELECT count(*) FROM orders", as: Int.self) == 0)
            #expect(try await app.placeOrder(userId: user.id, [(dear.id, 1)]).status == .created, "one still fits")
        }
    }

    @Test("numbers out of range are refused with a 4xx naming the field, never a 500")
    func outOfRangeNumbers() async throws {
        try await TestApplication.run { app in
            let product = try await app.request(
                .post, "/products", json: #"{"sku": "BIG", "name": "Big", "price": "1.00", "stock_quantity": 2147483000}"#,
                expecting: .created, decoding: ProductBody.self)
            let overflow = try await app.request(.post, "/products/\(product.id)/stock-adjustments", json: #"{"delta": 1000}"#)
            #expect(try overflow.status == .unprocessableContent && (try overflow.decode(ErrorBody.self).details.field) == "delta")
            let arabicDigits = try await app.request(.post, "/products", json: #"{"sku": "AR", "name": "Ar", "price": "١٢.٥٠"}"#)
            #expect(try arabicDigits.status == .badRequest && (try arabicDigits.decode(ErrorBody.self).details.field) == "price")
            let beyond64 = try await app.request(
                .post, "/orders", json: #"{"user_id": 1, "items": [{"product_id": 99999999999999999999, "quantity": 1}]}"#)
            #expect(beyond64.status == .badRequest && beyond64.errorCode == "invalid_body")
            let hugePrice = try await app.request(.post, "/products", json: #"{"sku": "H", "name": "H", "price": 1e400}"#)
            #expect((400..<500).contains(hugePrice.status.code))
            let stock = try await app.database.scalar("SELECT stock_quantity FROM products WHERE id = \(product.id)", as: Int.self)
            #expect(stock == 2_147_483_000)
        }
    }
}
