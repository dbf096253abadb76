import Foundation
import PostgresNIO

extension OrderStore {
    /// Creates a product; the SKU must be unique, the price exact to the cent.
    public func createProduct(
        sku: String, name: String, description: String?, price: Decimal, stockQuantity: Int
    ) async throws -> Product {
        let sku = try Validate.text(sku, field: "sku", maxLength: 100)
        let name = try Validate.text(name, field: "name", maxLength: 255)
        let description = try Validate.freeText(description, field: "description")
        let price = try Validate.price(price)
        let stock = try Validate.stock(stockQuantity)
        let product = try await writeRow(
            """
            INSERT INTO products (sku, name, description, price, stock_quantity, in_stock)
            VALUES (\(sku), \(name), \(description), \(price), \(stock), \(stock > 0))
            RETURNING \(unescaped: Product.columns)
            """, decode: Product.init(row:))
        return try product.orThrow(.conflict(reason: "the product was not created"))
    }

    public func product(id: Int64) async throws -> Product {
        try await rows(ProductStatement(id: id)).first.orThrow(.notFound(resource: .product, id: "\(id)"))
    }

    /// Products by id; `inStock` keeps those with stock, read through the partial index on
    /// `in_stock` (migrations 018–022: an index on `stock_quantity` would make every order's stock
    /// update non-HOT).
    public func products(page: Int?, pageSize: Int?, inStock: Bool = false) async throws -> OffsetPage<Product> {
        let page = try Validate.page(page)
        let size = Paging.clamp(pageSize)
        let filter = inStock ? Self.inStockFilter : ""
        let rows = try await rows(
            """
            SELECT \(unescaped: Product.columns), count(*) OVER ()
            FROM products \(unescaped: filter) ORDER BY id LIMIT \(size) OFFSET \((page - 1) * size)
            """
        ) { row in (try Product(row: row), try row.makeRandomAccess()[9].decode(Int.self)) }
        // The window count comes with any row; past the last page, count separately.
        let total = if let first = rows.first { first.1 } else { try await count("SELECT count(*) FROM products \(unescaped: filter)") }
        return OffsetPage(items: rows.map(\.0), total: total, page: page, pageSize: size)
    }

    /// The in-stock page's filter: the predicate of `idx_products_in_stock`, word for word, so the
    /// planner can use that partial index.
    static let inStockFilter = "WHERE in_stock"

    /// Changes the given fields if the product is still at `version` (optimistic locking).
    public func updateProduct(
        id: Int64, version: Int32, name: String?, description: String?, price: Decimal?, stockQuantity: Int?
    ) async throws -> Product {
        let name = try name.map { try Validate.text($0, field: "name", maxLength: 255) }
        let description = try Validate.freeText(description, field: "description")
        let price = try price.map(Validate.price)
        let stock = try stockQuantity.map { try Validate.stock($0) }
        let updated = try await writeRow(
            """
            UPDATE products
            SET name = coalesce(\(name), name), description = coalesce(\(description), description),
                price = coalesce(\(price), price), stock_quantity = coalesce(\(stock), stock_quantity),
                in_stock = coalesce(\(stock), stock_quantity) > 0,
                version = version + 1, updated_at = now()
            WHERE id = \(id) AND version = \(version)
            RETURNING \(unescaped: Product.columns)
            """, decode: Product.init(row:))
        if let updated { return updated }
        throw try await staleOrMissing(table: "products", resource: .product, id: id, expected: version)
    }

    /// Adds `delta` (which may be negative) to a product's stock without waiting: if another
    /// transaction holds the row (an order being placed), it answers ``StoreError/busy(resource:id:)``
    /// at once (`FOR UPDATE NOWAIT`) instead of queueing behind it. Never retried: not waiting
    /// is the point.
    public func adjustStock(productId: Int64, delta: Int) async throws -> Product {
        guard let delta = Int32(exactly: delta), delta != 0 else {
            throw StoreError.invalidInput(field: "delta", reason: "must be a non-zero 32-bit integer")
        }
        let columns = Product.columns.split(separator: ",").map { "p." + $0.trimmingCharacters(in: .whitespaces) }
            .joined(separator: ", ")
        let query: PostgresQuery = """
            WITH target AS (SELECT id FROM products WHERE id = \(productId) FOR UPDATE NOWAIT)
            UPDATE products p
            SET stock_quantity = p.stock_quantity + \(delta), in_stock = p.stock_quantity + \(delta) > 0,
                version = p.version + 1, updated_at = now()
            FROM target WHERE p.id = target.id
            RETURNING \(unescaped: columns)
            """
        let product: Product?
        do {
            // Not retried: NOWAIT exists to answer "busy" at once.
            product = try await withinDeadline { [self] in
                try await withConnection { connection in
                    try await committed(query, on: connection, decode: Product.init(row:)).first
                }
            }
        } catch {
            switch DatabaseFailure(error)?.sqlState {
            case "55P03": throw StoreError.busy(resource: .product, id: productId)
            case "22003": throw StoreError.invalidInput(field: "delta", reason: "would make the stock exceed \(Int32.max)")
            default: break
            }
            let classified = StoreError.classify(error)
            if case ConstraintViolation.stockBelowZero? = classified as? ConstraintViolation {
                throw StoreError.invalidInput(field: "delta", reason: "would make the stock negative")
            }
            throw classified
        }
        if let product { return product }
        throw StoreError.notFound(resource: .product, id: "\(productId)")
    }
}

/// One product by id, prepared once per connection: `GET /products/{id}` is the hottest read.
struct ProductStatement: PostgresPreparedStatement {
    static let name = "sqlstore_product_by_id"  // not PostgresNIO's default: see CommitBarrier
    static let sql = "SELECT \(Product.columns) FROM products WHERE id = $1"
    static let bindingDataTypes: [PostgresDataType] = [.int8]

    let id: Int64

    func makeBindings() throws -> PostgresBindings {
        var bindings = PostgresBindings(capacity: 1)
        bindings.append(id)
        return bindings
    }

    func decodeRow(_ row: PostgresRow) throws -> Product { try Product(row: row) }
}
