import Foundation
import PostgresNIO

extension OrderStore {
    /// A user's orders, newest first, by keyset: `(created_at, id) < cursor` on the index
    /// `(user_id, created_at DESC, id DESC)`, so page 10,000 costs what page 1 does and rows
    /// inserted meanwhile neither repeat nor skip entries. Orders are listed without items.
    public func orders(userId: Int64, limit: Int?, cursor: String?) async throws -> CursorPage<Order> {
        try await orderPage(column: "user_id", owner: userId, ownerResource: .user, limit: limit, cursor: cursor)
    }

    /// The orders attributed to an organization, newest first, by keyset (see ``orders(userId:limit:cursor:)``).
    public func orders(organizationId: Int64, limit: Int?, cursor: String?) async throws -> CursorPage<Order> {
        try await orderPage(
            column: "organization_id", owner: organizationId, ownerResource: .organization, limit: limit, cursor: cursor)
    }

    private func orderPage(
        column: String, owner: Int64, ownerResource: StoreError.Resource, limit: Int?, cursor: String?
    ) async throws -> CursorPage<Order> {
        let size = Paging.clamp(limit)
        let scope = "orders:\(column)=\(owner)"
        let after = try cursor.map { try PageCursor(decoding: $0, scope: scope, key: cursorKey) }
        // One more row than the page, to know whether another page follows. Prepared once per
        // connection: a page is read far more often than anything but a product.
        let rows: [(Order, Int64)]
        switch (column, after) {
        case ("user_id", nil):
            rows = try await self.rows(UserOrdersFirstPage(owner: owner, limit: size + 1))
        case ("user_id", let after?):
            rows = try await self.rows(
                UserOrdersAfter(owner: owner, createdAtMicros: after.createdAtMicros, id: after.id, limit: size + 1))
        case (_, nil):
            rows = try await self.rows(OrganizationOrdersFirstPage(owner: owner, limit: size + 1))
        case (_, let after?):
            rows = try await self.rows(
                OrganizationOrdersAfter(owner: owner, createdAtMicros: after.createdAtMicros, id: after.id, limit: size + 1))
        }
        if rows.isEmpty && after == nil {
            let table = column == "user_id" ? "users" : "organizations"
            let exists = try await row("SELECT 1 FROM \(unescaped: table) WHERE id = \(owner)") { _ in true } ?? false
            if !exists { throw StoreError.notFound(resource: ownerResource, id: "\(owner)") }
        }
        let page = rows.prefix(size)
        let next = rows.count > size ? page.last.map {
            PageCursor(createdAtMicros: $0.1, id: $0.0.id).encode(scope: scope, key: cursorKey)
        } : nil
        return CursorPage(items: page.map(\.0), nextCursor: next)
    }
}

/// A page of orders, newest first, with each order's `created_at` in microseconds for the cursor.
protocol OrderPageStatement: PostgresPreparedStatement where Row == (Order, Int64) {}

extension OrderPageStatement {
    /// `column` = `$1`; after the cursor `($2 µs since the epoch, $3)` if `after`; `$2` or `$4` rows.
    static func pageSQL(column: String, after: Bool) -> String {
        """
        SELECT \(Order.columns), (extract(epoch FROM created_at) * 1000000)::bigint
        FROM orders
        WHERE \(column) = $1\(after ? " AND (created_at, id) < (timestamptz 'epoch' + $2 * interval '1 microsecond', $3)" : "")
        ORDER BY created_at DESC, id DESC LIMIT \(after ? "$4" : "$2")
        """
    }

    func decodeRow(_ row: PostgresRow) throws -> (Order, Int64) {
        let cells = row.makeRandomAccess()
        return (try Order(cells: cells), try cells[Order.columnCount].decode(Int64.self))
    }
}

/// The first page of a user's orders.
struct UserOrdersFirstPage: OrderPageStatement {
    static let name = "sqlstore_user_orders_first"
    static let sql = pageSQL(column: "user_id", after: false)
    static let bindingDataTypes: [PostgresDataType] = [.int8, .int8]
    let owner: Int64
    let limit: Int

    func makeBindings() throws -> PostgresBindings {
        var bindings = PostgresBindings(capacity: 2)
        bindings.append(owner)
        bindings.append(Int64(limit))
        return bindings
    }
}

/// A user's orders after a cursor.
struct UserOrdersAfter: OrderPageStatement {
    static let name = "sqlstore_user_orders_after"
    static let sql = pageSQL(column: "user_id", after: true)
    static let bindingDataTypes: [PostgresDataType] = [.int8, .int8, .int8, .int8]
    let owner: Int64
    let createdAtMicros: Int64
    let id: Int64
    let limit: Int

    func makeBindings() throws -> PostgresBindings {
        var bindings = PostgresBindings(capacity: 4)
        bindings.append(owner)
        bindings.append(createdAtMicros)
        bindings.append(id)
        bindings.append(Int64(limit))
        return bindings
    }
}

/// The first page of an organization's orders.
struct OrganizationOrdersFirstPage: OrderPageStatement {
    static let name = "sqlstore_organization_orders_first"
    static let sql = pageSQL(column: "organization_id", after: false)
    static let bindingDataTypes: [PostgresDataType] = [.int8, .int8]
    let owner: Int64
    let limit: Int

    func makeBindings() throws -> PostgresBindings {
        var bindings = PostgresBindings(capacity: 2)
        bindings.append(owner)
        bindings.append(Int64(limit))
        return bindings
    }
}

/// An organization's orders after a cursor.
struct OrganizationOrdersAfter: OrderPageStatement {
    static let name = "sqlstore_organization_orders_after"
    static let sql = pageSQL(column: "organization_id", after: true)
    static let bindingDataTypes: [PostgresDataType] = [.int8, .int8, .int8, .int8]
    let owner: Int64
    let createdAtMicros: Int64
    let id: Int64
    let limit: Int

    func makeBindings() throws -> PostgresBindings {
        var bindings = PostgresBindings(capacity: 4)
        bindings.append(owner)
        bindings.append(createdAtMicros)
        bindings.append(id)
        bindings.append(Int64(limit))
        return bindings
    }
}
