import Foundation

public struct User: Sendable, Hashable {
    public let id: Int64
    public let email: String
    public let name: String
    public let activeOrgId: Int64?
    public let createdAt: Date
    public let updatedAt: Date
    public let version: Int32
}

public struct Product: Sendable, Hashable {
    public let id: Int64
    public let sku: String
    public let name: String
    public let description: String?
    /// Exact: NUMERIC(10,2) end to end, never a binary floating point.
    public let price: Decimal
    public let stockQuantity: Int32
    public let createdAt: Date
    public let updatedAt: Date
    public let version: Int32
}

public enum OrderStatus: String, Sendable, Hashable, CaseIterable, Codable {
    case pending, confirmed, shipped, delivered, cancelled

    /// pending → confirmed → shipped → delivered; pending or confirmed → cancelled.
    public func canTransition(to next: OrderStatus) -> Bool {
        switch (self, next) {
        case (.pending, .confirmed), (.confirmed, .shipped), (.shipped, .delivered): return true
        case (.pending, .cancelled), (.confirmed, .cancelled): return true
        default: return false
        }
    }

    /// The statuses an order can move to `next` from.
    static func sources(of next: OrderStatus) -> [OrderStatus] {
        allCases.filter { $0.canTransition(to: next) }
    }
}

public struct Order: Sendable, Hashable {
    public let id: Int64
    public let userId: Int64
    public let organizationId: Int64?
    public let orderNumber: String
    public let status: OrderStatus
    public let totalAmount: Decimal
    public let createdAt: Date
    public let updatedAt: Date
    public let version: Int32
    /// The lines, by product id. Empty in pages of orders, which list orders only.
    public let items: [OrderItem]
}

public struct OrderItem: Sendable, Hashable {
    public let id: Int64
    public let orderId: Int64
    public let productId: Int64
    public let quantity: Int32
    public let unitPrice: Decimal
    public let subtotal: Decimal
    public let createdAt: Date
}

/// One transition of an order's status, as recorded in `order_status_changes`.
public struct OrderStatusChange: Sendable, Hashable {
    public let from: OrderStatus?
    public let to: OrderStatus
    public let changedAt: Date
}

public struct Organization: Sendable, Hashable {
    public let id: Int64
    public let slug: String
    public let name: String
    public let createdAt: Date
    public let updatedAt: Date
    public let version: Int32
}

public enum MemberRole: String, Sendable, Hashable, CaseIterable, Codable {
    case owner, admin, member
}

public struct Membership: Sendable, Hashable {
    public let organizationId: Int64
    public let userId: Int64
    public let role: MemberRole
    public let joinedAt: Date
}

/// A user's active organization and their role in it (`get_user_active_org`).
public struct ActiveOrganization: Sendable, Hashable {
    public let organizationId: Int64
    public let slug: String
    public let name: String
    public let role: MemberRole
}

/// A page of a list read with LIMIT/OFFSET: fine for users and products, whose lists are browsed
/// near their start.
public struct OffsetPage<Item: Sendable>: Sendable {
    public let items: [Item]
    public let total: Int
    public let page: Int
    public let pageSize: Int
    public var totalPages: Int { total == 0 ? 0 : (total + pageSize - 1) / pageSize }
}

/// A page of a list read by keyset: the same cost at any depth, and stable under inserts.
public struct CursorPage<Item: Sendable>: Sendable {
    public let items: [Item]
    /// Opaque; pass it back to get the next page. Nil on the last page.
    public let nextCursor: String?
    public var hasMore: Bool { nextCursor != nil }
}

/// Page-size rules shared by every list.
public enum Paging {
    public static let defaultPageSize = 20
    public static let maxPageSize = 100

    /// Clamps a requested page size into 1...maxPageSize (nil: the default).
    public static func clamp(_ size: Int?) -> Int {
        guard let size else { return defaultPageSize }
        return min(max(size, 1), maxPageSize)
    }
}
