import HTTPTypes
import HummingbirdTesting
import PostgresNIO
import Testing
import TestSupport

@Suite("API: products")
struct ProductsAPITests {
    @Test("POST /products accepts the reference's shape (number price, stock) and answers exact money")
    func referenceShapeAndExactMoney() async throws {
        try await TestApplication.run { app in
            let mug = try await app.request(
                .post, "/products", json: #"{"sku": "MUG", "name": "Mug", "price": 12.5, "stock": 3}"#,
                expecting: .created, decoding: ProductBody.self)
            #expect(mug.price == "12.50" && mug.stockQuantity == 3)
            let pen = try await app.request(
                .post, "/products", json: #"{"sku": "PEN", "name": "Pen", "price": "0.10", "stock_quantity": 0}"#,
                expecting: .created, decoding: ProductBody.self)
            #expect(pen.price == "0.10" && pen.stockQuantity == 0)
        }
    }

    @Test("a price with a third decimal or below zero is 422; one that is not a number is 400; nothing is added")
    func invalidPricesAreRefused() async throws {
        try await TestApplication.run { app in
            let thirdDecimal = try await app.request(.post, "/products", json: #"{"sku": "X", "name": "X", "price": "1.005"}"#)
            let negative = try await app.request(.post, "/products", json: #"{"sku": "Y", "name": "Y", "price": -1}"#)
            let notANumber = try await app.request(.post, "/products", json: #"{"sku": "Z", "name": "Z", "price": "abc"}"#)
            #expect(thirdDecimal.status == .unprocessableContent && negative.status == .unprocessableContent)
            #expect(notANumber.status == .badRequest)
            #expect(try await app.database.scalar("SELECT count(*) FROM products", as: Int.self) == 0)
        }
    }

    @Test("a taken SKU is 409 duplicate naming sku")
    func duplicateSKU() async throws {
        try await TestApplication.run { app in
            try await app.request(.post, "/products", json: #"{"sku": "MUG", "name": "Mug", "price": 1}"#)
            let again = try await app.request(.post, "/products", json: #"{"sku": "MUG", "name": "Again", "price": 1}"#)
            #expect(try again.status == .conflict && (try again.decode(ErrorBody.self).details.field) == "sku")
        }
    }

    @Test("GET /products?in_stock=true lists only products with stock; in_stock=maybe is 400")
    func inStockFilter() async throws {
        try await TestApplication.run { app in
            try await app.request(.post, "/products", json: #"{"sku": "MUG", "name": "Mug", "price": 1, "stock": 3}"#)
            try await app.request(.post, "/products", json: #"{"sku": "PEN", "name": "Pen", "price": 1, "stock": 0}"#)
            let page = try await app.request(
                .get, "/products?in_stock=true", expecting: .ok, decoding: OffsetPage<ProductBody>.self)
            #expect(page.items.map(\.sku) == ["MUG"] && page.total == 1)
            #expect(try await app.request(.get, "/products?in_stock=maybe").status == .badRequest)
        }
    }

    @Test("POST /products/{id}/stock-adjustments adds the delta; one below zero is 422 and changes nothing")
    func stockAdjustments() async throws {
        try await TestApplication.run { app in
            let mug = try await app.request(
                .post, "/products", json: #"{"sku": "MUG", "name": "Mug", "price": 1, "stock": 3}"#,
                expecting: .created, decoding: ProductBody.self)
            let adjusted = try await app.request(
                .post, "/products/\(mug.id)/stock-adjustments", json: #"{"delta": 5}"#, expecting: .ok, decoding: ProductBody.self)
            #expect(adjusted.stockQuantity == 8 && adjusted.version == 2)
            let negative = try await app.request(.post, "/products/\(mug.id)/stock-adjustments", json: #"{"delta": -9}"#)
            #expect(try negative.status == .unprocessableContent && (try negative.decode(ErrorBody.self).details.field) == "delta")
            let stored = try await app.request(.get, "/products/\(mug.id)", expecting: .ok, decoding: ProductBody.self)
            #expect(stored.stockQuantity == 8)
        }
    }
}
