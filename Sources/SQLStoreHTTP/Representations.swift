import Foundation
import SQLStore

// What the API sends: the store's values in snake_case JSON, money as two-decimal strings.

/// Money as a decimal string with two places ("29.99"): exact, and safe for any JSON client.
struct Money: Encodable, Equatable {
    let value: Decimal

    func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        var rounded = Decimal()
        var copy = value
        NSDecimalRound(&rounded, &copy, 2, .plain)
        var text = NSDecimalNumber(decimal: rounded).stringValue
        if !text.contains(".") { text += ".00" }
        if let dot = text.firstIndex(of: "."), text.distance(from: dot, to: text.endIndex) == 2 { text += "0" }
        try container.encode(text)
    }
}

struct UserBody: Encodable {
    let id: Int64, email: String, name: String, activeOrgId: Int64?
    let createdAt: Date, updatedAt: Date, version: Int32

    init(_ user: User) {
        (id, email, name, activeOrgId) = (user.id, user.email, user.name, user.activeOrgId)
        (createdAt, updatedAt, version) = (user.createdAt, user.updatedAt, user.version)
    }

    func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(id, forKey: .id)
        try c.encode(email, forKey: .email)
        try c.encode(name, forKey: .name)
        try c.encode(activeOrgId, forKey: .activeOrgId)  // null rather than absent
        try c.encode(createdAt, forKey: .createdAt)
        try c.encode(updatedAt, forKey: .updatedAt)
        try c.encode(version, forKey: .version)
    }

    enum CodingKeys: String, CodingKey { case id, email, name, activeOrgId, createdAt, updatedAt, version }
}

struct ProductBody: Encodable {
    let id: Int64, sku: String, name: String, description: String?, price: Money, stockQuantity: Int32
    let createdAt: Date, updatedAt: Date, version: Int32

    init(_ p: Product) {
        (id, sku, name, description, price, stockQuantity) = (p.id, p.sku, p.name, p.description, Money(value: p.price), p.stockQuantity)
        (createdAt, updatedAt, version) = (p.createdAt, p.updatedAt, p.version)
    }

    func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(id, forKey: .id)
        try c.encode(sku, forKey: .sku)
        try c.encode(name, forKey: .name)
        try c.encode(description, forKey: .description)
        try c.encode(price, forKey: .price)
        try c.encode(stockQuantity, forKey: .stockQuantity)
        try c.encode(createdAt, forKey: .createdAt)
        try c.encode(updatedAt, forKey: .updatedAt)
        try c.encode(version, forKey: .version)
    }

    enum CodingKeys: String, CodingKey { case id, sku, name, description, price, stockQuantity, createdAt, updatedAt, version }
}

struct OrderItemBody: Encodable {
    let id: Int64, orderId: Int64, productId: Int64, quantity: Int32, unitPrice: Money, subtotal: Money, createdAt: Date

    init(_ i: OrderItem) {
        (id, orderId, productId, quantity) = (i.id, i.orderId, i.productId, i.quantity)
        (unitPrice, subtotal, createdAt) = (Money(value: i.unitPrice), Money(value: i.subtotal), i.createdAt)
    }
}

struct OrderBody: Encodable {
    let id: Int64, userId: Int64, organizationId: Int64?, orderNumber: String, status: String, totalAmount: Money
    let createdAt: Date, updatedAt: Date, version: Int32
    /// Present for a single order; lists of orders leave the lines out.
    let items: [OrderItemBody]?

    init(_ o: Order, includeItems: Bool = true) {
        (id, userId, organizationId, orderNumber, status) = (o.id, o.userId, o.organizationId, o.orderNumber, o.status.rawValue)
        (totalAmount, createdAt, updatedAt, version) = (Money(value: o.totalAmount), o.createdAt, o.updatedAt, o.version)
        items = includeItems ? o.items.map(OrderItemBody.init) : nil
    }

    func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(id, forKey: .id)
        try c.encode(userId, forKey: .userId)
        try c.encode(organizationId, forKey: .organizationId)
        try c.encode(orderNumber, forKey: .orderNumber)
        try c.encode(status, forKey: .status)
        try c.encode(totalAmount, forKey: .totalAmount)
        try c.encode(createdAt, forKey: .createdAt)
        try c.encode(updatedAt, forKey: .updatedAt)
        try c.encode(version, forKey: .version)
        try c.encodeIfPresent(items, forKey: .items)
    }

    enum CodingKeys: String, CodingKey {
        case id, userId, organizationId, orderNumber, status, totalAmount, createdAt, updatedAt, version, items
    }
}

struct OrganizationBody: Encodable {
    let id: Int64, slug: String, name: String, createdAt: Date, updatedAt: Date, version: Int32

    init(_ o: Organization) {
        (id, slug, name, createdAt, updatedAt, version) = (o.id, o.slug, o.name, o.createdAt, o.updatedAt, o.version)
    }
}

struct MembershipBody: Encodable {
    let organizationId: Int64, userId: Int64, role: String, joinedAt: Date

    init(_ m: Membership) {
        (organizationId, userId, role, joinedAt) = (m.organizationId, m.userId, m.role.rawValue, m.joinedAt)
    }
}

struct ActiveOrganizationBody: Encodable {
    let organizationId: Int64, slug: String, name: String, role: String

    init(_ a: ActiveOrganization) {
        (organizationId, slug, name, role) = (a.organizationId, a.slug, a.name, a.role.rawValue)
    }
}

struct OffsetPageBody<Item: Encodable>: Encodable {
    let items: [Item], total: Int, page: Int, pageSize: Int, totalPages: Int

    init<Value>(_ page: OffsetPage<Value>, _ transform: (Value) -> Item) {
        items = page.items.map(transform)
        (total, self.page, pageSize, totalPages) = (page.total, page.page, page.pageSize, page.totalPages)
    }
}

struct CursorPageBody<Item: Encodable>: Encodable {
    let items: [Item], nextCursor: String?, hasMore: Bool

    init<Value>(_ page: CursorPage<Value>, _ transform: (Value) -> Item) {
        (items, nextCursor, hasMore) = (page.items.map(transform), page.nextCursor, page.hasMore)
    }

    func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(items, forKey: .items)
        try c.encode(nextCursor, forKey: .nextCursor)
        try c.encode(hasMore, forKey: .hasMore)
    }

    enum CodingKeys: String, CodingKey { case items, nextCursor, hasMore }
}
