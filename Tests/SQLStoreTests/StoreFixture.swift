import Foundation
import Logging
import PostgresNIO
import SQLStore
import SQLStoreMigrations
import TestSupport

extension RetryPolicy {
    /// For tests of behaviour under concurrency, not of time bounds: CI runs the suites in
    /// parallel on two loaded cores, where 150 concurrent orders missed the default 10 s deadline
    /// and a serialization retry the default 5 s budget. Tests of deadlines pass their own.
    static var patient: RetryPolicy {
        var retry = RetryPolicy()
        retry.deadline = .seconds(60)
        retry.budget = .seconds(45)
        return retry
    }
}

/// A fresh, migrated database with a running pool and a store on it.
func withStore<Result: Sendable>(
    maxConnections: Int = 20, warmConnections: Int = 1, retry: RetryPolicy = .patient,
    connectionMaxLifetime: Duration? = nil, maxOrderConnections: Int? = nil, lockTimeout: Duration? = nil,
    _ body: (OrderStore, TestDatabase) async throws -> Result
) async throws -> Result {
    try await TestDatabase.withMigrated { database in
        var settings = DatabaseSettings(url: database.url)
        settings.maxOpenConnections = maxConnections
        settings.maxIdleConnections = warmConnections
        settings.statementTimeout = .seconds(30)
        if let lockTimeout { settings.lockTimeout = lockTimeout }
        let client = PostgresClient(configuration: try settings.clientConfiguration(), backgroundLogger: TestDatabase.logger)
        let warmer = settings.connectionWarmer(for: client, logger: TestDatabase.logger)
        return try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await client.run() }
            group.addTask { try await warmer.run() }
            defer { group.cancelAll() }
            let store = OrderStore(
                client: client, cursorSecret: "test", retry: retry, connectionMaxLifetime: connectionMaxLifetime,
                maxOrderConnections: maxOrderConnections, logger: TestDatabase.logger)
            group.addTask { try await store.run() }
            return try await body(store, database)
        }
    }
}

extension OrderStore {
    /// A user and products with the given stock, for tests that place orders.
    func seed(stock: [Int], price: Decimal = Decimal(string: "9.99")!) async throws -> (User, [Product]) {
        let user = try await createUser(email: "buyer-\(UUID().uuidString.prefix(8))@example.com", name: "Buyer")
        var products: [Product] = []
        for (index, quantity) in stock.enumerated() {
            products.append(
                try await createProduct(
                    sku: "SKU-\(index)-\(UUID().uuidString.prefix(6))", name: "Product \(index)", description: nil,
                    price: price, stockQuantity: quantity))
        }
        return (user, products)
    }
}

/// Stock conservation, checked in SQL: for every product, initial stock equals current stock
/// plus units in orders that are not cancelled; and no stock is negative.
func stockIsConserved(_ database: TestDatabase, initial: [Int64: Int]) async throws -> Bool {
    let rows = try await database.withConnection { connection in
        try await connection.query(
            """
            SELECT p.id, p.stock_quantity, coalesce(sum(i.quantity) FILTER (WHERE o.status <> 'cancelled'), 0)::int
            FROM products p
            LEFT JOIN order_items i ON i.product_id = p.id
            LEFT JOIN orders o ON o.id = i.order_id
            GROUP BY p.id
            """, logger: TestDatabase.logger
        ).decode((Int64, Int32, Int32).self).reduce(into: [(Int64, Int32, Int32)]()) { $0.append($1) }
    }
    return rows.allSatisfy { id, stock, sold in
        stock >= 0 && Int(stock) + Int(sold) == initial[id]
    }
}
