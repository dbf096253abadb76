import Foundation
import PostgresNIO
import SQLStore
import SQLStoreMigrations
import Testing
import TestSupport

@Suite("Connection warmer")
struct ConnectionWarmerTests {
    @Test("DATABASE_MAX_IDLE_CONNS connections are opened at start and kept open past the pool's idle timeout; without the warmer they close")
    func keepsConnectionsOpenWhileIdle() async throws {
        try await TestDatabase.withFresh { database in
            var settings = DatabaseSettings(url: database.url)
            settings.maxOpenConnections = 6
            settings.maxIdleConnections = 3
            // The warmer comes every 2 s: a round may run late, or give up at its limit, on a loaded
            // CI machine (it did at a 2 s timeout) and the next still comes before the 4 s timeout.
            settings.spareIdleTimeout = .seconds(4)
            settings.applicationName = "warmer-test"
            #expect(try settings.clientConfiguration().options.minimumConnections == 0, "never the pool's own minimum")
            let client = PostgresClient(configuration: try settings.clientConfiguration(), backgroundLogger: TestDatabase.logger)
            let warmer = settings.connectionWarmer(for: client, logger: TestDatabase.logger)
            let pool = Task { await client.run() }
            defer { pool.cancel() }
            let warming = Task { try await warmer.run() }

            // Opened without a single query of the application's.
            let opened = try await database.waitForSessions(of: settings.applicationName, within: .seconds(20)) { $0 == 3 }
            #expect(opened == 3)
            // Three idle timeouts later, still open.
            var counts: [Int] = []
            for _ in 0..<4 {
                try await Task.sleep(for: .seconds(3))
                counts.append(try await database.sessions(of: settings.applicationName))
            }
            #expect(counts.allSatisfy { $0 >= 3 }, "kept open: \(counts)")

            warming.cancel()
            _ = try? await warming.value
            let afterwards = try await database.waitForSessions(of: settings.applicationName, within: .seconds(15)) { $0 == 0 }
            #expect(afterwards == 0, "without the warmer, idle connections close after the idle timeout")
        }
    }

    @Test("a round while PostgreSQL cannot be reached gives up at its limit and grants nothing")
    func givesUpWhenPostgresIsDown() async throws {
        // Nothing listens on port 1: every connection attempt is refused.
        var settings = DatabaseSettings(url: try DatabaseURL("postgres://nobody@127.0.0.1:1/none?sslmode=disable"))
        settings.maxIdleConnections = 3
        let client = PostgresClient(configuration: try settings.clientConfiguration(), backgroundLogger: TestDatabase.logger)
        let pool = Task { await client.run() }
        defer { pool.cancel() }
        let warmer = ConnectionWarmer(client: client, count: 3, interval: .seconds(1), limit: .milliseconds(200), logger: TestDatabase.logger)
        let started = ContinuousClock.now
        let granted = await warmer.warm()
        let elapsed = ContinuousClock.now - started
        #expect(granted == 0)
        // Without the limit a lease waits for the pool's circuit breaker, which trips after 60 s
        // of failed attempts (ConnectionPoolConfiguration's default, which PostgresClient keeps).
        // The bound leaves room for a CI machine on which a task waited 6.7 s to be scheduled.
        #expect(elapsed < .seconds(20), "gave up after \(elapsed)")
    }
}
