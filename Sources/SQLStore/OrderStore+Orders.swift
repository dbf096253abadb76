import Foundation
import PostgresNIO

extension OrderStore {
    /// An order with its items, in one query.
    public func order(id: Int64) async throws -> Order {
        let rows = try await rows(
            """
            SELECT o.\(unescaped: Order.columns.replacingOccurrences(of: ", ", with: ", o.")),
                   i.\(unescaped: OrderItem.columns.replacingOccurrences(of: ", ", with: ", i."))
            FROM orders o LEFT JOIN order_items i ON i.order_id = o.id
            WHERE o.id = \(id)
            ORDER BY i.product_id
            """
        ) { row in
            let cells = row.makeRandomAccess()
            return (try Order(cells: cells), try OrderItem(cells: cells, offset: Order.columnCount))
        }
        guard let first = rows.first else { throw StoreError.notFound(resource: .order, id: "\(id)") }
        return first.0.with(items: rows.compactMap(\.1))
    }

    /// Moves an order to `status` if it is still at `version` and the move is legal
    /// (pending → confirmed → shipped → delivered; pending or confirmed → cancelled), recording
    /// the change with its time. Cancelling returns the stock, exactly once however many cancels
    /// race: only the update that moves the order out of its old status restocks.
    public func transition(orderId: Int64, to status: OrderStatus, version: Int32) async throws -> Order {
        let sources = OrderStatus.sources(of: status).map(\.rawValue)
        let restock = status == .cancelled
        let updated = try await writeRow(
            """
            WITH changed AS (
                UPDATE orders o SET status = \(status.rawValue), version = o.version + 1, updated_at = now()
                FROM (SELECT id, status AS old_status FROM orders WHERE id = \(orderId) FOR UPDATE) old
                WHERE o.id = old.id AND o.version = \(version) AND o.status = ANY(\(sources))
                RETURNING o.\(unescaped: Order.columns.replacingOccurrences(of: ", ", with: ", o.")), old.old_status
            ),
            locked AS MATERIALIZED (
                -- Same lock order as order placement (ascending product id): no deadlock.
                SELECT p.id FROM products p JOIN order_items i ON i.product_id = p.id
                WHERE \(restock) AND i.order_id IN (SELECT id FROM changed)
                ORDER BY p.id FOR UPDATE OF p
            ),
            restocked AS (
                UPDATE products p
                SET stock_quantity = p.stock_quantity + i.quantity, in_stock = p.stock_quantity + i.quantity > 0,
                    version = p.version + 1, updated_at = now()
                FROM order_items i JOIN locked l ON l.id = i.product_id
                WHERE p.id = i.product_id AND i.order_id IN (SELECT id FROM changed)
            ),
            history AS (
                INSERT INTO order_status_changes (order_id, from_status, to_status, changed_at)
                SELECT id, old_status, status, updated_at FROM changed
            )
            SELECT * FROM changed
            """, decode: { try Order(row: $0) })
        if updated != nil { return try await order(id: orderId) }
        let current = try await row("SELECT status, version FROM orders WHERE id = \(orderId)") {
            try $0.decode((String, Int32).self)
        }
        guard let current else { throw StoreError.notFound(resource: .order, id: "\(orderId)") }
        guard current.1 == version else {
            throw StoreError.versionConflict(resource: .order, id: orderId, expected: version, current: current.1)
        }
        throw StoreError.illegalTransition(from: OrderStatus(rawValue: current.0) ?? .pending, to: status)
    }

    /// Every status change of an order, oldest first.
    public func statusHistory(orderId: Int64) async throws -> [OrderStatusChange] {
        try await rows(
            """
            SELECT from_status, to_status, changed_at FROM order_status_changes
            WHERE order_id = \(orderId) ORDER BY changed_at, id
            """
        ) { row in
            let (from, to, at) = try row.decode((String?, String, Date).self)
            return OrderStatusChange(
                from: from.flatMap(OrderStatus.init(rawValue:)), to: OrderStatus(rawValue: to) ?? .pending, changedAt: at)
        }
    }
}
