import Foundation
import HTTPTypes
import Hummingbird
import SQLStore

/// `/users/{id}/tokens` and `/tokens/{id}`: customer tokens, issued and revoked by admins.
struct TokenController: StoreController {
    let store: OrderStore
    let bodyLimit: Int
    /// This instance's verified tokens: a revocation drops its token here at once (other instances
    /// refuse it within their cache's TTL).
    let cache: TokenCache

    func addRoutes(to router: some RouterMethods<StoreRequestContext>) {
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
            // The store refuses a lifetime outside 1 s to 10 years.
            let issued = try await store.createToken(
                role: .customer, userId: id, name: body.name, expiresIn: body.expiresIn.map { .seconds($0) })
            var headers = HTTPFields()
            headers[.cacheControl] = "no-store"
            return try JSONBody.response(TokenBody(issued.token, secret: issued.secret), status: .created, headers: headers)
        }
        router.delete("/tokens/:id") { _, context in
            let id = try context.id("id")
            try policy.requireAdmin(context)
            // Admin tokens are the CLI's to revoke: an API caller cannot lock the back office out.
            try await store.revokeToken(id: id, role: .customer)
            cache.remove(tokenId: id)
            return Response(status: .noContent)
        }
    }
}
