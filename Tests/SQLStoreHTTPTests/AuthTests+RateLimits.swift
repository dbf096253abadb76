import Foundation
import Testing
import TestSupport

/// Whose bucket each request takes from (docs/security.md, "Rate limits").
extension AuthTests {
    @Test("customer tokens and failed look-ups are limited by SQLSTORE_RATE_LIMIT, admin tokens by SQLSTORE_ADMIN_RATE_LIMIT; valid tokens' look-ups never take from their address")
    func whoseBucketEachRequestTakesFrom() async throws {
        // A slow refill (one request every 2 s) so that a loaded machine, answering a request in
        // well over 200 ms, still empties the bucket within the bursts below.
        try await Self.withWorld(arguments: ["--rate-limit", "0.5/5"]) { world in
            // Ten customer tokens seen for the first time from one address (as through a shop's
            // proxy): ten look-ups, none refused, although the address's bucket holds five.
            for _ in 0..<10 {
                let token = try await world.customerToken(for: world.d).token
                #expect(try await world.server.request("GET", "/products/\(world.product)", as: .bearer(token)).status == 200)
            }

            func burst(_ count: Int, as credential: ServerProcess.Credential) async throws -> (statuses: [Int], seconds: Double) {
                let started = ContinuousClock.now
                var statuses: [Int] = []
                for _ in 0..<count {
                    let reply = try await world.server.request("GET", "/products/\(world.product)", as: credential)
                    if reply.status == 429 { #expect(Int(reply.header("Retry-After") ?? "") ?? 0 >= 1) }
                    statuses.append(reply.status)
                }
                let elapsed = ContinuousClock.now - started
                return (statuses, Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18)
            }

            // One customer token: its burst of 5, then 429 (plus what 0.5/s refills meanwhile).
            let customer = try await burst(30, as: world.credential(.stranger))
            #expect(Set(customer.statuses).isSubset(of: [200, 429]), "\(customer.statuses)")
            #expect(Double(customer.statuses.filter { $0 == 200 }.count) <= 5 + 0.5 * customer.seconds + 1, "\(customer.statuses)")
            #expect(customer.statuses.contains(429))

            // The admin token is not held to the customers' limit.
            let admin = try await burst(50, as: .admin)
            #expect(admin.statuses.allSatisfy { $0 == 200 }, "\(admin.statuses)")

            // Unknown tokens from this address: each failed look-up takes from its bucket, and an
            // empty bucket is refused before any look-up.
            let unknown = try await burst(30, as: world.credential(.unknown))
            #expect(Set(unknown.statuses).isSubset(of: [401, 429]), "\(unknown.statuses)")
            #expect(Double(unknown.statuses.filter { $0 == 401 }.count) <= 5 + 0.5 * unknown.seconds + 1, "\(unknown.statuses)")
            #expect(unknown.statuses.contains(429))
        }
    }

    @Test("serve --admin-rate-limit holds admin tokens to its limit, and customers keep theirs")
    func adminRateLimitFlag() async throws {
        try await ServerProcess.withServer(arguments: ["--admin-rate-limit", "0.5/5", "--rate-limit", "1000/1000"]) { server in
            // Two of the admin's five: a customer and its token.
            let user = try #require(
                try await server.request("POST", "/users", json: ["email": "c@example.com", "name": "C"]).json["id"] as? Int)
            let customer = try #require(
                try await server.request("POST", "/users/\(user)/tokens", json: ["name": "t"]).json["token"] as? String)
            var statuses: [Int] = []
            let started = ContinuousClock.now
            for _ in 0..<30 {
                statuses.append(try await server.request("GET", "/products", as: .admin).status)
            }
            // The slow refill keeps a loaded machine (well over 200 ms a request) from refilling
            // the bucket as fast as this loop takes from it.
            let seconds = Double((ContinuousClock.now - started).components.seconds)
            #expect(Set(statuses).isSubset(of: [200, 429]), "\(statuses)")
            #expect(statuses.contains(429), "\(statuses)")
            #expect(Double(statuses.filter { $0 == 200 }.count) <= 5 + 0.5 * (seconds + 1) + 1, "\(statuses)")
            // The customer's token takes from its own bucket, not the admins'.
            #expect(try await server.request("GET", "/products", as: .bearer(customer)).status == 200)
        }
    }
}
