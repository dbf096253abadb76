import Foundation
import PostgresNIO
import SQLStoreMigrations
import Testing
#if canImport(Glibc)
import Glibc
#endif
import TestSupport

/// What only a separate `sqlstore serve` process shows: signals, its log output, the metrics
/// system it bootstraps once per process, and refusals at start. Requests and responses are
/// tested in-process (``TestApplication``).
@Suite("sqlstore serve")
struct ServeCommandTests {
    @Test("the process serves Prometheus metrics: each request counted once by route, method and status")
    func servesMetrics() async throws {
        try await ServerProcess.withServer { server in
            let user = try await server.request("POST", "/users", json: ["email": "x@example.com", "name": "X"]).json["id"] as? Int
            let product = try await server.request("POST", "/products", json: ["sku": "M", "name": "M", "price": 1, "stock": 1]).json["id"] as? Int
            let order = try await server.request(
                "POST", "/orders", json: ["user_id": try #require(user), "items": [["product_id": try #require(product), "quantity": 1]]])
            #expect(order.status == 201)
            let metrics = try await server.request("GET", "/metrics")
            #expect(metrics.status == 200)
            let text = String(decoding: metrics.body, as: UTF8.self)
            #expect(text.contains("http_server_request_duration"))
            // Counted once per request, by route, method and status; none left active.
            #expect(text.contains(#"hb_requests{http_route="/orders",http_request_method="POST",http_response_status_code="201"} 1"#))
            #expect(text.contains(#"http_server_active_requests{http_request_method="POST"} 0"#))
            #expect(text.contains("sqlstore_orders_placed_total 1"))
            #expect(text.contains("sqlstore_db_operations_in_flight"))
        }
    }

    @Test("SIGTERM under load: in-flight requests finish, every acknowledged order exists, exit 0")
    func gracefulShutdownLosesNothing() async throws {
        try await TestDatabase.withMigrated { database in
            let server = try await ServerProcess(database: database, arguments: [])
            let userId = try #require(try await server.request("POST", "/users", json: ["email": "s@example.com", "name": "S"]).json["id"] as? Int)
            let productId = try #require(
                try await server.request("POST", "/products", json: ["sku": "S", "name": "S", "price": "1.00", "stock": 100_000]).json["id"] as? Int)
            let placed = Counter()
            let acknowledged = try await withThrowingTaskGroup(of: Int?.self) { group in
                // SIGTERM once the load is under way: 20 orders acknowledged, many in flight.
                group.addTask {
                    while await placed.count < 20 { try await Task.sleep(for: .milliseconds(2)) }
                    server.process.signal(SIGTERM)
                    return nil
                }
                for _ in 0..<200 {
                    group.addTask {
                        let reply = try? await server.request(
                            "POST", "/orders", json: ["user_id": userId, "items": [["product_id": productId, "quantity": 1]]])
                        guard reply?.status == 201 else { return nil }
                        await placed.increment()
                        return reply?.json["id"] as? Int
                    }
                }
                return try await group.reduce(into: [Int]()) { if let id = $1 { $0.append(id) } }
            }
            #expect(try await server.process.wait(timeout: .seconds(30)) == 0, "\(server.process.output)")
            #expect(!acknowledged.isEmpty)
            let stored = try await database.scalar(
                "SELECT count(*) FROM orders WHERE id = ANY(\(acknowledged.map(Int64.init)))", as: Int.self)
            #expect(stored == acknowledged.count, "every 201 is in the database")
            let conserved = try await database.scalar(
                "SELECT stock_quantity + (SELECT coalesce(sum(quantity), 0) FROM order_items) = 100000 FROM products", as: Bool.self)
            #expect(conserved == true)
        }
    }

    @Test("every logged line of a request carries that request's id")
    func logLinesCarryTheRequestID() async throws {
        try await ServerProcess.withServer(logLevel: "debug") { server in
            #expect(try await server.request("GET", "/products/999999").status == 404)
            var line: Substring?
            for _ in 0..<100 where line == nil {
                line = server.process.output.split(separator: "\n").first { $0.contains("hb.request.path=/products/999999") }
                if line == nil { try await Task.sleep(for: .milliseconds(20)) }
            }
            let logged = try #require(line, "no log line for the request:\n\(server.process.output.suffix(2000))")
            #expect(logged.contains("hb.request.id="), "\(logged)")
            #expect(logged.contains(" debug sqlstore: "), "swift-log's stream format: \(logged)")
        }
    }

    @Test("with a DATABASE_URL whose schema is behind, serve refuses and names the fix")
    func refusesStaleSchema() async throws {
        try await TestDatabase.withFresh { database in
            let process = try ChildProcess(
                try sqlstoreExecutable(), ["serve", "--port", "0", "--database-url", database.url.urlString],
                environment: ["SQLSTORE_CURSOR_SECRET": ServerProcess.cursorSecret])
            #expect(try await process.wait() == 1)
            #expect(process.output.contains("sqlstore migrate up"), "\(process.output)")
        }
    }

    @Test("a pool larger than the connections PostgreSQL allows the role is warned about at start")
    func warnsAboutAnOversizedPool() async throws {
        // The test cluster allows 300 connections, 3 of them reserved for superusers.
        let oversized = try await ServerProcess.withServer(arguments: ["--max-open-conns", "400"]) { server in
            _ = try await server.request("GET", "/health/live")
            return server.process.output
        }
        #expect(oversized.contains("DATABASE_MAX_OPEN_CONNS is 400 but PostgreSQL lets this role open at most 297"), "\(oversized)")
        let fitting = try await ServerProcess.withServer(arguments: ["--max-open-conns", "20"]) { server in
            _ = try await server.request("GET", "/health/live")
            return server.process.output
        }
        #expect(!fitting.contains("DATABASE_MAX_OPEN_CONNS is"))
    }

    @Test("with a DATABASE_URL and no cursor secret, serve refuses and names SQLSTORE_CURSOR_SECRET")
    func refusesMissingCursorSecret() async throws {
        try await TestDatabase.withMigrated { database in
            let process = try ChildProcess(
                try sqlstoreExecutable(), ["serve", "--port", "0", "--database-url", database.url.urlString],
                environment: ["SQLSTORE_CURSOR_SECRET": nil])
            #expect(try await process.wait() == 1)
            #expect(process.output.contains("SQLSTORE_CURSOR_SECRET"), "\(process.output)")
        }
    }

    @Test("a configuration value that cannot be used is refused, naming its variable")
    func refusesBadConfiguration() async throws {
        try await TestDatabase.withMigrated { database in
            for (name, value) in [("SERVER_READ_TIMEOUT", "soon"), ("DATABASE_MAX_OPEN_CONNS", "0"), ("DATABASE_POOLER", "pgpool")] {
                let process = try ChildProcess(
                    try sqlstoreExecutable(), ["serve", "--port", "0", "--database-url", database.url.urlString],
                    environment: ["SQLSTORE_CURSOR_SECRET": ServerProcess.cursorSecret, name: value])
                #expect(try await process.wait() == 1)
                #expect(process.output.contains("error: \(name):"), "\(name): \(process.output)")
            }
        }
    }

    @Test("a flag's value that cannot be used is refused, naming the flag")
    func refusesBadFlags() async throws {
        try await TestDatabase.withMigrated { database in
            for (flag, value) in [
                ("--conn-max-idle-time", "0s"), ("--admin-rate-limit", "fast"), ("--rate-limit", "0/0"), ("--workers", "-1"),
                ("--body-limit", "0"),
            ] {
                let process = try ChildProcess(
                    try sqlstoreExecutable(), ["serve", "--port", "0", "--database-url", database.url.urlString, "\(flag)=\(value)"],
                    environment: ["SQLSTORE_CURSOR_SECRET": ServerProcess.cursorSecret])
                #expect(try await process.wait() == 1)
                #expect(process.output.contains("error: \(flag):"), "\(flag) \(value): \(process.output)")
            }
        }
    }

    @Test("sqlstore worker refuses a batch size or concurrency it cannot use, naming the flag, before connecting")
    func workerRefusesBadFlags() async throws {
        for (flag, value) in [("--batch-size", "0"), ("--batch-size", "-5"), ("--concurrency", "0")] {
            // Nothing listens on port 1: a run that got past validation would fail differently.
            let process = try ChildProcess(
                try sqlstoreExecutable(), ["worker", "--database-url", "postgres://nobody@127.0.0.1:1/none", "\(flag)=\(value)"])
            #expect(try await process.wait() == 64, "\(flag)=\(value): \(process.output)")
            #expect(process.output.contains(flag), "\(flag)=\(value): \(process.output)")
        }
    }
}
