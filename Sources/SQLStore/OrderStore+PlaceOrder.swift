import Crypto
import Foundation
import PostgresNIO

/// One line of an order request.
public struct OrderLine: Sendable, Hashable {
    public let productId: Int64
    public let quantity: Int

    public init(productId: Int64, quantity: Int) {
        self.productId = productId
        self.quantity = quantity
    }
}

extension OrderStore {
    /// The most units of one product in one order, and the most lines: larger requests are
    /// mistakes or abuse, and are refused before they take any lock.
    public static let maxQuantityPerLine = 10_000
    public static let maxLinesPerOrder = 100

    /// Places an order: validates the user and every product, takes the stock, prices every line
    /// from the database, writes the order, its items and its first status change, and returns
    /// the complete order — in **one statement** (the `place_order` function of migration 016),
    /// atomic on its own, followed by the commit barrier of ``write(_:decode:)`` (two round trips
    /// in all).
    ///
    /// How it never oversells and never deadlocks:
    /// - `locked` takes the product rows `FOR UPDATE` in ascending id order. Every order takes
    ///   its locks in that same order, so concurrent orders queue but cannot deadlock.
    /// - `taken` subtracts the stock; `CHECK (stock_quantity >= 0)` makes an oversell impossible:
    ///   it aborts the whole statement (23514), and nothing of the order remains.
    /// - A missing user or product fails the foreign keys of `orders` / `order_items` (23503),
    ///   again aborting everything. Only on these failure paths does a second query run, to
    ///   name what was missing or short.
    ///
    /// With an idempotency key, the key row is written in the same statement: a replay finds the
    /// key and does nothing (then the original order is read back), and a concurrent duplicate
    /// fails on the key's primary key and rolls back whole. Either way: one order, one decrement.
    public func placeOrder(userId: Int64, lines: [OrderLine], idempotencyKey: String? = nil) async throws -> PlacedOrder {
        let merged = try Self.merge(lines)
        let key = try idempotencyKey.map(Validate.idempotencyKey)
        let requestHash = key.map { _ in Self.requestHash(userId: userId, lines: merged) }

        let statement = PlaceOrderStatement(
            productIds: merged.map(\.productId), quantities: merged.map { Int32($0.quantity) }, key: key, userId: userId,
            requestHash: requestHash)
        do {
            // Admitted a few at a time: orders for the same products queue here, in arrival
            // order, rather than in PostgreSQL's lock queues, where each waiter holds a
            // connection and the locks of its earlier lines (docs/benchmarks.md, finding 16).
            let rows = try await write(statement, admittedBy: placements)
            if let first = rows.first {
                StoreMetrics.orderPlaced()
                return PlacedOrder(order: first.0.with(items: rows.compactMap(\.1)), created: true)
            }
        } catch StoreError.duplicate(.idempotencyKey) {
            // A concurrent request with this key committed first: answer with its order.
            guard let key, let requestHash, let replayed = try await replay(key: key, requestHash: requestHash) else {
                throw StoreError.conflict(reason: "the order was not placed; retry")
            }
            return replayed
        } catch let violation as ConstraintViolation {
            throw try await explain(violation, userId: userId, lines: merged)
        }
        // Nothing was placed: the key was used before, or no requested product exists (so no
        // stock was taken and no foreign key was reached).
        if let key, let requestHash, let replayed = try await replay(key: key, requestHash: requestHash) {
            return replayed
        }
        throw try await explain(.missingReference(.product), userId: userId, lines: merged)
    }

    /// Replaces a classified failure of the placement statement with one that names the culprit.
    private func explain(
        _ violation: ConstraintViolation, userId: Int64, lines: [OrderLine]
    ) async throws -> any Error {
        switch violation {
        case .stockBelowZero:
            return StoreError.insufficientStock(try await shortages(lines))
        case .missingReference(.user):
            return StoreError.notFound(resource: .user, id: "\(userId)")
        case .missingReference(.product):
            let ids = lines.map(\.productId)
            let found = Set(try await rows("SELECT id FROM products WHERE id = ANY(\(ids))") { try $0.decode(Int64.self) })
            let missing = ids.filter { !found.contains($0) }.map(String.init).joined(separator: ", ")
            return StoreError.notFound(resource: .product, id: missing)
        case .missingReference, .notAMember:
            // Placement references no organization row and calls no membership check: a bug.
            return violation
        }
    }

    /// Stock that was short, read after the failed placement (for the error message only).
    private func shortages(_ lines: [OrderLine]) async throws -> [StockShortage] {
        let stock = Dictionary(
            uniqueKeysWithValues: try await rows(
                "SELECT id, stock_quantity FROM products WHERE id = ANY(\(lines.map(\.productId)))"
            ) { try $0.decode((Int64, Int32).self) })
        return lines.compactMap { line in
            let available = Int(stock[line.productId] ?? 0)
            return available < line.quantity
                ? StockShortage(productId: line.productId, requested: line.quantity, available: available) : nil
        }
    }

    /// The order an idempotency key created, if the request matches the one it was created by;
    /// nil when the key is unknown. One round trip: the key, the order and its items together.
    private func replay(key: String, requestHash: String) async throws -> PlacedOrder? {
        let rows = try await rows(
            """
            SELECT o.\(unescaped: Order.columns.replacingOccurrences(of: ", ", with: ", o.")),
                   i.\(unescaped: OrderItem.columns.replacingOccurrences(of: ", ", with: ", i.")),
                   k.request_hash
            FROM idempotency_keys k
            JOIN orders o ON o.id = k.order_id
            LEFT JOIN order_items i ON i.order_id = o.id
            WHERE k.key = \(key)
            ORDER BY i.product_id
            """
        ) { row in
            let cells = row.makeRandomAccess()
            let requestHash = try cells[Order.columnCount + OrderItem.columnCount].decode(String.self)
            return (try Order(cells: cells), try OrderItem(cells: cells, offset: Order.columnCount), requestHash)
        }
        guard let first = rows.first else { return nil }
        guard first.2 == requestHash else { throw StoreError.idempotencyKeyReused(key: key) }
        StoreMetrics.idempotentReplay()
        return PlacedOrder(order: first.0.with(items: rows.compactMap(\.1)), created: false)
    }

    /// Merges lines of the same product and orders them by product id; refuses empty orders,
    /// non-positive and absurd quantities.
    static func merge(_ lines: [OrderLine]) throws -> [OrderLine] {
        guard !lines.isEmpty else { throw StoreError.invalidInput(field: "items", reason: "an order needs at least one item") }
        guard lines.count <= maxLinesPerOrder else {
            throw StoreError.invalidInput(field: "items", reason: "an order has at most \(maxLinesPerOrder) lines")
        }
        var quantities: [Int64: Int] = [:]
        for line in lines {
            guard line.productId > 0 else { throw StoreError.invalidInput(field: "product_id", reason: "must be a positive id") }
            guard line.quantity > 0 else { throw StoreError.invalidInput(field: "quantity", reason: "must be at least 1") }
            guard line.quantity <= maxQuantityPerLine else {
                throw StoreError.invalidInput(field: "quantity", reason: "must be at most \(maxQuantityPerLine)")
            }
            quantities[line.productId, default: 0] += line.quantity
        }
        return try quantities.sorted { $0.key < $1.key }.map { productId, quantity in
            guard quantity <= maxQuantityPerLine else {
                throw StoreError.invalidInput(field: "quantity", reason: "must be at most \(maxQuantityPerLine) per product")
            }
            return OrderLine(productId: productId, quantity: quantity)
        }
    }

    /// SHA-256 of the request after merging, so that the same order written differently
    /// (lines split or reordered) is recognised as the same request.
    static func requestHash(userId: Int64, lines: [OrderLine]) -> String {
        let canonical = "\(userId)|" + lines.map { "\($0.productId)x\($0.quantity)" }.joined(separator: ",")
        return SHA256.hash(data: Data(canonical.utf8)).map { String(format: "%02x", $0) }.joined()
    }
}

/// The placement statement: a call of `place_order`, the function of migration 016 that holds
/// the one statement placing an order (its CTEs, their locks and why, are told there and in
/// docs/store.md). Its plan is cached by the server session that runs it, so placement stays
/// fast behind a transaction pooler, where nothing can be prepared by name; talking to
/// PostgreSQL directly, the call itself is prepared once per connection too. Binds: `$1` product
/// ids and `$2` quantities of the merged lines, `$3` the idempotency key or NULL, `$4` the user,
/// `$5` the request hash or NULL.
struct PlaceOrderStatement: PostgresPreparedStatement {
    static let name = "sqlstore_place_order"  // not PostgresNIO's default: see CommitBarrier
    static let sql = """
        SELECT * FROM place_order($1::bigint[], $2::int[], $3::text, $4::bigint, $5::text)
        """
    static let bindingDataTypes: [PostgresDataType] = [.int8Array, .int4Array, .text, .int8, .text]

    let productIds: [Int64]
    let quantities: [Int32]
    let key: String?
    let userId: Int64
    let requestHash: String?

    func makeBindings() throws -> PostgresBindings {
        var bindings = PostgresBindings(capacity: 5)
        bindings.append(productIds)
        bindings.append(quantities)
        bindings.append(key)
        bindings.append(userId)
        bindings.append(requestHash)
        return bindings
    }

    func decodeRow(_ row: PostgresRow) throws -> (Order, OrderItem?) {
        let cells = row.makeRandomAccess()
        return (try Order(cells: cells), try OrderItem(cells: cells, offset: Order.columnCount))
    }
}

/// The result of placing an order: the order, and whether this call created it (false when an
/// idempotency key returned an earlier order).
public struct PlacedOrder: Sendable {
    public let order: Order
    public let created: Bool
}
