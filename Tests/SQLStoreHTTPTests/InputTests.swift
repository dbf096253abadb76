import Foundation
import PostgresNIO
import TestSupport
import Testing

@Suite("Hostile input")
struct HostileInputTests {
    @Test("SQL, unicode and control characters in text are stored and returned verbatim")
    func hostileTextRoundTrips() async throws {
        let values = [
            "Robert'); DROP TABLE products;--",
            "$$ ; COMMIT; $tag$ \\ \\x00 %s %n",
            "Ünïcödé 🛒 e\u{301} 𝔘 \u{202E}RTL\u{202C} \u{200B}zero-width",
            "tab\tnewline\nbell\u{07}escape\u{1B}[31m",
            String(repeating: "long ", count: 20_000),
        ]
        try await ServerProcess.withServer { server in
            for (index, value) in values.enumerated() {
                let created = try await server.request(
                    "POST", "/products", json: ["sku": "HOSTILE-\(index)", "name": "Hostile \(index)", "description": value, "price": "1.00"])
                #expect(created.status == 201, "description \(index)")
                let id = try #require(created.json["id"] as? Int)
                let read = try await server.request("GET", "/products/\(id)")
                #expect(read.json["description"] as? String == value, "description \(index) comes back verbatim")
            }
            let sqlName = "x'); DELETE FROM users; --"
            let user = try await server.request("POST", "/users", json: ["email": "o'brien+tag@example.com", "name": sqlName])
            #expect(user.status == 201 && user.json["name"] as? String == sqlName)
            #expect(try await server.database.scalar("SELECT count(*) FROM products", as: Int.self) == values.count)
        }
    }

    @Test("text PostgreSQL cannot store, or longer than its column in code points, is a 422 naming the field")
    func unstorableTextIsRefused() async throws {
        try await ServerProcess.withServer { server in
            let nul = try await server.request("POST", "/products", json: ["sku": "NUL", "name": "Nul", "description": "a\u{0}b", "price": 1])
            #expect(nul.status == 422 && nul.code == "invalid_input" && (nul.json["details"] as? [String: Any])?["field"] as? String == "description")
            // 200 characters but 400 code points: VARCHAR(255) counts code points.
            let combining = String(repeating: "e\u{301}", count: 200)
            let long = try await server.request("POST", "/users", json: ["email": "long@example.com", "name": combining])
            #expect(long.status == 422 && (long.json["details"] as? [String: Any])?["field"] as? String == "name")
            let fits = try await server.request("POST", "/users", json: ["email": "fits@example.com", "name": String(repeating: "e\u{301}", count: 127)])
            #expect(fits.status == 201)
            #expect(try await server.database.scalar("SELECT count(*) FROM products", as: Int.self) == 0)
            #expect(try await server.database.scalar("SELECT count(*) FROM users", as: Int.self) == 1)
        }
    }

    @Test("an Idempotency-Key that is not printable ASCII is a 422 and places nothing")
    func unprintableIdempotencyKey() async throws {
        try await ServerProcess.withServer { server in
            let user = try await server.request("POST", "/users", json: ["email": "key@example.com", "name": "Key"])
            let product = try await server.request("POST", "/products", json: ["sku": "K", "name": "K", "price": "1.00", "stock_quantity": 5])
            let order: [String: Any] = ["user_id": user.json["id"] ?? 0, "items": [["product_id": product.json["id"] ?? 0, "quantity": 1]]]
            for key in ["caf\u{e9}", "tab\there", String(repeating: "k", count: 256)] {
                let reply = try await server.request("POST", "/orders", json: order, headers: ["Idempotency-Key": key])
                #expect(reply.status == 422 && (reply.json["details"] as? [String: Any])?["field"] as? String == "Idempotency-Key", "\(key.prefix(20))")
            }
            #expect(try await server.request("POST", "/orders", json: order, headers: ["Idempotency-Key": "order-2026-11-21#1"]).status == 201)
            #expect(try await server.database.scalar("SELECT count(*) FROM orders", as: Int.self) == 1)
        }
    }

    @Test("numbers out of range are refused with a 4xx naming the field, never a 500")
    func outOfRangeNumbers() async throws {
        try await ServerProcess.withServer { server in
            let product = try await server.request("POST", "/products", json: ["sku": "BIG", "name": "Big", "price": "1.00", "stock_quantity": 2_147_483_000])
            let id = try #require(product.json["id"] as? Int)
            let overflow = try await server.request("POST", "/products/\(id)/stock-adjustments", json: ["delta": 1_000])
            #expect(overflow.status == 422 && (overflow.json["details"] as? [String: Any])?["field"] as? String == "delta")
            let arabicDigits = try await server.request("POST", "/products", json: ["sku": "AR", "name": "Ar", "price": "١٢.٥٠"])
            #expect(arabicDigits.status == 400 && (arabicDigits.json["details"] as? [String: Any])?["field"] as? String == "price")
            let beyond64 = try await server.request("POST", "/orders", raw: Data(#"{"user_id": 1, "items": [{"product_id": 99999999999999999999, "quantity": 1}]}"#.utf8))
            #expect(beyond64.status == 400 && beyond64.code == "invalid_body")
            let hugePrice = try await server.request("POST", "/products", raw: Data(#"{"sku": "H", "name": "H", "price": 1e400}"#.utf8))
            #expect((400..<500).contains(hugePrice.status))
            #expect(try await server.database.scalar("SELECT stock_quantity FROM products WHERE id = \(id)", as: Int.self) == 2_147_483_000)
        }
    }
}
