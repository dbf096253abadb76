import Foundation
import PostgresNIO

// The column lists and their decoders live together, so a query and its decoding cannot drift.

extension User {
    static let columns = "id, email, name, active_org_id, created_at, updated_at, version"

    init(row: PostgresRow) throws {
        let (id, email, name, activeOrgId, createdAt, updatedAt, version) =
            try row.decode((Int64, String, String, Int64?, Date, Date, Int32).self)
        self.init(
            id: id, email: email, name: name, activeOrgId: activeOrgId, createdAt: createdAt, updatedAt: updatedAt,
            version: version)
    }
}

extension Product {
    static let columns = "id, sku, name, description, price, stock_quantity, created_at, updated_at, version"

    init(row: PostgresRow) throws {
        let (id, sku, name, description, price, stock, createdAt, updatedAt, version) =
            try row.decode((Int64, String, String, String?, NumericCell, Int32, Date, Date, Int32).self)
        self.init(
            id: id, sku: sku, name: name, description: description, price: price.decimal, stockQuantity: stock,
            createdAt: createdAt, updatedAt: updatedAt, version: version)
    }
}

extension Order {
    static let columns =
        "id, user_id, organization_id, order_number, status, total_amount, created_at, updated_at, version"
    /// How many cells ``columns`` takes: where whatever a query selects after them starts.
    static let columnCount = columns.split(separator: ",").count

    /// Decodes the order's columns from the start of `row`.
    init(row: PostgresRow) throws {
        try self.init(cells: row.makeRandomAccess())
    }

    /// Decodes the order's columns from the start of `cells`: a row made random-access once for
    /// the order and whatever follows it (its item, a cursor).
    init(cells: PostgresRandomAccessRow, items: [OrderItem] = []) throws {
        guard let status = OrderStatus(rawValue: try cells[4].decode(String.self)) else {
            throw StoreError.conflict(reason: "order has an unknown status")
        }
        self.init(
            id: try cells[0].decode(Int64.self), userId: try cells[1].decode(Int64.self),
            organizationId: try cells[2].decode(Int64?.self), orderNumber: try cells[3].decode(String.self),
            status: status, totalAmount: try cells[5].decode(NumericCell.self).decimal, createdAt: try cells[6].decode(Date.self),
            updatedAt: try cells[7].decode(Date.self), version: try cells[8].decode(Int32.self), items: items)
    }

    func with(items: [OrderItem]) -> Order {
        Order(
            id: id, userId: userId, organizationId: organizationId, orderNumber: orderNumber, status: status,
            totalAmount: totalAmount, createdAt: createdAt, updatedAt: updatedAt, version: version, items: items)
    }
}

extension OrderItem {
    static let columns = "id, order_id, product_id, quantity, unit_price, subtotal, created_at"
    /// How many cells ``columns`` takes.
    static let columnCount = columns.split(separator: ",").count

    /// Decodes an item from its ``columns`` starting at `offset`; nil when they are NULL
    /// (an order without items in a LEFT JOIN).
    init?(cells: PostgresRandomAccessRow, offset: Int) throws {
        guard let id = try cells[offset].decode(Int64?.self) else { return nil }
        self.init(
            id: id, orderId: try cells[offset + 1].decode(Int64.self), productId: try cells[offset + 2].decode(Int64.self),
            quantity: try cells[offset + 3].decode(Int32.self), unitPrice: try cells[offset + 4].decode(NumericCell.self).decimal,
            subtotal: try cells[offset + 5].decode(NumericCell.self).decimal, createdAt: try cells[offset + 6].decode(Date.self))
    }
}

extension Organization {
    static let columns = "id, slug, name, created_at, updated_at, version"

    init(row: PostgresRow) throws {
        let (id, slug, name, createdAt, updatedAt, version) =
            try row.decode((Int64, String, String, Date, Date, Int32).self)
        self.init(id: id, slug: slug, name: name, createdAt: createdAt, updatedAt: updatedAt, version: version)
    }
}

extension Membership {
    static let columns = "organization_id, user_id, role, joined_at"

    init(row: PostgresRow) throws {
        let (organizationId, userId, role, joinedAt) = try row.decode((Int64, Int64, String, Date).self)
        self.init(organizationId: organizationId, userId: userId, role: MemberRole(rawValue: role) ?? .member, joinedAt: joinedAt)
    }
}
