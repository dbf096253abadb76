import Foundation
import PostgresNIO
import Testing
import TestSupport

#if canImport(Glibc)
import Glibc
#endif

extension FaultTests {
    // MARK: A synchronous standby that never answers

    /// Verifying a token writes its `last_used_at`. Were that commit synchronous, every request on
    /// a cache miss would wait for the standby, holding the token's row against every other
    /// request of the same token (CI saw order placements stuck behind it, never reaching COMMIT).
    @Test("while a synchronous standby never answers, tokens are still verified at once, eight first uses of one token together too")
    func tokenVerificationDoesNotWaitForAStandby() async throws {
        try await ThrowawayCluster.withCluster { cluster in
            let database = try await cluster.migratedDatabase()
            // A look-up that waited for the standby would answer 503 at this deadline.
            let server = try await ServerProcess(database: database, arguments: ["--write-timeout", "5s"])
            do {
                // Made before the standby is required: these are writes, which do wait for it.
                let user = try #require(
                    try await server.request("POST", "/users", json: ["email": "c@example.com", "name": "C"]).json["id"] as? Int)
                let first = try #require(try await server.request("POST", "/users/\(user)/tokens", json: ["name": "a"]).json["token"] as? String)
                let shared = try #require(try await server.request("POST", "/users/\(user)/tokens", json: ["name": "b"]).json["token"] as? String)

                try await cluster.admin("ALTER SYSTEM SET synchronous_standby_names = 'ghost_standby'")
                try await cluster.admin("SELECT pg_reload_conf()")
                try await waitForSetting(database, "synchronous_standby_names", "ghost_standby")

                #expect(try await server.request("GET", "/users/\(user)", as: .bearer(first)).status == 200)
                let statuses = try await withThrowingTaskGroup(of: Int.self) { group in
                    for _ in 0..<8 {
                        group.addTask { try await server.request("GET", "/users/\(user)", as: .bearer(shared)).status }
                    }
                    return try await group.reduce(into: [Int]()) { $0.append($1) }
                }
                #expect(statuses == Array(repeating: 200, count: 8), "\(statuses)")
                let used = try await database.scalar("SELECT count(*) FROM api_tokens WHERE last_used_at IS NOT NULL AND role = 'customer'", as: Int.self)
                #expect(used == 2, "both customer tokens' last use was recorded")

                try await cluster.admin("ALTER SYSTEM RESET synchronous_standby_names")
                try await cluster.admin("SELECT pg_reload_conf()")
                try await waitForSetting(database, "synchronous_standby_names", "")
                try await server.stop()
            } catch {
                server.process.signal(SIGKILL)
                print("[faults] server output:\n\(server.process.outputTail())")
                throw error
            }
        }
    }
}
