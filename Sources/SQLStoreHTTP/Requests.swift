import Foundation
import SQLStore

// What the API accepts. Field names arrive in snake_case (converted by the decoder).

struct CreateUserRequest: Decodable {
    let email: String
    let name: String
}

struct UpdateUserRequest: Decodable {
    let version: Int32
    let email: String?
    let name: String?
}

/// A price written as a decimal string ("29.99") or, as the reference service's clients send
/// it, a JSON number (29.99). Both are read exactly, never through a binary floating point.
struct PriceInput: Decodable {
    let value: Decimal

    init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let text = try? container.decode(String.self) {
            guard let value = Decimal(string: text, locale: Locale(identifier: "en_US_POSIX")),
                text.wholeMatch(of: /-?[0-9]+(\.[0-9]+)?/) != nil
            else {
                throw DecodingError.dataCorruptedError(in: container, debugDescription: "a price is written like \"29.99\"")
            }
            self.value = value
        } else {
            self.value = try container.decode(Decimal.self)
        }
    }
}

struct CreateProductRequest: Decodable {
    let sku: String
    let name: String
    let description: String?
    let price: PriceInput
    let stockQuantity: Int?
    /// The reference service's name for `stock_quantity`.
    let stock: Int?
}

struct UpdateProductRequest: Decodable {
    let version: Int32
    let name: String?
    let description: String?
    let price: PriceInput?
    let stockQuantity: Int?
    let stock: Int?
}

struct StockAdjustmentRequest: Decodable {
    let delta: Int
}

struct CreateOrderRequest: Decodable {
    struct Line: Decodable {
        let productId: Int64
        let quantity: Int
    }
    /// Omitted by a customer token, which places orders for its own user.
    let userId: Int64?
    let items: [Line]
}

extension CreateOrderRequest: ScannableBody {
    /// `{"user_id": N, "items": [{"product_id": N, "quantity": N}, ...]}`, keys in any order.
    init?(scanning json: inout JSONScanner) {
        var userId: Int64?
        var items: [Line]?
        let read = json.object(keys: ["user_id", "items"]) { json, key in
            if key == 0 {
                // A null user_id is left to the decoder, which reads it as omitted.
                userId = json.integer()
                return userId != nil
            }
            var lines: [Line] = []
            let read = json.array { json in
                var productId: Int64?
                var quantity: Int64?
                let line = json.object(keys: ["product_id", "quantity"]) { json, key in
                    if key == 0 { productId = json.integer() } else { quantity = json.integer() }
                    return (key == 0 ? productId : quantity) != nil
                }
                guard line, let productId, let quantity else { return false }
                lines.append(Line(productId: productId, quantity: Int(quantity)))
                return true
            }
            items = lines
            return read
        }
        guard read, json.atEnd(), let items else { return nil }
        self.init(userId: userId, items: items)
    }
}

struct UpdateOrderRequest: Decodable {
    /// Read as text so an unknown status is a 422 naming the allowed ones, not a parse error.
    let status: String
    let version: Int32
}

struct CreateOrganizationRequest: Decodable {
    let slug: String
    let name: String
}

struct AddMemberRequest: Decodable {
    let userId: Int64
    let role: String?
}

struct SetActiveOrganizationRequest: Decodable {
    let organizationId: Int64
}

struct CreateTokenRequest: Decodable {
    let name: String
    /// Seconds until the token expires; none: it lives until revoked.
    let expiresIn: Int64?
}
