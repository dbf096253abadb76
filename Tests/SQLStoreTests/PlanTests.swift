import PostgresNIO
@testable import SQLStore
import Testing
import TestSupport

@Suite("Query plans")
struct PlanTests {
    @Test("the prepared placement statement's generic plan reaches products by primary key, never by scanning them all")
    func placementUsesTheProductKey() async throws {
        try await TestDatabase.withMigrated { database in
            try await database.execute(
                """
                -- A small catalogue, like the benchmark's: where scanning it all looks cheap to the planner.
                INSERT INTO products (sku, name, price, stock_quantity)
                SELECT 'SKU-' || n, 'Product ' || n, 1, 1000 FROM generate_series(1, 1000) AS n
                """)
            try await database.execute("ANALYZE products")
            let plan = try await database.withConnection { connection in
                // A prepared statement runs on a generic plan after five executions; force it now.
                try await connection.query("SET plan_cache_mode = force_generic_plan", logger: TestDatabase.logger)
                try await connection.query(
                    PostgresQuery(unsafeSQL: "PREPARE place(bigint[], int[], text, bigint, text) AS \(PlaceOrderStatement.sql)"),
                    logger: TestDatabase.logger)
                return try await connection.query(
                    "EXPLAIN EXECUTE place(ARRAY[1, 2]::bigint[], ARRAY[1, 1], NULL, 1, NULL)", logger: TestDatabase.logger
                ).decode(String.self).reduce(into: [String]()) { $0.append($1) }
            }
            #expect(!plan.isEmpty)
            #expect(!plan.contains { $0.contains("Seq Scan on products") }, "plan:\n\(plan.joined(separator: "\n"))")
        }
    }
}
