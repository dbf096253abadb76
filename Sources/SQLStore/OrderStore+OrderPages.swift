import Foundation
import PostgresNIO

extension OrderStore {
    /// A user's orders, newest first, by keyset: `(created_at, id) < cursor` on the index
    /// `(user_id, created_at DESC, id DESC)`, so page 10,000 costs what page 1 does and rows
    /// inserted meanwhile neither repeat nor skip entries. Orders are listed without items.
    public func orders(userId: Int64, limit: Int?, cursor: String?) async throws -> CursorPage<Order> {
        try await orderPage(of: UserOrders.self, owner: userId, limit: limit, cursor: cursor)
    }

    /// The orders attributed to an organization, newest first, by keyset (see ``orders(userId:limit:cursor:)``).
    public func orders(organizationId: Int64, limit: Int?, cursor: String?) async throws -> CursorPage<Order> {
        try await orderPage(of: OrganizationOrders.self, owner: organizationId, limit: limit, cursor: cursor)
    }

    private func orderPage<Owner: OrderPageOwner>(
        of _: Owner.Type, owner: Int64, limit: Int?, cursor: String?
    ) async throws -> CursorPage<Order> {
        let size = Paging.clamp(limit)
        let scope = "orders:\(Owner.column)=\(owner)"
        let after = try cursor.map { try PageCursor(decoding: $0, scope: scope, key: cursorKey) }
        // One more row than the page, to know whether another page follows. Prepared once per
        // connection: a page is read far more often than anything but a product.
        let rows: [(Order, Int64)]
        if let after {
            rows = try await self.rows(
                OrderPageAfter<Owner>(owner: owner, createdAtMicros: after.createdAtMicros, id: after.id, limit: size + 1))
        } else {
            rows = try await self.rows(FirstOrderPage<Owner>(owner: owner, limit: size + 1))
        }
        if rows.isEmpty && after == nil {
            let exists = try await row("SELECT 1 FROM \(unescaped: Owner.table) WHERE id = \(owner)") { _ in true } ?? false
            if !exists { throw StoreError.notFound(resource: Owner.resource, id: "\(owner)") }
        }
        let page = rows.prefix(size)
        let next = rows.count > size ? page.last.map {
            PageCursor(createdAtMicros: $0.1, id: $0.0.id).encode(scope: scope, key: cursorKey)
        } : nil
        return CursorPage(items: page.map(\.0), nextCursor: next)
    }
}

/// Whose orders a page lists: the owner's table, the orders' column that points at it, and the
/// page statements' names and SQL (kept here, computed once, since a page is a hot read).
protocol OrderPageOwner {
    static var table: String { get }
    static var column: String { get }
    static var resource: StoreError.Resource { get }
    static var firstPage: (name: String, sql: String) { get }
    static var pageAfter: (name: String, sql: String) { get }
}

extension OrderPageOwner {
    /// A page newest first, with each order's `created_at` in microseconds for the cursor:
    /// `column` = `$1`; after the cursor `($2 µs since the epoch, $3)` if `after`; `$2` or `$4` rows.
    static func pageSQL(after: Bool) -> String {
        """
        SELECT \(Order.columns), (extract(epoch FROM created_at) * 1000000)::bigint
        FROM orders
        WHERE \(column) = $1\(after ? " AND (created_at, id) < (timestamptz 'epoch' + $2 * interval '1 microsecond', $3)" : "")
        ORDER BY created_at DESC, id DESC LIMIT \(after ? "$4" : "$2")
        """
    }
}

enum UserOrders: OrderPageOwner {
    static let table = "users"
    static let column = "user_id"
    static let resource = StoreError.Resource.user
    static let firstPage = (name: "sqlstore_user_orders_first", sql: pageSQL(after: false))
    static let pageAfter = (name: "sqlstore_user_orders_after", sql: pageSQL(after: true))
}

enum OrganizationOrders: OrderPageOwner {
    static let table = "organizations"
    static let column = "organization_id"
    static let resource = StoreError.Resource.organization
    static let firstPage = (name: "sqlstore_organization_orders_first", sql: pageSQL(after: false))
    static let pageAfter = (name: "sqlstore_organization_orders_after", sql: pageSQL(after: true))
}

private let twoInt8: [PostgresDataType] = [.int8, .int8]
private let fourInt8: [PostgresDataType] = [.int8, .int8, .int8, .int8]

private func decodeOrderPageRow(_ row: PostgresRow) throws -> (Order, Int64) {
    let cells = row.makeRandomAccess()
    return (try Order(cells: cells), try cells[Order.columnCount].decode(Int64.self))
}

/// The first page of an owner's orders.
struct FirstOrderPage<Owner: OrderPageOwner>: PostgresPreparedStatement {
    static var name: String { Owner.firstPage.name }
    static var sql: String { Owner.firstPage.sql }
    static var bindingDataTypes: [PostgresDataType] { twoInt8 }
    let owner: Int64
    let limit: Int

    func makeBindings() throws -> PostgresBindings {
        var bindings = PostgresBindings(capacity: 2)
        bindings.append(owner)
        bindings.append(Int64(limit))
        return bindings
    }

    func decodeRow(_ row: PostgresRow) throws -> (Order, Int64) { try decodeOrderPageRow(row) }
}

/// An owner's orders after a cursor.
struct OrderPageAfter<Owner: OrderPageOwner>: PostgresPreparedStatement {
    static var name: String { Owner.pageAfter.name }
    static var sql: String { Owner.pageAfter.sql }
    static var bindingDataTypes: [PostgresDataType] { fourInt8 }
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

    func decodeRow(_ row: PostgresRow) throws -> (Order, Int64) { try decodeOrderPageRow(row) }
}
