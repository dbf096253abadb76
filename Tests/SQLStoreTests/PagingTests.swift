import Foundation
import PostgresNIO
import SQLStore
import Testing
import TestSupport

@Suite("Pages")
struct PagingTests {
    @Test("a cursor walk under concurrent inserts sees every earlier order once, newest first, with no gaps")
    func cursorWalkUnderInserts() async throws {
        try await withStore { store, database in
            let (user, _) = try await store.seed(stock: [])
            // Many orders share a created_at to the microsecond: the id breaks the ties.
            try await database.execute(
                """
                INSERT INTO orders (user_id, order_number, total_amount, created_at)
                SELECT \(user.id), 'P-' || g, 0, timestamptz '2026-01-01' + (g / 3) * interval '1 microsecond'
                FROM generate_series(1, 300) g
                """)
            let original = Set(try await database.withConnection { connection in
                try await connection.query("SELECT id FROM orders", logger: TestDatabase.logger)
                    .decode(Int64.self).reduce(into: [Int64]()) { $0.append($1) }
            })
            let inserter = Task {
                for index in 0..<60 {
                    try await database.execute(
                        "INSERT INTO orders (user_id, order_number, total_amount) VALUES (\(user.id), \("N-\(index)"), 0)")
                }
            }
            var seen: [Order] = []
            var cursor: String?
            repeat {
                let page = try await store.orders(userId: user.id, limit: 25, cursor: cursor)
                seen += page.items
                cursor = page.nextCursor
            } while cursor != nil
            try await inserter.value
            let ids = seen.map(\.id)
            #expect(Set(ids).count == ids.count, "no duplicates")
            #expect(original.isSubset(of: Set(ids)), "no gaps")
            let ordered = zip(seen, seen.dropFirst()).allSatisfy {
                ($0.createdAt, $0.id) > ($1.createdAt, $1.id) || ($0.createdAt == $1.createdAt && $0.id > $1.id)
            }
            #expect(ordered)
        }
    }

    @Test("malformed, tampered and foreign cursors are refused")
    func badCursors() async throws {
        try await withStore { store, database in
            let (user, _) = try await store.seed(stock: [])
            let other = try await store.createUser(email: "other@example.com", name: "Other")
            try await database.execute(
                "INSERT INTO orders (user_id, order_number, total_amount) SELECT \(user.id), 'C-' || g, 0 FROM generate_series(1, 5) g")
            let cursor = try #require(try await store.orders(userId: user.id, limit: 2, cursor: nil).nextCursor)
            var tampered = Array(cursor)
            tampered[3] = tampered[3] == "A" ? "B" : "A"
            // The last of the 43 characters carries 2 unused bits: flipping one decodes to the
            // same bytes, and must be refused all the same.
            let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
            let last = try #require(cursor.last.flatMap { alphabet.firstIndex(of: $0) })
            let sameBytes = String(cursor.dropLast()) + String(alphabet[last ^ 1])
            for bad in ["", "not a cursor!", "AAAA", String(tampered), cursor + "A", sameBytes] {
                await #expect(throws: StoreError.self) { try await store.orders(userId: user.id, limit: 2, cursor: bad) }
            }
            await #expect(throws: StoreError.self) { try await store.orders(userId: other.id, limit: 2, cursor: cursor) }
            #expect(try await store.orders(userId: user.id, limit: 2, cursor: cursor).items.count == 2)
        }
    }

    @Test("an unknown user's orders are not found; a known user's empty list is an empty page")
    func unknownOwner() async throws {
        try await withStore { store, _ in
            await #expect(throws: StoreError.notFound(resource: .user, id: "123456")) {
                try await store.orders(userId: 123_456, limit: nil, cursor: nil)
            }
            let user = try await store.createUser(email: "empty@example.com", name: "Empty")
            let page = try await store.orders(userId: user.id, limit: nil, cursor: nil)
            #expect(page.items.isEmpty && !page.hasMore)
        }
    }

    @Test("offset pages report total and total_pages, clamp the page size, and filter in-stock products")
    func offsetPages() async throws {
        try await withStore { store, _ in
            _ = try await store.seed(stock: [0, 3, 0, 7, 1])
            let all = try await store.products(page: 1, pageSize: 2)
            #expect(all.total == 5 && all.totalPages == 3 && all.items.count == 2)
            let inStock = try await store.products(page: 2, pageSize: 2, inStock: true)
            #expect(inStock.total == 3 && inStock.items.count == 1 && inStock.items[0].stockQuantity > 0)
            let beyond = try await store.products(page: 9, pageSize: 2)
            #expect(beyond.items.isEmpty && beyond.total == 5)
            #expect(try await store.users(page: 1, pageSize: 1000).pageSize == 100)
            await #expect(throws: StoreError.self) { try await store.users(page: 0, pageSize: 10) }
        }
    }
}
