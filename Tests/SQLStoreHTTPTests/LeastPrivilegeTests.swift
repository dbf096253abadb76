import Foundation
#if canImport(Glibc)
import Glibc
#endif
import PostgresNIO
import SQLStore
import SQLStoreMigrations
import Testing
import TestSupport

@Suite("Least privilege")
struct LeastPrivilegeTests {
    @Test("`sqlstore roles`: the application role cannot change the schema, and `serve` works with it")
    func applicationRoleHasOnlyDML() async throws {
        let suffix = UUID().uuidString.prefix(8).lowercased()
        let (migrator, app, stranger) = ("m_\(suffix)", "a_\(suffix)", "s_\(suffix)")
        // Roles belong to the cluster, not to the test's database: dropped after it, pass or fail.
        func dropRoles() async throws {
            _ = try await TestDatabase.withConnection(to: try TestDatabase.adminURL()) { connection in
                try await connection.query(
                    "DROP ROLE IF EXISTS \(unescaped: migrator), \(unescaped: app), \(unescaped: stranger)", logger: TestDatabase.logger)
            }
        }
        do {
            try await checkRoles(migrator: migrator, app: app, stranger: stranger)
        } catch {
            try? await dropRoles()
            throw error
        }
        try await dropRoles()
    }

    private func checkRoles(migrator: String, app: String, stranger: String) async throws {
        try await TestDatabase.withFresh { database in
            let roles = try ChildProcess(
                try sqlstoreExecutable(), ["roles", "--migrator", migrator, "--app", app, "--database-url", database.url.urlString])
            #expect(try await roles.wait() == 0, "\(roles.output)")
            var asMigrator = database.url
            asMigrator.username = migrator
            let migrate = try ChildProcess(try sqlstoreExecutable(), ["migrate", "up", "--database-url", asMigrator.urlString])
            #expect(try await migrate.wait() == 0, "\(migrate.output)")

            var asApp = database.url
            asApp.username = app
            // The role carries the timeouts, so they hold behind a pooler too, where no startup
            // parameter can carry them.
            let timeouts = try await TestDatabase.withConnection(to: asApp) { connection in
                try await connection.query(
                    """
                    SELECT current_setting('statement_timeout') || ' ' || current_setting('lock_timeout') || ' '
                           || current_setting('idle_in_transaction_session_timeout')
                    """, logger: TestDatabase.logger
                ).decode(String.self).reduce(into: [String]()) { $0.append($1) }
            }
            #expect(timeouts == ["5s 2s 10s"])
            try await TestDatabase.withConnection(to: asApp) { connection in
                for ddl in [
                    "ALTER TABLE products ADD COLUMN sneaky INT", "DROP TABLE orders", "TRUNCATE order_items",
                    "CREATE TABLE scratch (id INT)", "CREATE INDEX ON orders (status)",
                    "INSERT INTO schema_migrations (version, name, checksum, transactional, applied_by) VALUES (999, 'x', 'x', true, 'x')",
                    "DELETE FROM schema_migrations", "ALTER FUNCTION set_user_active_org(BIGINT, BIGINT) OWNER TO CURRENT_USER",
                ] {
                    await #expect(throws: PSQLError.self, "\(ddl) must be refused") {
                        try await connection.query(PostgresQuery(unsafeSQL: ddl), logger: TestDatabase.logger)
                    }
                }
            }
            #expect(try await database.scalar("SELECT count(*) FROM schema_migrations", as: Int.self) == (try SchemaMigrations.load().count))
            #expect(try await database.tableExists("scratch") == false)

            // The SECURITY DEFINER setter: owned by the migrator, search_path pinned, not for PUBLIC.
            let definer = try await database.scalar(
                """
                SELECT pg_get_userbyid(proowner) || ' ' || prosecdef || ' ' || array_to_string(proconfig, ',')
                FROM pg_proc WHERE proname = 'set_user_active_org'
                """, as: String.self)
            #expect(definer == "\(migrator) true search_path=public, pg_temp")
            try await database.execute("CREATE ROLE \(unescaped: stranger) LOGIN")
            var asStranger = database.url
            asStranger.username = stranger
            _ = try await TestDatabase.withConnection(to: asStranger) { connection in
                await #expect(throws: PSQLError.self, "a role without grants cannot call the setter") {
                    try await connection.query("SELECT set_user_active_org(1, 1)", logger: TestDatabase.logger)
                }
            }

            let server = try await ServerProcess(database: database, url: asApp, arguments: [])
            do {
                try await useAPI(server)
            } catch {
                server.process.signal(SIGKILL)
                throw error
            }
            try await server.stop()
            #expect(!server.process.output.contains("SUPERUSER"), "no superuser warning for the application role")
            #expect(try await database.scalar("SELECT stock_quantity FROM products", as: Int.self) == 5)
        }
    }

    /// The whole API as the application role, the SECURITY DEFINER setter included.
    private func useAPI(_ server: ServerProcess) async throws {
        let user = try await server.request("POST", "/users", json: ["email": "least@example.com", "name": "Least"])
        let product = try await server.request("POST", "/products", json: ["sku": "LP", "name": "LP", "price": "2.00", "stock_quantity": 5])
        let organization = try await server.request("POST", "/organizations", json: ["slug": "least", "name": "Least"])
        let (userId, productId, orgId) = (user.json["id"] as? Int ?? 0, product.json["id"] as? Int ?? 0, organization.json["id"] as? Int ?? 0)
        #expect(try await server.request("POST", "/organizations/\(orgId)/members", json: ["user_id": userId]).status == 201)
        #expect(try await server.request("PUT", "/users/\(userId)/active-organization", json: ["organization_id": orgId]).status == 200)
        let order = try await server.request(
            "POST", "/orders", json: ["user_id": userId, "items": [["product_id": productId, "quantity": 2]]], headers: ["Idempotency-Key": "lp-1"])
        #expect(order.status == 201 && order.json["organization_id"] as? Int == orgId)
        #expect(try await server.request("PATCH", "/orders/\(order.json["id"] as? Int ?? 0)", json: ["status": "cancelled", "version": 1]).status == 200)
        #expect(try await server.request("GET", "/health/ready").status == 200)
    }

    @Test("`serve` warns loudly when it connects as a superuser")
    func superuserWarning() async throws {
        try await ServerProcess.withServer { server in
            #expect(try await server.request("GET", "/health/live").status == 200)
            try await Task.sleep(for: .milliseconds(100))
            #expect(server.process.output.contains("CONNECTED AS A POSTGRESQL SUPERUSER"))
        }
    }
}
