import Foundation
import HTTPTypes
import Hummingbird
import SQLStore

/// The routes of SPEC section 4: each handler decodes, asks the ``AccessPolicy``, calls the
/// store, encodes.
struct StoreController {
    let store: OrderStore
    let bodyLimit: Int
    var policy: AccessPolicy { AccessPolicy(store: store) }

    /// `stock` is the reference's name for `stock_quantity` and ignored beside it, but the document
    /// bounds it all the same: a value out of range is refused even when it would not be used.
    static func checkIgnoredStock(_ stock: Int?, beside stockQuantity: Int?) throws {
        guard stockQuantity != nil, let stock, !(0...Int(Int32.max)).contains(stock) else { return }
        throw APIError(
            .unprocessableContent, code: "invalid_input", message: "stock must be 0 to 2147483647",
            details: ["field": .string("stock")])
    }

    func addRoutes(to router: some RouterMethods<StoreRequestContext>) {
        router.post("/users") { request, context in
            try policy.requireAdmin(context)
            let body = try await JSONBody.decode(CreateUserRequest.self, from: request, limit: bodyLimit)
            return try JSONBody.response(UserBody(try await store.createUser(email: body.email, name: body.name)), status: .created)
        }
        router.get("/users") { request, context in
            try policy.requireAdmin(context)
            let page = try await store.users(page: try request.query(int: "page"), pageSize: try request.query(int: "page_size"))
            return try JSONBody.response(OffsetPageBody(page, UserBody.init))
        }
        router.get("/users/:id") { _, context in
            let id = try context.id("id")
            try policy.requireUser(id, context)
            return try JSONBody.response(UserBody(try await store.user(id: id)))
        }
        router.patch("/users/:id") { request, context in
            let id = try context.id("id")
            try policy.requireUser(id, context)
            let body = try await JSONBody.decode(UpdateUserRequest.self, from: request, limit: bodyLimit)
            let user = try await store.updateUser(id: id, version: body.version, email: body.email, name: body.name)
            return try JSONBody.response(UserBody(user))
        }

        router.post("/products") { request, context in
            try policy.requireAdmin(context)
            let body = try await JSONBody.decode(CreateProductRequest.self, from: request, limit: bodyLimit)
            try Self.checkIgnoredStock(body.stock, beside: body.stockQuantity)
            let product = try await store.createProduct(
                sku: body.sku, name: body.name, description: body.description, price: body.price.value,
                stockQuantity: body.stockQuantity ?? body.stock ?? 0)
            return try JSONBody.response(ProductBody(product), status: .created)
        }
        router.get("/products") { request, _ in
            let page = try await store.products(
                page: try request.query(int: "page"), pageSize: try request.query(int: "page_size"),
                inStock: try request.query(bool: "in_stock"))
            return try JSONBody.response(OffsetPageBody(page, ProductBody.init))
        }
        router.get("/products/:id") { _, context in
            try JSONBody.response(ProductBody(try await store.product(id: try context.id("id"))))
        }
        router.patch("/products/:id") { request, context in
            let id = try context.id("id")
            try policy.requireAdmin(context)
            let body = try await JSONBody.decode(UpdateProductRequest.self, from: request, limit: bodyLimit)
            try Self.checkIgnoredStock(body.stock, beside: body.stockQuantity)
            let product = try await store.updateProduct(
                id: id, version: body.version, name: body.name, description: body.description, price: body.price?.value,
                stockQuantity: body.stockQuantity ?? body.stock)
            return try JSONBody.response(ProductBody(product))
        }
        router.post("/products/:id/stock-adjustments") { request, context in
            let id = try context.id("id")
            try policy.requireAdmin(context)
            let body = try await JSONBody.decode(StockAdjustmentRequest.self, from: request, limit: bodyLimit)
            return try JSONBody.response(ProductBody(try await store.adjustStock(productId: id, delta: body.delta)))
        }

        router.post("/orders") { request, context in
            let body = try await JSONBody.decode(CreateOrderRequest.self, from: request, limit: bodyLimit)
            let userId = try policy.orderUser(body.userId, context)
            let key = request.headers[HTTPField.Name("Idempotency-Key")!]
            let placed = try await store.placeOrder(
                userId: userId, lines: body.items.map { OrderLine(productId: $0.productId, quantity: $0.quantity) },
                idempotencyKey: key)
            var headers = HTTPFields()
            headers[.location] = "/orders/\(placed.order.id)"
            if !placed.created { headers[HTTPField.Name("Idempotent-Replayed")!] = "true" }
            return try JSONBody.response(OrderBody(placed.order), status: .created, headers: headers)
        }
        router.get("/orders/:id") { _, context in
            try JSONBody.response(OrderBody(try await policy.visibleOrder(try context.id("id"), context)))
        }
        router.patch("/orders/:id") { request, context in
            let id = try context.id("id")
            let body = try await JSONBody.decode(UpdateOrderRequest.self, from: request, limit: bodyLimit)
            guard let status = OrderStatus(rawValue: body.status) else {
                throw APIError(
                    .unprocessableContent, code: "invalid_input",
                    message: "status must be one of \(OrderStatus.allCases.map(\.rawValue).joined(separator: ", "))",
                    details: ["field": .string("status")])
            }
            try await policy.requireTransition(of: id, to: status, context)
            return try JSONBody.response(OrderBody(try await store.transition(orderId: id, to: status, version: body.version)))
        }
        router.get("/users/:id/orders") { request, context in
            let userId = try context.id("id")
            try policy.requireUser(userId, context)
            let page = try await store.orders(
                userId: userId, limit: try request.query(int: "limit"), cursor: request.query(string: "cursor"))
            return try JSONBody.response(CursorPageBody(page) { OrderBody($0, includeItems: false) })
        }

        router.post("/organizations") { request, context in
            try policy.requireAdmin(context)
            let body = try await JSONBody.decode(CreateOrganizationRequest.self, from: request, limit: bodyLimit)
            let organization = try await store.createOrganization(slug: body.slug, name: body.name)
            return try JSONBody.response(OrganizationBody(organization), status: .created)
        }
        router.post("/organizations/:id/members") { request, context in
            let id = try context.id("id")
            try await policy.requireOrganizationManager(id, context)
            let body = try await JSONBody.decode(AddMemberRequest.self, from: request, limit: bodyLimit)
            guard let role = MemberRole(rawValue: body.role ?? "member") else {
                throw APIError(
                    .unprocessableContent, code: "invalid_input", message: "role must be one of owner, admin, member",
                    details: ["field": .string("role")])
            }
            let membership = try await store.addMember(organizationId: id, userId: body.userId, role: role)
            return try JSONBody.response(MembershipBody(membership), status: .created)
        }
        router.delete("/organizations/:id/members/:user_id") { _, context in
            let (id, userId) = (try context.id("id"), try context.id("user_id"))
            try await policy.requireOrganizationManager(id, context)
            try await store.removeMember(organizationId: id, userId: userId)
            return Response(status: .noContent)
        }
        router.get("/organizations/:id/orders") { request, context in
            let id = try context.id("id")
            try await policy.requireOrganizationMember(id, context)
            let page = try await store.orders(
                organizationId: id, limit: try request.query(int: "limit"),
                cursor: request.query(string: "cursor"))
            return try JSONBody.response(CursorPageBody(page) { OrderBody($0, includeItems: false) })
        }
        router.put("/users/:id/active-organization") { request, context in
            let id = try context.id("id")
            try policy.requireUser(id, context)
            let body = try await JSONBody.decode(SetActiveOrganizationRequest.self, from: request, limit: bodyLimit)
            let active = try await store.setActiveOrganization(userId: id, organizationId: body.organizationId)
            return try JSONBody.response(ActiveOrganizationBody(active))
        }
        router.get("/users/:id/active-organization") { _, context in
            let id = try context.id("id")
            try policy.requireUser(id, context)
            return try JSONBody.response(ActiveOrganizationBody(try await store.activeOrganization(userId: id)))
        }

        router.post("/users/:id/tokens") { request, context in
            let id = try context.id("id")
            try policy.requireAdmin(context)
            let body = try await JSONBody.decode(CreateTokenRequest.self, from: request, limit: bodyLimit)
            // Counted before trimming, as the document's maxLength counts.
            guard body.name.unicodeScalars.count <= 100 else {
                throw APIError(
                    .unprocessableContent, code: "invalid_input", message: "name must be at most 100 characters",
                    details: ["field": .string("name")])
            }
            var lifetime: Duration?
            if let seconds = body.expiresIn {
                guard seconds > 0, seconds <= 10 * 365 * 86_400 else {
                    throw APIError(
                        .unprocessableContent, code: "invalid_input", message: "expires_in must be 1 to 315360000 seconds",
                        details: ["field": .string("expires_in")])
                }
                lifetime = .seconds(seconds)
            }
            let issued = try await store.createToken(role: .customer, userId: id, name: body.name, expiresIn: lifetime)
            var headers = HTTPFields()
            headers[.cacheControl] = "no-store"
            return try JSONBody.response(TokenBody(issued.token, secret: issued.secret), status: .created, headers: headers)
        }
        router.delete("/tokens/:id") { _, context in
            let id = try context.id("id")
            try policy.requireAdmin(context)
            // Admin tokens are the CLI's to revoke: an API caller cannot lock the back office out.
            try await store.revokeToken(id: id, role: .customer)
            return Response(status: .noContent)
        }
    }
}
