import Logging
import PostgresNIO
import ServiceLifecycle
import Testing
import TestSupport

@testable import SQLStoreMigrations

/// The state queries on a caller's connection and pool, and `MigrationService` in a real
/// service group, against PostgreSQL.
@Suite("State queries and MigrationService")
struct MigrationServiceTests {
    @Test("status(on:) reads the configured tracking table on the caller's connection, and leaves its session as it was")
    func statusOnACallersConnection() async throws {
        let folder = try MigrationFolder(MigrationRunnerTests.basic)
        try await TestDatabase.withFresh { database in
            try await database.execute("CREATE SCHEMA bookkeeping")
            let custom = try runner(folder, database) {
                $0.trackingSchema = "bookkeeping"
                $0.trackingTable = "applied_changes"
            }
            try await database.withConnection { connection in
                #expect(try await custom.isUpToDate(on: connection) == false)
                #expect(try await custom.status(on: connection).pending.count == 2)
                try await custom.up(to: 1)
                let status = try await custom.status(on: connection)
                #expect(status.entries.map(\.state) == [.applied, .pending])
                #expect(try await custom.isUpToDate(on: connection) == false)
                try await custom.up()
                #expect(try await custom.isUpToDate(on: connection))
                // A runner with the default tracking table finds nothing: it looks elsewhere.
                #expect(try await runner(folder, database).isUpToDate(on: connection) == false)

                let settings = try await connection.query(
                    "SELECT current_setting('client_connection_check_interval') || ' ' || current_setting('lock_timeout')",
                    logger: TestDatabase.logger
                ).decode(String.self).reduce(into: [String]()) { $0.append($1) }
                #expect(settings == ["0 0"], "the caller's session settings are untouched")
            }
        }
    }

    @Test("isUpToDate is false after an applied migration's file changed, or with a failed migration")
    func isUpToDateHonoursChecksumsAndFailures() async throws {
        let folder = try MigrationFolder(MigrationRunnerTests.basic)
        try await TestDatabase.withFresh { database in
            try await runner(folder, database).up()
            try folder.write("002_add_widget_color.up.sql", "ALTER TABLE widgets ADD COLUMN colour TEXT;")
            try await database.withConnection { connection in
                let status = try await runner(folder, database).status(on: connection)
                #expect(status.entries.map(\.state) == [.applied, .checksumMismatch])
                #expect(try await runner(folder, database).isUpToDate(on: connection) == false)
            }
        }
        // A database of its own: 001 above would otherwise count as edited.
        try await TestDatabase.withFresh { database in
            let failing = try MigrationFolder([
                "001_t.up.sql": "-- sqlstore:no-transaction\nCREATE TABLE t (id int);\nSELECT 1/0;"
            ])
            await #expect(throws: MigrationError.self) { try await runner(failing, database).up() }
            let failingRunner = try runner(failing, database)
            let (states, upToDate) = try await database.withConnection { connection in
                (try await failingRunner.status(on: connection).entries.map(\.state),
                 try await failingRunner.isUpToDate(on: connection))
            }
            #expect(states == [.failed])
            #expect(upToDate == false)
        }
    }

    @Test("isUpToDate(on: client) answers on a pooled connection of the caller's running client")
    func isUpToDateOnAPool() async throws {
        let folder = try MigrationFolder(MigrationRunnerTests.basic)
        try await TestDatabase.withFresh { database in
            let runner = try runner(folder, database)
            let client = PostgresClient(configuration: try database.url.clientConfiguration(applicationName: "tests"))
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { await client.run() }
                #expect(try await runner.isUpToDate(on: client) == false)
                try await runner.up()
                #expect(try await runner.isUpToDate(on: client))
                group.cancelAll()
            }
        }
    }

    @Test("MigrationService migrates in a service group, releases waiters, and stays up until graceful shutdown")
    func serviceMigratesThenWaits() async throws {
        let folder = try MigrationFolder(MigrationRunnerTests.basic)
        try await TestDatabase.withFresh { database in
            let service = MigrationService(runner: try runner(folder, database), logger: TestDatabase.logger)
            let group = ServiceGroup(services: [service], logger: TestDatabase.logger)
            try await withThrowingTaskGroup(of: Void.self) { tasks in
                tasks.addTask { try await group.run() }
                // Waiters before and after completion both return.
                async let early: Void = service.waitUntilCompleted()
                try await early
                try await service.waitUntilCompleted()
                #expect(try await database.tableExists("widgets"))
                // The service is still running: returning would have ended the group.
                try await Task.sleep(for: .milliseconds(200))
                await group.triggerGracefulShutdown()
                try await tasks.waitForAll()
            }
            #expect(try await database.scalar("SELECT count(*) FROM schema_migrations", as: Int.self) == 2)
        }
    }

    @Test("a failed migration fails the service and every waiter with the runner's error")
    func failureReachesWaiters() async throws {
        let folder = try MigrationFolder(["001_bad.up.sql": "CREATE TABLE t (id int);\nSELECT 1/0;"])
        try await TestDatabase.withFresh { database in
            let service = MigrationService(runner: try runner(folder, database), logger: TestDatabase.logger)
            let group = ServiceGroup(services: [service], logger: TestDatabase.logger)
            let waiter = Task { try await service.waitUntilCompleted() }
            await #expect(throws: MigrationError.self) { try await group.run() }
            let error = await #expect(throws: MigrationError.self) { try await waiter.value }
            #expect(error?.statementFailure?.sqlState == "22012")
            #expect(try await database.tableExists("t") == false, "the migration rolled back")
        }
    }

    @Test("a waiter cancelled while it waits is released with CancellationError")
    func cancelledWaiter() async throws {
        let folder = try MigrationFolder(MigrationRunnerTests.basic)
        try await TestDatabase.withFresh { database in
            let service = MigrationService(runner: try runner(folder, database), logger: TestDatabase.logger)
            let waiter = Task { try await service.waitUntilCompleted() }
            try await Task.sleep(for: .milliseconds(50))
            waiter.cancel()
            await #expect(throws: CancellationError.self) { try await waiter.value }
        }
    }
}
