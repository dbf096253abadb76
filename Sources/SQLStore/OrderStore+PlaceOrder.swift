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
    /// the complete order — in **one statement**, atomic on its own, followed by the commit
    /// barrier of ``write(_:decode:)`` (two round trips in all).
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
            let rows = try await write(statement)
            if let first = rows.first {
                StoreMetrics.orderPlaced()
                return PlacedOrder(order: first.0.with(items: rows.compactMap(\.1)), created: true)
            }
        } catch StoreError.duplicate(field: "idempotency_key") {
            // A concurrent request with this key committed first: answer with its order.
            guard let key, let requestHash, let replayed = try await replay(key: key, requestHash: requestHash) else {
                throw StoreError.conflict(reason: "the order was not placed; retry")
            }
            return replayed
        } catch let error as StoreError {
            throw try await explain(error, userId: userId, lines: merged)
        }
        // Nothing was placed: the key was used before, or no requested product exists (so no
        // stock was taken and no foreign key was reached).
        if let key, let requestHash, let replayed = try await replay(key: key, requestHash: requestHash) {
            return replayed
        }
        throw try await explain(.notFound(resource: "product", id: ""), userId: userId, lines: merged)
    }

    /// Replaces a classified failure of the placement statement with one that names the culprit.
    private func explain(_ error: StoreError, userId: Int64, lines: [OrderLine]) async throws -> StoreError {
        switch error {
        case .invalidInput(field: "stock_quantity", _):
            return .insufficientStock(try await shortages(lines))
        case .notFound(resource: "user", _):
            return .notFound(resource: "user", id: "\(userId)")
        case .notFound(resource: "product", _):
            let ids = lines.map(\.productId)
            let found = Set(try await rows("SELECT id FROM products WHERE id = ANY(\(ids))") { try $0.decode(Int64.self) })
            let missing = ids.filter { !found.contains($0) }.map(String.init).joined(separator: ", ")
            return .notFound(resource: "product", id: missing)
        default:
            return error
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
            return (try Order(cells: cells), try OrderItem(cells: cells, offset: 9), try cells[16].decode(String.self))
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

/// The placement statement, prepared once per connection: PostgreSQL parses and plans its CTEs
/// once instead of on every order (they cost more than executing it). Binds: `$1` product ids
/// and `$2` quantities of the merged lines, `$3` the idempotency key or NULL, `$4` the user,
/// `$5` the request hash or NULL. How it never oversells and never deadlocks: see
/// ``OrderStore/placeOrder(userId:lines:idempotencyKey:)`` and docs/store.md.
struct PlaceOrderStatement: PostgresPreparedStatement {
    static let sql = """
        WITH request AS (
            SELECT product_id, quantity FROM unnest($1::bigint[], $2::int[]) AS r(product_id, quantity)
        ),
        locked AS MATERIALIZED (
            SELECT p.id, p.price FROM products p
            WHERE p.id = ANY($1::bigint[])
            ORDER BY p.id
            FOR UPDATE
        ),
        taken AS (
            UPDATE products p
            SET stock_quantity = p.stock_quantity - r.quantity, version = p.version + 1, updated_at = now()
            FROM request r JOIN locked l ON l.id = r.product_id
            -- ANY($1) again, for the generic plan: estimating ten rows from the array, it would
            -- otherwise scan all of a small catalogue (dead row versions too) and hash-join it.
            WHERE p.id = r.product_id AND p.id = ANY($1::bigint[])
              AND NOT EXISTS (SELECT 1 FROM idempotency_keys WHERE key = $3)
            RETURNING p.id, l.price, r.quantity
        ),
        placed AS (
            INSERT INTO orders (user_id, order_number, status, total_amount, organization_id)
            SELECT $4, 'SO-' || lpad(n::text, greatest(8, length(n::text)), '0'), 'pending',
                   (SELECT sum(price * quantity) FROM taken),
                   (SELECT active_org_id FROM users WHERE id = $4)
            FROM (SELECT nextval('order_number_seq') AS n) AS number
            WHERE EXISTS (SELECT 1 FROM taken)
            RETURNING \(Order.columns)
        ),
        items AS (
            -- From the request, not from what was taken: a product that does not exist has no
            -- price (0 here) and fails order_items_product_id_fkey, aborting the statement.
            INSERT INTO order_items (order_id, product_id, quantity, unit_price, subtotal)
            SELECT placed.id, r.product_id, r.quantity, coalesce(t.price, 0), coalesce(t.price, 0) * r.quantity
            FROM placed CROSS JOIN request r LEFT JOIN taken t ON t.id = r.product_id
            RETURNING \(OrderItem.columns)
        ),
        history AS (
            INSERT INTO order_status_changes (order_id, from_status, to_status, changed_at)
            SELECT id, NULL, 'pending', created_at FROM placed
        ),
        keyed AS (
            INSERT INTO idempotency_keys (key, request_hash, order_id)
            SELECT $3, $5, id FROM placed WHERE $3 IS NOT NULL
        )
        SELECT placed.*, items.*
        FROM placed JOIN items ON items.order_id = placed.id
        ORDER BY items.product_id
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
        return (try Order(cells: cells), try OrderItem(cells: cells, offset: 9))
    }
}

/// The result of placing an order: the order, and whether this call created it (false when an
/// idempotency key returned an earlier order).
public struct PlacedOrder: Sendable {
    public let order: Order
    public let created: Bool
}
