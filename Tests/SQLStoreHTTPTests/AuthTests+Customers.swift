import Foundation
import PostgresNIO
import Testing
import TestSupport

/// The matrix's finer print: tokens of a shape the server does not know, a customer's refusals
/// that come from the store, and revocation through the API.
extension AuthTests {
    @Test("a token of no known shape (an unknown role, an admin bound to a user, a customer without one) is 401, never an admin")
    func unknownTokenShapesFailClosed() async throws {
        try await Self.withWorld { world in
            // The table's checks forbid these rows; a migration gone wrong or a hand edit might not.
            try await world.server.database.execute(
                "ALTER TABLE api_tokens DROP CONSTRAINT api_tokens_role_user_check, DROP CONSTRAINT api_tokens_role_check")
            let shapes: [(role: String, user: Int64?)] = [("superuser", nil), ("root", Int64(world.a)), ("admin", Int64(world.a)), ("customer", nil)]
            for shape in shapes {
                let secret = "sqls_" + String((0..<43).map { _ in "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".randomElement()! })
                try await world.server.database.execute(
                    """
                    INSERT INTO api_tokens (token_hash, name, role, user_id)
                    VALUES (sha256(convert_to(\(secret), 'UTF8')), 'odd', \(shape.role), \(shape.user))
                    """)
                for path in ["/users", "/products", "/users/\(world.a)"] {
                    // Twice: a refused token is not cached either.
                    for _ in 0..<2 {
                        let reply = try await world.server.request("GET", path, as: .bearer(secret))
                        #expect(reply.status == 401, "\(shape) on \(path)")
                        #expect(reply.json["error"] as? String == "a valid bearer token is required", "never says why")
                    }
                }
            }
        }
    }

    @Test("a customer setting its active organization to one it is not in is 403 not_a_member, and nothing changes")
    func customerActiveOrganizationOutsideItsMemberships() async throws {
        try await Self.withWorld { world in
            let before = try await world.state()
            let reply = try await world.server.request(
                "PUT", "/users/\(world.d)/active-organization", json: ["organization_id": world.organization],
                as: world.credential(.stranger))
            #expect(reply.status == 403)
            #expect(reply.code == "not_a_member")
            #expect(try await world.state() == before)
        }
    }

    @Test("a customer cancelling its own order once shipped is 409 illegal_transition, and the order stays shipped")
    func customerCannotCancelAShippedOrder() async throws {
        try await Self.withWorld { world in
            let order = try await world.newOrder(for: world.a)
            _ = try await world.adminJSON("PATCH", "/orders/\(order)", ["status": "confirmed", "version": 1])
            _ = try await world.adminJSON("PATCH", "/orders/\(order)", ["status": "shipped", "version": 2])
            let before = try await world.state()
            let reply = try await world.server.request(
                "PATCH", "/orders/\(order)", json: ["status": "cancelled", "version": 3], as: world.credential(.owner))
            #expect(reply.status == 409)
            #expect(reply.code == "illegal_transition")
            #expect(try await world.state() == before)
            #expect(try await world.adminJSON("GET", "/orders/\(order)")["status"] as? String == "shipped")
        }
    }

    @Test("DELETE /tokens/{id} refuses the token on the revoking instance at once; a revocation elsewhere takes the cache's TTL")
    func apiRevocationDropsTheTokenFromThisInstanceAtOnce() async throws {
        // A TTL far longer than the test: only the revocation itself can end the cached entry.
        try await Self.withWorld(arguments: ["--token-cache-ttl", "5m"]) { world in
            let revokedHere = try await world.customerToken(for: world.a)
            let revokedElsewhere = try await world.customerToken(for: world.a)
            for token in [revokedHere.token, revokedElsewhere.token] {
                #expect(try await world.server.request("GET", "/users/\(world.a)", as: .bearer(token)).status == 200, "cached now")
            }

            #expect(try await world.server.request("DELETE", "/tokens/\(revokedHere.id)").status == 204)
            let next = try await world.server.request("GET", "/users/\(world.a)", as: .bearer(revokedHere.token))
            #expect(next.status == 401, "the very next request after the 204")

            // As `sqlstore tokens revoke` or another instance's API would: this instance learns of
            // it only when its cached entry ends (docs/security.md).
            try await world.server.database.execute(
                "UPDATE api_tokens SET revoked_at = now() WHERE id = \(Int64(revokedElsewhere.id))")
            #expect(
                try await world.server.request("GET", "/users/\(world.a)", as: .bearer(revokedElsewhere.token)).status == 200,
                "still cached: refused within SQLSTORE_TOKEN_CACHE_TTL")
        }
    }
}
