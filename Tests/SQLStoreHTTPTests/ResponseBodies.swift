import Foundation

// The API's response bodies as the tests read them: typed, so that a renamed or retyped field
// fails to decode instead of silently comparing nil.

struct ErrorBody: Decodable, Sendable {
    struct Details: Decodable, Sendable {
        let field: String?
        let resource: String?
        let expectedVersion: Int?
        let currentVersion: Int?
    }
    let error: String
    let code: String
    let details: Details
}

struct UserBody: Decodable, Sendable, Equatable {
    let id: Int64
    let email: String
    let name: String
    let activeOrgId: Int64?
    let version: Int32
    let createdAt: String
    let updatedAt: String
}

struct ProductBody: Decodable, Sendable, Equatable {
    let id: Int64
    let sku: String
    let name: String
    let description: String?
    /// Money is a decimal string, never a binary float.
    let price: String
    let stockQuantity: Int32
    let version: Int32
}

struct OrderItemBody: Decodable, Sendable, Equatable {
    let id: Int64
    let orderId: Int64
    let productId: Int64
    let quantity: Int32
    let unitPrice: String
    let subtotal: String
}

struct OrderBody: Decodable, Sendable, Equatable {
    let id: Int64
    let orderNumber: String
    let userId: Int64
    let organizationId: Int64?
    let status: String
    let totalAmount: String
    let version: Int32
    let items: [OrderItemBody]?
}

struct OrganizationBody: Decodable, Sendable, Equatable {
    let id: Int64
    let slug: String
    let name: String
    let version: Int32
}

struct MembershipBody: Decodable, Sendable, Equatable {
    let organizationId: Int64
    let userId: Int64
    let role: String
}

struct ActiveOrganizationBody: Decodable, Sendable, Equatable {
    let organizationId: Int64
    let slug: String
    let name: String
    let role: String
}

/// `GET /users` and `GET /products`: numbered pages.
struct OffsetPage<Item: Decodable & Sendable>: Decodable, Sendable {
    let items: [Item]
    let page: Int
    let pageSize: Int
    let total: Int
    let totalPages: Int
}

/// Order lists: keyset pages.
struct CursorPage<Item: Decodable & Sendable>: Decodable, Sendable {
    let items: [Item]
    let hasMore: Bool
    let nextCursor: String?
}
