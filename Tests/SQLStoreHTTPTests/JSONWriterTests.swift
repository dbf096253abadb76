import Foundation
import PostgresNIO
import Testing
import TestSupport

/// The hand-written JSON of the response bodies (`JSONWriter`), seen from a client: escaping,
/// money and timestamps exactly as the API promised them when `JSONEncoder` wrote them.
/// Over HTTP, since this target runs the `sqlstore` binary rather than linking SQLStoreHTTP.
@Suite("JSON writer")
struct JSONWriterTests {
    @Test("strings: quotes, backslash, every control character, slash, emoji and U+2028 round-trip")
    func escaping() async throws {
        // Every control character but NUL, which PostgreSQL text cannot hold.
        let controls = String(String.UnicodeScalarView((1..<0x20).compactMap(Unicode.Scalar.init)))
        let text = "say \"hi\" \\ back/slash \(controls) 😀 é \u{2028}\u{2029} \u{7F} end"
        try await ServerProcess.withServer { server in
            let created = try await server.request(
                "POST", "/products", json: ["sku": "ESC", "name": "Esc \"quoted\"", "description": text, "price": "1.00"])
            #expect(created.status == 201)
            let id = try #require(created.json["id"] as? Int)
            let read = try await server.request("GET", "/products/\(id)")
            let object = try #require(try JSONSerialization.jsonObject(with: read.body) as? [String: Any])
            #expect(object["description"] as? String == text)
            #expect(object["name"] as? String == "Esc \"quoted\"")

            let raw = String(decoding: read.body, as: UTF8.self)
            for escape in [#"\"hi\""#, #"\\ back"#, #"\u0001"#, #"\u001f"#, #"\b"#, #"\t"#, #"\n"#, #"\f"#, #"\r"#, #"\u000b"#] {
                #expect(raw.contains(escape), "missing \(escape)")
            }
            // Not escaped: the slash, DEL, U+2028 and non-ASCII travel as plain UTF-8.
            #expect(raw.contains("back/slash") && raw.contains("😀 é \u{2028}\u{2029} \u{7F} end"))
            #expect(read.header("Content-Type") == "application/json; charset=utf-8")
        }
    }

    @Test("money: two decimals from 0 to the column's maximum, in products, orders and their lines")
    func money() async throws {
        try await ServerProcess.withServer { server in
            let cases: [(sent: Any, expected: String)] = [
                (0, "0.00"), ("0.1", "0.10"), (12.5, "12.50"), ("0.05", "0.05"), ("99999999.99", "99999999.99"), (7, "7.00"),
            ]
            var productIds: [Int] = []
            for (index, (sent, expected)) in cases.enumerated() {
                let created = try await server.request(
                    "POST", "/products", json: ["sku": "M\(index)", "name": "M", "price": sent, "stock": 10])
                #expect(created.json["price"] as? String == expected, "price \(sent)")
                let id = try #require(created.json["id"] as? Int)
                #expect(try await server.request("GET", "/products/\(id)").json["price"] as? String == expected)
                productIds.append(id)
            }
            let page = try await server.request("GET", "/products?page_size=100")
            let prices = (page.json["items"] as? [[String: Any]])?.compactMap { $0["price"] as? String }
            #expect(Set(prices ?? []) == Set(cases.map(\.expected)))

            let user = try await server.request("POST", "/users", json: ["email": "m@example.com", "name": "M"])
            let userId = try #require(user.json["id"] as? Int)
            // 12.50 × 3 + 0.05 × 2 = 37.60
            let order = try await server.request(
                "POST", "/orders",
                json: ["user_id": userId, "items": [["product_id": productIds[2], "quantity": 3], ["product_id": productIds[3], "quantity": 2]]])
            #expect(order.status == 201 && order.json["total_amount"] as? String == "37.60")
            let lines = (order.json["items"] as? [[String: Any]]) ?? []
            let subtotals = Set(lines.compactMap { $0["subtotal"] as? String })
            let unitPrices = Set(lines.compactMap { $0["unit_price"] as? String })
            #expect(subtotals == ["37.50", "0.10"] && unitPrices == ["12.50", "0.05"])
            let orders = try await server.request("GET", "/users/\(userId)/orders")
            let listed = try #require((orders.json["items"] as? [[String: Any]])?.first)
            #expect(listed["total_amount"] as? String == "37.60" && listed["items"] == nil)
            #expect(orders.json.keys.contains("next_cursor") && orders.json["next_cursor"] is NSNull)
        }
    }

    @Test("timestamps: RFC 3339 UTC to the whole second, exactly as PostgreSQL prints the stored value")
    func timestamps() async throws {
        try await ServerProcess.withServer { server in
            let created = try await server.request("POST", "/users", json: ["email": "t@example.com", "name": "T"])
            let id = try #require(created.json["id"] as? Int)
            // Microseconds stored; the API truncates them, as `JSONEncoder`'s `.iso8601` did.
            try await server.database.execute("UPDATE users SET updated_at = '2026-11-21 20:36:34.999999+00' WHERE id = \(id)")
            let read = try await server.request("GET", "/users/\(id)")
            #expect(read.json["updated_at"] as? String == "2026-11-21T20:36:34Z")

            let expected = try await server.database.scalar(
                "SELECT to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') FROM users WHERE id = \(id)",
                as: String.self)
            #expect(read.json["created_at"] as? String == expected)
            for leap in ["2024-02-29 00:00:00+00", "1999-12-31 23:59:59.5+00", "2000-03-01 00:00:00.000001+00"] {
                try await server.database.execute("UPDATE users SET updated_at = \(leap)::timestamptz WHERE id = \(id)")
                let text = try await server.database.scalar(
                    "SELECT to_char(updated_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') FROM users WHERE id = \(id)",
                    as: String.self)
                #expect(try await server.request("GET", "/users/\(id)").json["updated_at"] as? String == text, "\(leap)")
            }
        }
    }
}
