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
        // One more row than the page, to know whether another page follows.
        let query: PostgresQuery
        if let after {
            query = """
                SELECT \(unescaped: Order.columns), (extract(epoch FROM created_at) * 1000000)::bigint
                FROM orders
                WHERE \(unescaped: column) = \(owner)
                  AND (created_at, id) < (timestamptz 'epoch' + \(after.createdAtMicros) * interval '1 microsecond', \(after.id))
                ORDER BY created_at DESC, id DESC LIMIT \(size + 1)
                """
        } else {
            query = """
                SELECT \(unescaped: Order.columns), (extract(epoch FROM created_at) * 1000000)::bigint
                FROM orders
                WHERE \(unescaped: column) = \(owner)
                ORDER BY created_at DESC, id DESC LIMIT \(size + 1)
                """
        }
        let rows = try await rows(query) { row in
            let cells = row.makeRandomAccess()
            return (try Order(cells: cells), try cells[Order.columnCount].decode(Int64.self))
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
