import Foundation
import SQLStore

// What the API sends: the store's values in snake_case JSON, money as two-decimal strings,
// timestamps RFC 3339 UTC. Each body writes its keys in sorted order (see `JSONWritable`).

struct UserBody: JSONWritable {
    let id: Int64, email: String, name: String, activeOrgId: Int64?
    let createdAt: Date, updatedAt: Date, version: Int32

    init(_ user: User) {
        (id, email, name, activeOrgId) = (user.id, user.email, user.name, user.activeOrgId)
        (createdAt, updatedAt, version) = (user.createdAt, user.updatedAt, user.version)
    }

    func write(to json: inout JSONWriter) {
        json.beginObject()
        json.key("active_org_id"); json.integer(activeOrgId)  // null rather than absent
        json.key("created_at"); json.timestamp(createdAt)
        json.key("email"); json.string(email)
        json.key("id"); json.integer(id)
        json.key("name"); json.string(name)
        json.key("updated_at"); json.timestamp(updatedAt)
        json.key("version"); json.integer(version)
        json.endObject()
    }
}

struct ProductBody: JSONWritable {
    let id: Int64, sku: String, name: String, description: String?, price: Decimal, stockQuantity: Int32
    let createdAt: Date, updatedAt: Date, version: Int32

    init(_ p: Product) {
        (id, sku, name, description, price, stockQuantity) = (p.id, p.sku, p.name, p.description, p.price, p.stockQuantity)
        (createdAt, updatedAt, version) = (p.createdAt, p.updatedAt, p.version)
    }

    func write(to json: inout JSONWriter) {
        json.beginObject()
        json.key("created_at"); json.timestamp(createdAt)
        json.key("description"); json.string(description)
        json.key("id"); json.integer(id)
        json.key("name"); json.string(name)
        json.key("price"); json.money(price)
        json.key("sku"); json.string(sku)
        json.key("stock_quantity"); json.integer(stockQuantity)
        json.key("updated_at"); json.timestamp(updatedAt)
        json.key("version"); json.integer(version)
        json.endObject()
    }
}

struct OrderItemBody: JSONWritable {
    let item: OrderItem

    init(_ item: OrderItem) { self.item = item }

    func write(to json: inout JSONWriter) {
        json.beginObject()
        json.key("created_at"); json.timestamp(item.createdAt)
        json.key("id"); json.integer(item.id)
        json.key("order_id"); json.integer(item.orderId)
        json.key("product_id"); json.integer(item.productId)
        json.key("quantity"); json.integer(item.quantity)
        json.key("subtotal"); json.money(item.subtotal)
        json.key("unit_price"); json.money(item.unitPrice)
        json.endObject()
    }
}

struct OrderBody: JSONWritable {
    let order: Order
    /// A single order carries its lines; lists of orders leave the key out.
    let includeItems: Bool

    init(_ order: Order, includeItems: Bool = true) { (self.order, self.includeItems) = (order, includeItems) }

    func write(to json: inout JSONWriter) {
        json.beginObject()
        json.key("created_at"); json.timestamp(order.createdAt)
        json.key("id"); json.integer(order.id)
        if includeItems {
            json.key("items")
            json.beginArray()
            for item in order.items {
                json.element()
                OrderItemBody(item).write(to: &json)
            }
            json.endArray()
        }
        json.key("order_number"); json.string(order.orderNumber)
        json.key("organization_id"); json.integer(order.organizationId)
        json.key("status"); json.string(order.status.rawValue)
        json.key("total_amount"); json.money(order.totalAmount)
        json.key("updated_at"); json.timestamp(order.updatedAt)
        json.key("user_id"); json.integer(order.userId)
        json.key("version"); json.integer(order.version)
        json.endObject()
    }
}

struct OrganizationBody: JSONWritable {
    let organization: Organization

    init(_ organization: Organization) { self.organization = organization }

    func write(to json: inout JSONWriter) {
        json.beginObject()
        json.key("created_at"); json.timestamp(organization.createdAt)
        json.key("id"); json.integer(organization.id)
        json.key("name"); json.string(organization.name)
        json.key("slug"); json.string(organization.slug)
        json.key("updated_at"); json.timestamp(organization.updatedAt)
        json.key("version"); json.integer(organization.version)
        json.endObject()
    }
}

struct MembershipBody: JSONWritable {
    let membership: Membership

    init(_ membership: Membership) { self.membership = membership }

    func write(to json: inout JSONWriter) {
        json.beginObject()
        json.key("joined_at"); json.timestamp(membership.joinedAt)
        json.key("organization_id"); json.integer(membership.organizationId)
        json.key("role"); json.string(membership.role.rawValue)
        json.key("user_id"); json.integer(membership.userId)
        json.endObject()
    }
}

struct ActiveOrganizationBody: JSONWritable {
    let active: ActiveOrganization

    init(_ active: ActiveOrganization) { self.active = active }

    func write(to json: inout JSONWriter) {
        json.beginObject()
        json.key("name"); json.string(active.name)
        json.key("organization_id"); json.integer(active.organizationId)
        json.key("role"); json.string(active.role.rawValue)
        json.key("slug"); json.string(active.slug)
        json.endObject()
    }
}

struct OffsetPageBody<Item: JSONWritable>: JSONWritable {
    let items: [Item], total: Int, page: Int, pageSize: Int, totalPages: Int

    init<Value>(_ page: OffsetPage<Value>, _ transform: (Value) -> Item) {
        items = page.items.map(transform)
        (total, self.page, pageSize, totalPages) = (page.total, page.page, page.pageSize, page.totalPages)
    }

    func write(to json: inout JSONWriter) {
        json.beginObject()
        json.key("items"); json.array(items)
        json.key("page"); json.integer(page)
        json.key("page_size"); json.integer(pageSize)
        json.key("total"); json.integer(total)
        json.key("total_pages"); json.integer(totalPages)
        json.endObject()
    }
}

struct CursorPageBody<Item: JSONWritable>: JSONWritable {
    let items: [Item], nextCursor: String?, hasMore: Bool

    init<Value>(_ page: CursorPage<Value>, _ transform: (Value) -> Item) {
        (items, nextCursor, hasMore) = (page.items.map(transform), page.nextCursor, page.hasMore)
    }

    func write(to json: inout JSONWriter) {
        json.beginObject()
        json.key("has_more"); json.bool(hasMore)
        json.key("items"); json.array(items)
        json.key("next_cursor"); json.string(nextCursor)  // null rather than absent
        json.endObject()
    }
}

/// A token as the API shows it: `token` (the secret) only in the answer that created it.
struct TokenBody: JSONWritable {
    let token: APIToken
    let secret: String?

    init(_ token: APIToken, secret: String? = nil) {
        self.token = token
        self.secret = secret
    }

    func write(to json: inout JSONWriter) {
        json.beginObject()
        json.key("created_at"); json.timestamp(token.createdAt)
        json.key("expires_at")
        if let expiresAt = token.expiresAt { json.timestamp(expiresAt) } else { json.null() }
        json.key("id"); json.integer(token.id)
        json.key("name"); json.string(token.name)
        json.key("role"); json.string(token.role.rawValue)
        if let secret { json.key("token"); json.string(secret) }
        json.key("user_id"); json.integer(token.userId)
        json.endObject()
    }
}
