import Foundation
import HTTPTypes
import Hummingbird
import SQLStore

/// `/products`: the catalogue, read by anyone with a token, changed by admins.
struct ProductController: StoreController {
    let store: OrderStore
    let bodyLimit: Int

    /// `stock` is the reference's name for `stock_quantity` and ignored beside it, but the document
    /// bounds it all the same: a value out of range is refused even when it would not be used.
    static func checkIgnoredStock(_ stock: Int?, beside stockQuantity: Int?) throws {
        guard stockQuantity != nil, let stock, !(0...Int(Int32.max)).contains(stock) else { return }
        throw APIError(
            .unprocessableContent, code: "invalid_input", message: "stock must be 0 to 2147483647",
            details: ["field": .string("stock")])
    }

    func addRoutes(to router: some RouterMethods<StoreRequestContext>) {
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
    }
}
