import Foundation
import PostgresNIO
@testable import SQLStore
import Testing
import TestSupport

/// Migrations 018–022: the in-stock partial index names `in_stock`, which a stock update changes
/// only when a product goes in or out of stock, so that every other stock update is HOT
/// (docs/benchmarks.md, finding 9).
@Suite("Stock index")
struct StockIndexTests {
    @Test("an order's stock update is a HOT update: no index of products names a column that placement changes")
    func placementUpdatesAreHOT() async throws {
        try await TestDatabase.withMigrated { database in
            try await database.execute(
                """
                INSERT INTO users (id, email, name) VALUES (1, 'hot@example.com', 'Hot');
                """)
            try await database.execute(
                "INSERT INTO products (id, sku, name, price, stock_quantity) VALUES (1, 'A', 'A', 1, 100), (2, 'B', 'B', 2, 100)")
            let (updated, hot) = try await database.withConnection { connection in
                try await connection.query("BEGIN", logger: TestDatabase.logger)
                for _ in 0..<3 {
                    for try await _ in try await connection.query(
                        "SELECT * FROM place_order(ARRAY[1, 2]::bigint[], ARRAY[1, 1], NULL, 1, NULL)",
                        logger: TestDatabase.logger) {}
                }
                // This transaction's own counters: no waiting for the statistics collector.
                let rows = try await connection.query(
                    """
                    SELECT pg_stat_get_xact_tuples_updated('products'::regclass)::int,
                           pg_stat_get_xact_tuples_hot_updated('products'::regclass)::int
                    """, logger: TestDatabase.logger)
                var result = (0, 0)
                for try await row in rows.decode((Int, Int).self) { result = row }
                try await connection.query("COMMIT", logger: TestDatabase.logger)
                return result
            }
            #expect(updated == 6)
            #expect(hot == 6, "\(hot) of \(updated) stock updates were HOT")
            #expect(try await database.scalar("SELECT stock_quantity FROM products WHERE id = 1", as: Int32.self) == 97)
        }
    }

    @Test("the in-stock page reads the partial index on in_stock")
    func inStockPageUsesTheIndex() async throws {
        try await TestDatabase.withMigrated { database in
            try await database.execute(
                """
                INSERT INTO products (sku, name, price, stock_quantity)
                SELECT 'SKU-' || n, 'Product ' || n, 1, n % 3 FROM generate_series(1, 1000) AS n
                """)
            try await database.execute("ANALYZE products")
            let plan = try await database.withConnection { connection in
                // Whether the index can serve the filter at all, whatever a small table's costs say.
                try await connection.query("SET enable_seqscan = off", logger: TestDatabase.logger)
                return try await connection.query(
                    PostgresQuery(unsafeSQL: "EXPLAIN SELECT id FROM products \(OrderStore.inStockFilter) ORDER BY id LIMIT 20"),
                    logger: TestDatabase.logger
                ).decode(String.self).reduce(into: [String]()) { $0.append($1) }
            }
            #expect(plan.contains { $0.contains("idx_products_in_stock") }, "plan:\n\(plan.joined(separator: "\n"))")
        }
    }

    @Test("in_stock follows the stock through every writer: orders, cancellations, adjustments, updates and plain SQL")
    func inStockFollowsTheStock() async throws {
        try await withStore { store, database in
            let (user, products) = try await store.seed(stock: [2, 0])
            let (first, empty) = (products[0], products[1])
            func inStockIDs() async throws -> Set<Int64> {
                Set(try await store.products(page: 1, pageSize: 100, inStock: true).items.map(\.id))
            }
            func consistent() async throws -> Bool {
                try await database.scalar(
                    "SELECT count(*)::int FROM products WHERE in_stock IS DISTINCT FROM (stock_quantity > 0)", as: Int.self)
                    == 0
            }
            #expect(try await inStockIDs() == [first.id])

            let sellOut = try await store.placeOrder(userId: user.id, lines: [OrderLine(productId: first.id, quantity: 2)])
            #expect(try await inStockIDs() == [])
            _ = try await store.transition(orderId: sellOut.order.id, to: .cancelled, version: sellOut.order.version)
            #expect(try await inStockIDs() == [first.id], "cancelling returned the stock")

            _ = try await store.adjustStock(productId: empty.id, delta: 5)
            #expect(try await inStockIDs() == [first.id, empty.id])
            _ = try await store.adjustStock(productId: empty.id, delta: -5)
            #expect(try await inStockIDs() == [first.id])

            let current = try await store.product(id: first.id)
            _ = try await store.updateProduct(
                id: first.id, version: current.version, name: nil, description: nil, price: nil, stockQuantity: 0)
            #expect(try await inStockIDs() == [])
            #expect(try await consistent())

            // A writer that knows nothing of in_stock (a server of the previous build, an
            // operator's SQL): the trigger keeps it, and a wrong value cannot be stored.
            try await database.execute("UPDATE products SET stock_quantity = 4 WHERE id = \(empty.id)")
            try await database.execute("UPDATE products SET in_stock = false WHERE id = \(empty.id)")
            try await database.execute(
                "INSERT INTO products (sku, name, price, stock_quantity) VALUES ('PLAIN', 'Plain', 1, 3)")
            #expect(try await inStockIDs().count == 2)
            #expect(try await consistent())
        }
    }
}
