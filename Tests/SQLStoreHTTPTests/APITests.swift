import Foundation
import PostgresNIO
import SQLStoreMigrations
import Testing
#if canImport(Glibc)
import Glibc
#endif
import TestSupport

/// The API over real HTTP: a `sqlstore serve` process per suite test, real PostgreSQL behind it.
@Suite("HTTP API")
struct APITests {
    @Test("users: create (trimmed), read, page, optimistic update, and each error class")
    func users() async throws {
        try await ServerProcess.withServer { server in
            let created = try await server.request("POST", "/users", json: ["email": " ada@example.com ", "name": "Ada"])
            #expect(created.status == 201)
            #expect(created.json["email"] as? String == "ada@example.com")
            #expect(created.json.keys.sorted() == ["active_org_id", "created_at", "email", "id", "name", "updated_at", "version"])
            let id = try #require(created.json["id"] as? Int)

            #expect(try await server.request("GET", "/users/\(id)").json["name"] as? String == "Ada")
            #expect(try await server.request("POST", "/users", json: ["email": "ada@example.com", "name": "B"]).code == "duplicate")
            let invalid = try await server.request("POST", "/users", json: ["email": "not-an-email", "name": "B"])
            #expect(invalid.status == 422 && invalid.code == "invalid_input")
            let missing = try await server.request("POST", "/users", json: ["email": "b@example.com"])
            #expect(missing.status == 400 && missing.code == "invalid_body")
            #expect(try await server.request("GET", "/users/999999").status == 404)
            #expect(try await server.request("GET", "/users/abc").status == 400)
            #expect(try await server.request("GET", "/users/-1").status == 400)

            let page = try await server.request("GET", "/users?page=1&page_size=10")
            #expect(page.json["total"] as? Int == 1 && page.json["total_pages"] as? Int == 1 && page.json["page_size"] as? Int == 10)
            #expect(try await server.request("GET", "/users?page=x").status == 400)

            let renamed = try await server.request("PATCH", "/users/\(id)", json: ["version": 1, "name": "Ada L."])
            #expect(renamed.status == 200 && renamed.json["version"] as? Int == 2)
            let stale = try await server.request("PATCH", "/users/\(id)", json: ["version": 1, "name": "X"])
            #expect(stale.status == 409 && stale.code == "version_conflict")
        }
    }

    @Test("products: the reference's request shapes, exact money, in-stock pages, and validation")
    func products() async throws {
        try await ServerProcess.withServer { server in
            let created = try await server.request("POST", "/products", json: ["sku": "MUG", "name": "Mug", "price": 12.5, "stock": 3])
            #expect(created.status == 201)
            #expect(created.json["price"] as? String == "12.50" && created.json["stock_quantity"] as? Int == 3)
            let exact = try await server.request(
                "POST", "/products", json: ["sku": "PEN", "name": "Pen", "price": "0.10", "stock_quantity": 0])
            #expect(exact.json["price"] as? String == "0.10")
            #expect(try await server.request("POST", "/products", json: ["sku": "X", "name": "X", "price": "1.005"]).status == 422)
            #expect(try await server.request("POST", "/products", json: ["sku": "Y", "name": "Y", "price": -1]).status == 422)
            #expect(try await server.request("POST", "/products", json: ["sku": "Z", "name": "Z", "price": "abc"]).status == 400)
            #expect(try await server.request("POST", "/products", json: ["sku": "MUG", "name": "Again", "price": 1]).status == 409)

            let inStock = try await server.request("GET", "/products?in_stock=true")
            #expect(inStock.json["total"] as? Int == 1)
            #expect(try await server.request("GET", "/products?in_stock=maybe").status == 400)
            let id = try #require(created.json["id"] as? Int)
            let adjusted = try await server.request("POST", "/products/\(id)/stock-adjustments", json: ["delta": 5])
            #expect(adjusted.json["stock_quantity"] as? Int == 8)
        }
    }

    @Test("orders: place, read, idempotent replay, lifecycle, pages, and every refusal")
    func orders() async throws {
        try await ServerProcess.withServer { server in
            let user = try await server.request("POST", "/users", json: ["email": "o@example.com", "name": "O"]).json["id"] as? Int
            let product = try await server.request("POST", "/products", json: ["sku": "TEA", "name": "Tea", "price": "4.20", "stock": 5])
                .json["id"] as? Int
            let (userId, productId) = (try #require(user), try #require(product))
            let body: [String: Any] = ["user_id": userId, "items": [["product_id": productId, "quantity": 2]]]

            let placed = try await server.request("POST", "/orders", json: body, headers: ["Idempotency-Key": "k-1"])
            #expect(placed.status == 201)
            #expect(placed.json["total_amount"] as? String == "8.40")
            let orderId = try #require(placed.json["id"] as? Int)
            #expect(placed.header("Location") == "/orders/\(orderId)")
            let replay = try await server.request("POST", "/orders", json: body, headers: ["Idempotency-Key": "k-1"])
            #expect(replay.status == 201 && replay.json["id"] as? Int == orderId && replay.header("Idempotent-Replayed") == "true")
            let reused = try await server.request(
                "POST", "/orders", json: ["user_id": userId, "items": [["product_id": productId, "quantity": 1]]],
                headers: ["Idempotency-Key": "k-1"])
            #expect(reused.status == 422 && reused.code == "idempotency_key_reused")

            let short = try await server.request("POST", "/orders", json: ["user_id": userId, "items": [["product_id": productId, "quantity": 4]]])
            #expect(short.status == 409 && short.code == "insufficient_stock")
            let missing = try await server.request("POST", "/orders", json: ["user_id": userId, "items": [["product_id": 987654, "quantity": 1]]])
            #expect(missing.status == 404)
            let empty = try await server.request("POST", "/orders", json: ["user_id": userId, "items": []])
            #expect(empty.status == 422)
            let huge = try await server.request("POST", "/orders", raw: Data(#"{"user_id": 99999999999999999999999, "items": []}"#.utf8))
            #expect(huge.status == 400)
            let absurd = try await server.request("POST", "/orders", json: ["user_id": userId, "items": [["product_id": productId, "quantity": 3_000_000_000]]])
            #expect(absurd.status == 422)
            #expect(try await server.request("GET", "/products/\(productId)").json["stock_quantity"] as? Int == 3)

            let read = try await server.request("GET", "/orders/\(orderId)")
            #expect((read.json["items"] as? [[String: Any]])?.first?["unit_price"] as? String == "4.20")
            let confirmed = try await server.request("PATCH", "/orders/\(orderId)", json: ["status": "confirmed", "version": 1])
            #expect(confirmed.status == 200 && confirmed.json["status"] as? String == "confirmed")
            let illegal = try await server.request("PATCH", "/orders/\(orderId)", json: ["status": "delivered", "version": 2])
            #expect(illegal.status == 409 && illegal.code == "illegal_transition")
            let unknown = try await server.request("PATCH", "/orders/\(orderId)", json: ["status": "teleported", "version": 2])
            #expect(unknown.status == 422)
            let stale = try await server.request("PATCH", "/orders/\(orderId)", json: ["status": "shipped", "version": 1])
            #expect(stale.status == 409 && stale.code == "version_conflict")

            let page = try await server.request("GET", "/users/\(userId)/orders?limit=10")
            #expect((page.json["items"] as? [Any])?.count == 1 && page.json["has_more"] as? Bool == false)
            #expect(page.json.keys.contains("next_cursor"))
            let badCursor = try await server.request("GET", "/users/\(userId)/orders?cursor=forged")
            #expect(badCursor.status == 400 && badCursor.code == "invalid_cursor")
        }
    }

    @Test("organizations: membership, active organization (403 for non-members), removal clears it")
    func organizations() async throws {
        try await ServerProcess.withServer { server in
            let userId = try #require(try await server.request("POST", "/users", json: ["email": "m@example.com", "name": "M"]).json["id"] as? Int)
            let org = try await server.request("POST", "/organizations", json: ["slug": "acme", "name": "Acme"])
            #expect(org.status == 201)
            let orgId = try #require(org.json["id"] as? Int)
            #expect(try await server.request("POST", "/organizations", json: ["slug": "acme", "name": "Again"]).status == 409)
            #expect(try await server.request("POST", "/organizations", json: ["slug": "Bad Slug", "name": "B"]).status == 422)

            let notMember = try await server.request("PUT", "/users/\(userId)/active-organization", json: ["organization_id": orgId])
            #expect(notMember.status == 403 && notMember.code == "not_a_member")
            let member = try await server.request("POST", "/organizations/\(orgId)/members", json: ["user_id": userId, "role": "admin"])
            #expect(member.status == 201 && member.json["role"] as? String == "admin")
            #expect(try await server.request("POST", "/organizations/\(orgId)/members", json: ["user_id": userId, "role": "king"]).status == 422)
            let active = try await server.request("PUT", "/users/\(userId)/active-organization", json: ["organization_id": orgId])
            #expect(active.status == 200 && active.json["slug"] as? String == "acme" && active.json["role"] as? String == "admin")
            #expect(try await server.request("GET", "/users/\(userId)/active-organization").status == 200)
            #expect(try await server.request("GET", "/organizations/\(orgId)/orders").status == 200)

            #expect(try await server.request("DELETE", "/organizations/\(orgId)/members/\(userId)").status == 204)
            #expect(try await server.request("GET", "/users/\(userId)/active-organization").status == 404)
            #expect(try await server.request("DELETE", "/organizations/\(orgId)/members/\(userId)").status == 404)
        }
    }

    @Test("malformed JSON is 400, an oversized body 413, an unknown route a JSON 404, a wrong method 405 with Allow")
    func badRequests() async throws {
        try await ServerProcess.withServer(arguments: ["--body-limit", "4096"]) { server in
            let malformed = try await server.request("POST", "/users", raw: Data("{not json".utf8))
            #expect(malformed.status == 400 && malformed.code == "malformed_json")
            let empty = try await server.request("POST", "/users", raw: Data())
            #expect(empty.status == 400 && empty.code == "malformed_json")
            let notAnObject = try await server.request("POST", "/users", raw: Data("[1]".utf8))
            #expect(notAnObject.status == 400 && notAnObject.code == "invalid_body")
            #expect(notAnObject.json["error"] as? String == "the body must be a JSON object")
            let itemsNotArray = try await server.request("POST", "/orders", raw: Data(#"{"user_id": 1, "items": 5}"#.utf8))
            #expect(itemsNotArray.json["error"] as? String == "field 'items' has the wrong type (expected an array)")
            let big = try await server.request("POST", "/users", raw: Data(("{\"name\":\"" + String(repeating: "x", count: 10_000) + "\"}").utf8))
            #expect(big.status == 413 && big.code == "payload_too_large")
            let nowhere = try await server.request("GET", "/nowhere")
            #expect(nowhere.status == 404 && nowhere.code == "not_found")
            let wrongMethod = try await server.request("DELETE", "/products")
            #expect(wrongMethod.status == 405 && wrongMethod.code == "method_not_allowed")
            #expect(wrongMethod.header("Allow") == "GET, HEAD, POST")
            let wrongMethodOnItem = try await server.request("PUT", "/orders/7")
            #expect(wrongMethodOnItem.status == 405 && wrongMethodOnItem.header("Allow") == "GET, HEAD, PATCH")
            #expect(try await server.request("HEAD", "/health/live").status == 200)
            #expect(try await server.request("POST", "/users", json: ["email": "still@works.io", "name": "OK"]).status == 201)
        }
    }

    @Test("health, metrics and the OpenAPI document are served")
    func operations() async throws {
        try await ServerProcess.withServer { server in
            #expect(try await server.request("GET", "/health/live").status == 200)
            #expect(try await server.request("GET", "/health/ready").status == 200)
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
            let document = try await server.request("GET", "/openapi.yaml")
            #expect(document.status == 200 && String(decoding: document.body, as: UTF8.self).hasPrefix("openapi: 3.1"))
        }
    }

    @Test("concurrent orders through the API: only 201 or sold-out 409, and stock is conserved")
    func concurrentOrders() async throws {
        try await ServerProcess.withServer { server in
            let userId = try #require(try await server.request("POST", "/users", json: ["email": "c@example.com", "name": "C"]).json["id"] as? Int)
            var productIds: [Int] = []
            for index in 0..<2 {
                let product = try await server.request("POST", "/products", json: ["sku": "HOT-\(index)", "name": "Hot", "price": "1.00", "stock": 25])
                productIds.append(try #require(product.json["id"] as? Int))
            }
            let ids = productIds
            let statuses = try await withThrowingTaskGroup(of: Int.self) { group in
                for index in 0..<80 {
                    group.addTask {
                        let lines = [["product_id": ids[index % 2], "quantity": 1], ["product_id": ids[(index + 1) % 2], "quantity": 1]]
                        return try await server.request("POST", "/orders", json: ["user_id": userId, "items": lines]).status
                    }
                }
                return try await group.reduce(into: [Int]()) { $0.append($1) }
            }
            #expect(Set(statuses).isSubset(of: [201, 409]))
            #expect(statuses.filter { $0 == 201 }.count == 25)
            let conserved = try await server.database.scalar(
                """
                SELECT bool_and(p.stock_quantity >= 0 AND p.stock_quantity + coalesce(s.sold, 0) = 25)
                FROM products p LEFT JOIN (SELECT product_id, sum(quantity) AS sold FROM order_items GROUP BY product_id) s
                  ON s.product_id = p.id
                """, as: Bool.self)
            #expect(conserved == true)
            let orders = try await server.database.scalar("SELECT count(*) FROM orders", as: Int.self)
            #expect(orders == 25)
        }
    }
}

@Suite("sqlstore serve")
struct ServeCommandTests {
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
}
