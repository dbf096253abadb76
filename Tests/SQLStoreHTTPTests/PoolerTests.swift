import Foundation
import SQLStoreMigrations
import Testing
import TestSupport

/// SQLStore behind a real transaction-pooling PgBouncer (Debian's 1.18, default settings):
/// no startup parameter PgBouncer refuses, no named prepared statement that another client's
/// transaction could find or miss on the same server connection.
@Suite("behind PgBouncer (transaction pooling)")
struct PoolerTests {
    static let initialStock = 100_000

    @Test("with DATABASE_POOLER=pgbouncer, concurrent orders and product reads through PgBouncer all answer 2xx, every 201 order exists, stock is conserved")
    func concurrentLoadThroughPgBouncer() async throws {
        try await TestDatabase.withMigrated { database in
            let bouncer = try await PgBouncer(upstream: database.url, poolSize: 6)
            do {
                let server = try await ServerProcess(
                    database: database, url: bouncer.url(for: database.url), arguments: ["--pooler", "pgbouncer"])
                let client = FaultClient(server, timeout: 20)
                let (userId, products) = try await client.seed(products: 6, stock: Self.initialStock)
                let ledger = Ledger()
                // More clients than PgBouncer has server connections, so that transactions of
                // different clients share server connections, as in production.
                await withTaskGroup(of: Void.self) { group in
                    for worker in 0..<16 {
                        group.addTask {
                            for round in 0..<30 {
                                let first = products[(worker + round) % products.count]
                                let second = products[(worker + round + 1) % products.count]
                                let lines = [(first, 1 + round % 3), (second, 1)]
                                await ledger.record(order: await client.placeOrder(userId: userId, lines: lines), lines: lines)
                                await ledger.record(await client.send("GET", "/products/\(first)"))
                            }
                        }
                    }
                }
                let exchanges = await ledger.exchanges
                let failed = exchanges.filter { !(200..<300).contains($0.status ?? 0) }
                #expect(exchanges.count == 16 * 30 * 2)
                #expect(failed.isEmpty, "\(failed.count) non-2xx answers, e.g. \(failed.prefix(3).map(\.summary))\n\(server.process.output.suffix(2000))")

                let acknowledged = await ledger.acknowledged
                #expect(acknowledged.count == 16 * 30)
                let audit = try await OrderAudit.check(database: database, acknowledged: acknowledged, initialStock: Self.initialStock)
                #expect(audit.violations == 0, "\(audit.problems)")
                #expect(audit.unacknowledged == 0)
                try await server.stop()
            } catch {
                await bouncer.stop()
                throw error
            }
            await bouncer.stop()
        }
    }

    @Test("migrate refuses a DATABASE_URL that DATABASE_POOLER says is a transaction pooler, and names MIGRATE_DATABASE_URL")
    func migrateRefusesThePooler() async throws {
        try await TestDatabase.withFresh { database in
            let process = try ChildProcess(
                try sqlstoreExecutable(), ["migrate", "up"],
                environment: ["DATABASE_URL": database.url.urlString, "DATABASE_POOLER": "pgbouncer", "MIGRATE_DATABASE_URL": nil])
            #expect(try await process.wait() == 1)
            #expect(process.output.contains("MIGRATE_DATABASE_URL"), "\(process.output)")
            let tracked = try await database.tableExists("schema_migrations")
            #expect(!tracked, "nothing ran")
        }
    }

    @Test("migrate runs on MIGRATE_DATABASE_URL, a direct connection, while DATABASE_URL names the pooler")
    func migrateUsesTheDirectURL() async throws {
        try await TestDatabase.withFresh { database in
            let process = try ChildProcess(
                try sqlstoreExecutable(), ["migrate", "up"],
                environment: [
                    "DATABASE_URL": "postgres://nobody@127.0.0.1:1/none", "DATABASE_POOLER": "pgbouncer",
                    "MIGRATE_DATABASE_URL": database.url.urlString,
                ])
            #expect(try await process.wait() == 0, "\(process.output)")
            #expect(try await database.tableExists("orders"))
        }
    }
}
