import Foundation
import PostgresNIO
import Testing
import TestSupport

/// How long a token may live (docs/security.md, "Tokens").
extension AuthTests {
    @Test("a lifetime outside 1 second to 10 years is a 422 naming expires_in, through the API and the CLI, and makes no token")
    func tokenLifetimeBounds() async throws {
        try await ServerProcess.withServer { server in
            let user = try #require(
                try await server.request("POST", "/users", json: ["email": "c@example.com", "name": "C"]).json["id"] as? Int)
            func tokenCount() async throws -> Int? {
                try await server.database.scalar("SELECT count(*) FROM api_tokens", as: Int.self)
            }
            let before = try await tokenCount()
            for seconds in [0, -1, 315_360_001, Int(Int64.max)] {
                let reply = try await server.request("POST", "/users/\(user)/tokens", json: ["name": "t", "expires_in": seconds])
                #expect(reply.status == 422 && reply.code == "invalid_input", "\(seconds): \(reply.status)")
                #expect((reply.json["details"] as? [String: Any])?["field"] as? String == "expires_in", "\(seconds)")
            }
            let tooLong = try ChildProcess(
                try sqlstoreExecutable(),
                ["tokens", "create", "--role", "admin", "--expires", "3651d", "--database-url", server.database.url.urlString],
                environment: ["LOG_LEVEL": "warning"])
            #expect(try await tooLong.wait(timeout: .seconds(60)) != 0)
            #expect(tooLong.output.contains("--expires"), "\(tooLong.outputTail())")
            let overflowing = try ChildProcess(
                try sqlstoreExecutable(),
                ["tokens", "create", "--role", "admin", "--expires", "999999999999999d", "--database-url", server.database.url.urlString],
                environment: ["LOG_LEVEL": "warning"])
            #expect(try await overflowing.wait(timeout: .seconds(60)) != 0)
            #expect(try await tokenCount() == before, "no refused lifetime made a token")

            let longest = try await server.request("POST", "/users/\(user)/tokens", json: ["name": "t", "expires_in": 315_360_000])
            #expect(longest.status == 201)
        }
    }

    @Test("a token that expires centuries from now (made by SQL) authenticates, and the server goes on answering")
    func tokenExpiringCenturiesAhead() async throws {
        try await ServerProcess.withServer { server in
            let user = try #require(
                try await server.request("POST", "/users", json: ["email": "c@example.com", "name": "C"]).json["id"] as? Int)
            let issued = try await server.request("POST", "/users/\(user)/tokens", json: ["name": "t"]).json
            let token = try #require(issued["token"] as? String)
            let id = try #require(issued["id"] as? Int)
            try await server.database.execute("UPDATE api_tokens SET expires_at = now() + interval '500 years' WHERE id = \(Int64(id))")

            #expect(try await server.request("GET", "/users/\(user)", as: .bearer(token)).status == 200)
            #expect(try await server.request("GET", "/users/\(user)", as: .bearer(token)).status == 200, "and from the cache")
            #expect(try await server.request("GET", "/health/live", as: .anonymous).status == 200)
        }
    }
}
