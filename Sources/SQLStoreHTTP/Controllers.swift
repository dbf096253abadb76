import Foundation
import HTTPTypes
import Hummingbird
import SQLStore

/// The routes of SPEC section 4: each handler decodes, calls the store, encodes.
struct StoreController<Context: RequestContext> {
    let store: OrderStore
    let bodyLimit: Int

    func addRoutes(to router: some RouterMethods<Context>) {
        router.post("/users") { request, _ in
            let body = try await JSONBody.decode(CreateUserRequest.self, from: request, limit: bodyLimit)
            return try JSONBody.response(UserBody(try await store.createUser(email: body.email, name: body.name)), status: .created)
        }
        router.get("/users") { request, _ in
            let page = try await store.users(page: try request.query(int: "page"), pageSize: try request.query(int: "page_size"))
            return try JSONBody.response(OffsetPageBody(page, UserBody.init))
        }
        router.get("/users/:id") { _, context in
            try JSONBody.response(UserBody(try await store.user(id: try context.id("id"))))
        }
        router.patch("/users/:id") { request, context in
            let id = try context.id("id")
            let body = try await JSONBody.decode(UpdateUserRequest.self, from: request, limit: bodyLimit)
            let user = try await store.updateUser(id: id, version: body.version, email: body.email, name: body.name)
            return try JSONBody.response(UserBody(user))
        }

        router.post("/products") { request, _ in
            let body = try await JSONBody.decode(CreateProductRequest.self, from: request, limit: bodyLimit)
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
            let body = try await JSONBody.decode(UpdateProductRequest.self, from: request, limit: bodyLimit)
            let product = try await store.updateProduct(
                id: id, version: body.version, name: body.name, description: body.description, price: body.price?.value,
                stockQuantity: body.stockQuantity ?? body.stock)
            return try JSONBody.response(ProductBody(product))
        }
        router.post("/products/:id/stock-adjustments") { request, context in
            let id = try context.id("id")
            let body = try await JSONBody.decode(StockAdjustmentRequest.self, from: request, limit: bodyLimit)
            return try JSONBody.response(ProductBody(try await store.adjustStock(productId: id, delta: body.delta)))
        }

        router.post("/orders") { request, _ in
            let body = try await JSONBody.decode(CreateOrderRequest.self, from: request, limit: bodyLimit)
            let key = request.headers[HTTPField.Name("Idempotency-Key")!]
            let placed = try await store.placeOrder(
                userId: body.userId, lines: body.items.map { OrderLine(productId: $0.productId, quantity: $0.quantity) },
                idempotencyKey: key)
            var headers = HTTPFields()
            headers[.location] = "/orders/\(placed.order.id)"
            if !placed.created { headers[HTTPField.Name("Idempotent-Replayed")!] = "true" }
            return try JSONBody.response(OrderBody(placed.order), status: .created, headers: headers)
        }
        router.get("/orders/:id") { _, context in
            try JSONBody.response(OrderBody(try await store.order(id: try context.id("id"))))
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
            return try JSONBody.response(OrderBody(try await store.transition(orderId: id, to: status, version: body.version)))
        }
        router.get("/users/:id/orders") { request, context in
            let page = try await store.orders(
                userId: try context.id("id"), limit: try request.query(int: "limit"), cursor: request.query(string: "cursor"))
            return try JSONBody.response(CursorPageBody(page) { OrderBody($0, includeItems: false) })
        }

        router.post("/organizations") { request, _ in
            let body = try await JSONBody.decode(CreateOrganizationRequest.self, from: request, limit: bodyLimit)
            let organization = try await store.createOrganization(slug: body.slug, name: body.name)
            return try JSONBody.response(OrganizationBody(organization), status: .created)
        }
        router.post("/organizations/:id/members") { request, context in
            let id = try context.id("id")
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
            try await store.removeMember(organizationId: try context.id("id"), userId: try context.id("user_id"))
            return Response(status: .noContent)
        }
        router.get("/organizations/:id/orders") { request, context in
            let page = try await store.orders(
                organizationId: try context.id("id"), limit: try request.query(int: "limit"),
                cursor: request.query(string: "cursor"))
            return try JSONBody.response(CursorPageBody(page) { OrderBody($0, includeItems: false) })
        }
        router.put("/users/:id/active-organization") { request, context in
            let id = try context.id("id")
            let body = try await JSONBody.decode(SetActiveOrganizationRequest.self, from: request, limit: bodyLimit)
            let active = try await store.setActiveOrganization(userId: id, organizationId: body.organizationId)
            return try JSONBody.response(ActiveOrganizationBody(active))
        }
        router.get("/users/:id/active-organization") { _, context in
            try JSONBody.response(ActiveOrganizationBody(try await store.activeOrganization(userId: try context.id("id"))))
        }
    }
}
