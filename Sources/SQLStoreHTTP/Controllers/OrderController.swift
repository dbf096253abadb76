import Foundation
import HTTPTypes
import Hummingbird
import SQLStore

/// `/orders` and `/users/{id}/orders`: placing orders, reading them, and moving them through their lifecycle.
struct OrderController: StoreController {
    let store: OrderStore
    let bodyLimit: Int

    func addRoutes(to router: some RouterMethods<StoreRequestContext>) {
        router.post("/orders") { request, context in
            let body = try await JSONBody.decode(CreateOrderRequest.self, from: request, limit: bodyLimit)
            let userId = try policy.orderUser(body.userId, context)
            let key = request.headers[.idempotencyKey]
            let placed = try await store.placeOrder(
                userId: userId, lines: body.items.map { OrderLine(productId: $0.productId, quantity: $0.quantity) },
                idempotencyKey: key)
            var headers = HTTPFields()
            headers[.location] = "/orders/\(placed.order.id)"
            if !placed.created { headers[.idempotentReplayed] = "true" }
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
    }
}
