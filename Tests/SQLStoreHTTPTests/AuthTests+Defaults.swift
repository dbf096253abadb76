import Foundation
import PostgresNIO
import Testing
import TestSupport

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
#if canImport(Glibc)
import Glibc
#endif

/// What a shop gets without configuring anything: the embedded default with authentication on,
/// and `sqlstore tokens create` whose standard output is the token alone (scripts read it).
extension AuthTests {
    @Test("the embedded default (no DATABASE_URL, no settings) starts with authentication on: no token is 401, a CLI admin token is 200")
    func embeddedDefaultRequiresATokenFromTheStart() async throws {
        let home = FileManager.default.temporaryDirectory.appendingPathComponent("sqlstore-auth-home-\(UUID().uuidString.prefix(8))")
        defer { try? FileManager.default.removeItem(at: home) }
        // Only the embedded cluster's home: whatever auth, rate-limit or database settings the
        // test runner has are removed, so the defaults decide.
        let environment: [String: String?] = [
            "DATABASE_URL": nil, "SQLSTORE_HOME": home.path, "SQLSTORE_AUTH": nil, "SQLSTORE_RATE_LIMIT": nil,
            "SQLSTORE_CURSOR_SECRET": nil, "LOG_LEVEL": "warning",
        ]
        let port = try ServerProcess.freePort()
        let serve = try ChildProcess(
            try sqlstoreExecutable(), ["serve", "--host", "127.0.0.1", "--port", "\(port)"], environment: environment)
        do {
            func get(_ path: String, token: String? = nil) async throws -> (status: Int, authenticate: String?) {
                var request = URLRequest(url: try #require(URL(string: "http://127.0.0.1:\(port)\(path)")))
                if let token { request.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization") }
                let (_, response) = try await URLSession.shared.data(for: request)
                let http = try #require(response as? HTTPURLResponse)
                return (http.statusCode, http.value(forHTTPHeaderField: "WWW-Authenticate"))
            }
            // initdb and the migrations come first: up to two minutes on a loaded machine.
            var live = false
            for _ in 0..<1200 where !live {
                live = (try? await get("/health/live"))?.status == 200
                if !live { try await Task.sleep(for: .milliseconds(100)) }
            }
            try #require(live, "the embedded server did not start:\n\(serve.outputTail())")

            for path in ["/users", "/products", "/orders/1"] {
                let anonymous = try await get(path)
                #expect(anonymous.status == 401, "\(path)")
                #expect(anonymous.authenticate == #"Bearer realm="sqlstore""#, "\(path)")
            }
            #expect(!serve.output.contains("AUTHENTICATION IS OFF"))

            // As scripts/run does: a token made on the running embedded cluster works at once.
            let create = try ChildProcess(
                try sqlstoreExecutable(), ["tokens", "create", "--role", "admin", "--name", "test"], environment: environment)
            #expect(try await create.wait(timeout: .seconds(120)) == 0, "\(create.output)")
            let token = try #require(create.output.firstMatch(of: /sqls_[A-Za-z0-9_-]{43}/).map { String($0.output) })
            #expect(try await get("/users", token: token).status == 200)
        } catch {
            serve.signal(SIGTERM)
            _ = try? await serve.wait(timeout: .seconds(60))
            throw error
        }
        // SIGTERM stops the server and the embedded PostgreSQL it started.
        serve.signal(SIGTERM)
        #expect(try await serve.wait(timeout: .seconds(60)) == 0, "\(serve.outputTail())")
    }

    @Test("sqlstore tokens create prints the token alone on standard output: one line, nothing else, even with debug logging")
    func tokensCreatePrintsOnlyTheToken() async throws {
        try await TestDatabase.withMigrated { database in
            let customer = try await database.scalar(
                "INSERT INTO users (email, name) VALUES ('only@example.com', 'Only') RETURNING id", as: Int64.self)
            for arguments in [["--role", "admin", "--name", "stdout"], ["--user", "\(try #require(customer))", "--expires", "90d"]] {
                // Standard error goes away: what is left is exactly what a script's $(...) reads.
                let create = try ChildProcess(
                    "/bin/sh",
                    ["-c", #"exec "$0" "$@" 2>/dev/null"#, try sqlstoreExecutable(), "tokens", "create", "--database-url", database.url.urlString]
                        + arguments,
                    environment: ["LOG_LEVEL": "trace"])
                #expect(try await create.wait(timeout: .seconds(60)) == 0)
                let stdout = create.output
                let lines = stdout.split(separator: "\n", omittingEmptySubsequences: false)
                #expect(lines.count == 2 && lines[1].isEmpty, "one line and its newline: \(stdout.debugDescription)")
                let token = String(lines[0])
                #expect(token.wholeMatch(of: /sqls_[A-Za-z0-9_-]{43}/) != nil, "\(stdout.debugDescription)")
                let stored = try await database.scalar(
                    "SELECT count(*) FROM api_tokens WHERE token_hash = sha256(convert_to(\(token), 'UTF8'))", as: Int.self)
                #expect(stored == 1, "the printed token is the one stored (as its hash)")
            }
        }
    }

    @Test("sqlstore tokens check exits 0 only for a live token of the database (and of --role), as scripts/run relies on")
    func tokensCheckTellsALiveTokenFromAnyOther() async throws {
        try await ServerProcess.withServer { server in
            let user = try #require(
                try await server.request("POST", "/users", json: ["email": "check@example.com", "name": "C"]).json["id"] as? Int)
            let customer = try #require(try await server.request("POST", "/users/\(user)/tokens", json: ["name": "c"]).json["token"] as? String)
            let revoked = try await server.request("POST", "/users/\(user)/tokens", json: ["name": "r"]).json
            #expect(try await server.request("DELETE", "/tokens/\(try #require(revoked["id"] as? Int))").status == 204)

            /// The exit status of `sqlstore tokens check` given `token` on standard input.
            func check(_ token: String, _ arguments: [String] = []) async throws -> Int32 {
                let process = try ChildProcess(
                    "/bin/sh",
                    ["-c", #"token=$1; shift; printf '%s\n' "$token" | "$@""#, "sh", token, try sqlstoreExecutable(), "tokens", "check",
                     "--database-url", server.database.url.urlString] + arguments)
                return try await process.wait(timeout: .seconds(60))
            }
            #expect(try await check(server.adminToken) == 0)
            #expect(try await check(server.adminToken, ["--role", "admin"]) == 0)
            #expect(try await check(customer) == 0)
            #expect(try await check(customer, ["--role", "admin"]) == 1, "live, but not an admin token")
            #expect(try await check(try #require(revoked["token"] as? String)) == 1, "revoked")
            #expect(try await check("sqls_" + String(repeating: "A", count: 43)) == 1, "unknown to this database")
            #expect(try await check("") == 1, "empty, as an empty token file")
        }
    }
}
