import Foundation
import HTTPTypes
import HummingbirdTesting
import PostgresNIO
import Testing
import TestSupport

/// The hand-written JSON of the response bodies (`JSONWriter`), seen from a client: escaping,
/// money and timestamps exactly as the API promised them when `JSONEncoder` wrote them. The raw
/// bytes of the bodies are the point here, so these tests read them as text or
/// `JSONSerialization` objects, not as typed bodies.
@Suite("JSON writer")
struct JSONWriterTests {
    @Test("strings: quotes, backslash, every control character, slash, emoji and U+2028 round-trip")
    func escaping() async throws {
        // Every control character but NUL, which PostgreSQL text cannot hold.
        let controls = String(String.UnicodeScalarView((1..<0x20).compactMap(Unicode.Scalar.init)))
        let text = "say \"hi\" \\ back/slash \(controls) 😀 é \u{2028}\u{2029} \u{7F} end"
        try await TestApplication.run { app in
            let created = try await app.request(
                .post, "/products",
                json: #"{"sku": "ESC", "name": "Esc \"quoted\"", "description": \#(try HostileInputTests.json(text)), "price": "1.00"}"#,
                expecting: .created, decoding: ProductBody.self)
            let read = try await app.request(.get, "/products/\(created.id)")
            let body = Data(read.body.readableBytesView)
            let object = try #require(try JSONSerialization.jsonObject(with: body) as? [String: Any])
            #expect(object["description"] as? String == text)
            #expect(object["name"] as? String == "Esc \"quoted\"")

            let raw = String(decoding: body, as: UTF8.self)
            for escape in [#"\"hi\""#, #"\\ back"#, #"\u0001"#, #"\u001f"#, #"\b"#, #"\t"#, #"\n"#, #"\f"#, #"\r"#, #"\u000b"#] {
                #expect(raw.contains(escape), "missing \(escape)")
            }
            // Not escaped: the slash, DEL, U+2028 and non-ASCII travel as plain UTF-8.
            #expect(raw.contains("back/slash") && raw.contains("😀 é \u{2028}\u{2029} \u{7F} end"))
            #expect(read.headers[.contentType] == "application/json; charset=utf-8")
        }
    }

    @Test("money: two decimals from 0 to the column's maximum, in products, orders and their lines")
    func money() async throws {
        try await TestApplication.run { app in
            let cases: [(sent: String, expected: String)] = [
                ("0", "0.00"), (#""0.1""#, "0.10"), ("12.5", "12.50"), (#""0.05""#, "0.05"), (#""99999999.99""#, "99999999.99"),
                ("7", "7.00"),
            ]
            var productIds: [Int64] = []
            for (index, (sent, expected)) in cases.enumerated() {
                let created = try await app.request(
                    .post, "/products", json: #"{"sku": "M\#(index)", "name": "M", "price": \#(sent), "stock": 10}"#,
                    expecting: .created, decoding: ProductBody.self)
                #expect(created.price == expected, "price \(sent)")
                let read = try await app.request(.get, "/products/\(created.id)", expecting: .ok, decoding: ProductBody.self)
                #expect(read.price == expected)
                productIds.append(created.id)
            }
            let page = try await app.request(.get, "/products?page_size=100", expecting: .ok, decoding: OffsetPage<ProductBody>.self)
            #expect(Set(page.items.map(\.price)) == Set(cases.map(\.expected)))

            let user = try await app.createUser("m@example.com")
            // 12.50 × 3 + 0.05 × 2 = 37.60
            let placed = try await app.placeOrder(userId: user.id, [(productIds[2], 3), (productIds[3], 2)])
            #expect(placed.status == .created)
            let order = try placed.decode(OrderBody.self)
            #expect(order.totalAmount == "37.60")
            #expect(Set(order.items?.map(\.subtotal) ?? []) == ["37.50", "0.10"])
            #expect(Set(order.items?.map(\.unitPrice) ?? []) == ["12.50", "0.05"])
            let orders = try await app.request(.get, "/users/\(user.id)/orders")
            let listed = try orders.decode(CursorPage<OrderBody>.self)
            #expect(listed.items.first?.totalAmount == "37.60" && listed.items.first?.items == nil)
            let object = try #require(try JSONSerialization.jsonObject(with: Data(orders.body.readableBytesView)) as? [String: Any])
            #expect(object["next_cursor"] is NSNull, "next_cursor is null rather than absent")
        }
    }

    @Test("timestamps: RFC 3339 UTC to the whole second, exactly as PostgreSQL prints the stored value")
    func timestamps() async throws {
        try await TestApplication.run { app in
            let id = try await app.createUser("t@example.com").id
            // Microseconds stored; the API truncates them, as `JSONEncoder`'s `.iso8601` did.
            try await app.database.execute("UPDATE users SET updated_at = '2026-11-21 20:36:34.999999+00' WHERE id = \(id)")
            let read = try await app.request(.get, "/users/\(id)", expecting: .ok, decoding: UserBody.self)
            #expect(read.updatedAt == "2026-11-21T20:36:34Z")

            let expected = try await app.database.scalar(
                "SELECT to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') FROM users WHERE id = \(id)",
                as: String.self)
            #expect(read.createdAt == expected)
            for leap in ["2024-02-29 00:00:00+00", "1999-12-31 23:59:59.5+00", "2000-03-01 00:00:00.000001+00"] {
                try await app.database.execute("UPDATE users SET updated_at = \(leap)::timestamptz WHERE id = \(id)")
                let text = try await app.database.scalar(
                    "SELECT to_char(updated_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') FROM users WHERE id = \(id)",
                    as: String.self)
                let user = try await app.request(.get, "/users/\(id)", expecting: .ok, decoding: UserBody.self)
                #expect(user.updatedAt == text, "\(leap)")
            }
        }
    }
}
