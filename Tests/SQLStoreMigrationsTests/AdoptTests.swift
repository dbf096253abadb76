import Foundation
import PostgresNIO
import Testing
import TestSupport

@testable import SQLStoreMigrations

/// `adopt`: another tool's folder (the fixtures of Tests/MigrationFormats) and its history,
/// taken over, after which up, down and status work.
@Suite("Adopt")
struct AdoptTests {
    func migrations(_ folder: String) throws -> [Migration] {
        try MigrationSource.load(directory: FormatTests.fixtures.appendingPathComponent(folder))
    }

    func runner(_ migrations: [Migration], _ database: TestDatabase, trackingSchema: String? = "sqlstore") throws -> MigrationRunner {
        var configuration = MigrationRunner.Configuration()
        configuration.trackingSchema = trackingSchema
        return MigrationRunner(
            migrations: migrations, connection: try database.connectionConfiguration, configuration: configuration,
            logger: TestDatabase.logger)
    }

    /// What the other tool did: the first `count` migrations' up statements, run directly.
    func applyDirectly(_ migrations: [Migration], count: Int, _ database: TestDatabase) async throws {
        for migration in migrations.prefix(count) {
            for statement in migration.up.body { try await database.execute(PostgresQuery(unsafeSQL: statement.text)) }
        }
    }

    func adoptedVersions(_ database: TestDatabase) async throws -> String? {
        try await database.scalar(
            "SELECT string_agg(version::text || ':' || operation, ',' ORDER BY version) FROM sqlstore.schema_migrations",
            as: String.self)
    }

    @Test("golang-migrate: its current version is adopted, then up, status and down work")
    func golangMigrate() async throws {
        let migrations = try migrations("golang-migrate")
        try await TestDatabase.withFresh { database in
            try await applyDirectly(migrations, count: 2, database)
            try await database.execute("CREATE TABLE schema_migrations (version bigint NOT NULL PRIMARY KEY, dirty boolean NOT NULL)")
            try await database.execute("INSERT INTO schema_migrations VALUES (2, false)")
            let runner = try runner(migrations, database)
            let adopted = try await runner.adopt(from: .golangMigrate)
            #expect(adopted.map(\.version) == [1, 2])
            #expect(try await adoptedVersions(database) == "1:baseline,2:baseline")
            try await runner.up()
            #expect(try await runner.status().isUpToDate)
            try await runner.down(to: 0)
            #expect(try await database.tableExists("accounts") == false)
        }
    }

    @Test("golang-migrate's schema_migrations is not taken for SQLStore's own: the clash names --tracking-schema")
    func golangMigrateClash() async throws {
        let migrations = try migrations("golang-migrate")
        try await TestDatabase.withFresh { database in
            try await database.execute("CREATE TABLE schema_migrations (version bigint NOT NULL PRIMARY KEY, dirty boolean NOT NULL)")
            try await database.execute("INSERT INTO schema_migrations VALUES (1, false)")
            let runner = try runner(migrations, database, trackingSchema: nil)
            let error = await #expect(throws: MigrationAdoptError.self) { try await runner.adopt(from: .golangMigrate) }
            #expect(error?.code == .trackingInUse)
            #expect(error?.description.contains("golang-migrate's") == true)
            #expect(error?.description.contains("--tracking-schema") == true)
            let upError = await #expect(throws: MigrationAdoptError.self) { try await runner.up() }
            #expect(upError?.code == .trackingInUse, "up refuses the other tool's table too")
        }
    }

    @Test("golang-migrate: a dirty version is refused, changing nothing")
    func golangMigrateDirty() async throws {
        let migrations = try migrations("golang-migrate")
        try await TestDatabase.withFresh { database in
            try await database.execute("CREATE TABLE schema_migrations (version bigint NOT NULL PRIMARY KEY, dirty boolean NOT NULL)")
            try await database.execute("INSERT INTO schema_migrations VALUES (2, true)")
            let error = await #expect(throws: MigrationAdoptError.self) {
                try await runner(migrations, database).adopt(from: .golangMigrate)
            }
            #expect(error?.code == .unfinished)
            let recorded = try await database.scalar("SELECT count(*)::int FROM sqlstore.schema_migrations", as: Int.self)
            #expect(recorded == 0)
        }
    }

    @Test("a history that names a migration no file has is refused")
    func historyAndFilesDisagree() async throws {
        let migrations = try migrations("goose")
        try await TestDatabase.withFresh { database in
            try await database.execute(
                "CREATE TABLE goose_db_version (id serial PRIMARY KEY, version_id bigint NOT NULL, is_applied boolean NOT NULL, tstamp timestamp DEFAULT now())")
            try await database.execute("INSERT INTO goose_db_version (version_id, is_applied) VALUES (0, true), (1, true), (7, true)")
            let error = await #expect(throws: MigrationAdoptError.self) { try await runner(migrations, database).adopt(from: .goose) }
            #expect(error?.code == .disagrees)
            #expect(error?.description.contains("version 7 is applied, and no migration file here has it") == true)
        }
    }

    @Test("goose: the newest row of each version decides, then up and down work")
    func goose() async throws {
        let migrations = try migrations("goose")
        try await TestDatabase.withFresh { database in
            try await applyDirectly(migrations, count: 2, database)
            try await database.execute(
                "CREATE TABLE goose_db_version (id serial PRIMARY KEY, version_id bigint NOT NULL, is_applied boolean NOT NULL, tstamp timestamp DEFAULT now())")
            try await database.execute(
                "INSERT INTO goose_db_version (version_id, is_applied) VALUES (0, true), (1, true), (2, true), (3, true), (3, false)")
            let runner = try runner(migrations, database)
            #expect(try await runner.adopt(from: .goose, dryRun: true).map(\.version) == [1, 2])
            #expect(try await runner.status().currentVersion == nil, "a dry run records nothing")
            try await runner.adopt(from: .goose)
            try await runner.up()
            #expect(try await runner.status().isUpToDate)
            try await runner.down(to: 0)
            #expect(try await database.tableExists("accounts") == false)
        }
    }

    @Test("Flyway: a failed row is refused; a clean history is adopted")
    func flyway() async throws {
        let migrations = try migrations("flyway")
        try await TestDatabase.withFresh { database in
            try await applyDirectly(migrations, count: 1, database)
            try await database.execute(
                """
                CREATE TABLE flyway_schema_history (installed_rank int PRIMARY KEY, version varchar(50), description varchar(200),
                    type varchar(20) NOT NULL, script varchar(1000) NOT NULL, checksum int, installed_by varchar(100) NOT NULL,
                    installed_on timestamp NOT NULL DEFAULT now(), execution_time int NOT NULL, success boolean NOT NULL)
                """)
            try await database.execute(
                """
                INSERT INTO flyway_schema_history VALUES
                    (1, '1', 'Create accounts', 'SQL', 'V1__Create_accounts.sql', 1, 'me', now(), 5, true),
                    (2, '2', 'Add email', 'SQL', 'V2__Add_email.sql', 2, 'me', now(), 5, false)
                """)
            let runner = try runner(migrations, database)
            let error = await #expect(throws: MigrationAdoptError.self) { try await runner.adopt(from: .flyway) }
            #expect(error?.code == .unfinished)
            try await database.execute("DELETE FROM flyway_schema_history WHERE installed_rank = 2")
            #expect(try await runner.adopt(from: .flyway).map(\.version) == [1])
            try await runner.up()
            #expect(try await runner.status().isUpToDate)
        }
    }

    @Test("dbmate: its versions are adopted beside its own schema_migrations")
    func dbmate() async throws {
        let migrations = try migrations("dbmate")
        try await TestDatabase.withFresh { database in
            try await applyDirectly(migrations, count: 1, database)
            try await database.execute("CREATE TABLE schema_migrations (version varchar(128) PRIMARY KEY)")
            try await database.execute("INSERT INTO schema_migrations VALUES ('20240101000000')")
            let runner = try runner(migrations, database)
            #expect(try await runner.adopt(from: .dbmate).map(\.version) == [20_240_101_000_000])
            try await runner.up()
            #expect(try await runner.status().isUpToDate)
        }
    }

    @Test("sqitch: deployed changes are adopted by name, then up runs the rest with their verify scripts")
    func sqitch() async throws {
        let migrations = try migrations("sqitch")
        try await TestDatabase.withFresh { database in
            try await applyDirectly(migrations, count: 1, database)
            try await database.execute("CREATE SCHEMA sqitch")
            try await database.execute("CREATE TABLE sqitch.changes (change_id text PRIMARY KEY, change text NOT NULL, project text NOT NULL)")
            try await database.execute("INSERT INTO sqitch.changes VALUES ('abc', 'accounts', 'accounts')")
            let runner = try runner(migrations, database)
            #expect(try await runner.adopt(from: .sqitch).map(\.name) == ["accounts"])
            try await runner.up()
            #expect(try await runner.status().isUpToDate)
            #expect(try await runner.verify(expected: nil).isClean)
        }
    }

    @Test("diesel: the versions of __diesel_schema_migrations are adopted, then up and down work")
    func diesel() async throws {
        let migrations = try migrations("diesel")
        try await TestDatabase.withFresh { database in
            try await applyDirectly(migrations, count: 2, database)
            try await database.execute(
                "CREATE TABLE __diesel_schema_migrations (version VARCHAR(50) PRIMARY KEY NOT NULL, run_on TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP)")
            try await database.execute("INSERT INTO __diesel_schema_migrations (version) VALUES ('20240101000000'), ('20240102000000')")
            let runner = try runner(migrations, database, trackingSchema: nil)
            #expect(try await runner.adopt(from: .diesel).count == 2)
            try await runner.up()
            #expect(try await runner.status().isUpToDate)
            try await runner.down(to: 0)
            let left = try await database.tableExists("accounts")
            #expect(!left)
        }
    }

    @Test("sqitch: a change whose last event is a failed deploy is refused")
    func sqitchFailedDeploy() async throws {
        let migrations = try migrations("sqitch")
        try await TestDatabase.withFresh { database in
            try await database.execute("CREATE SCHEMA sqitch")
            try await database.execute("CREATE TABLE sqitch.changes (change_id text PRIMARY KEY, change text NOT NULL, project text NOT NULL)")
            try await database.execute("CREATE TABLE sqitch.events (event text NOT NULL, change text NOT NULL, committed_at timestamptz NOT NULL)")
            try await database.execute("INSERT INTO sqitch.changes VALUES ('abc', 'accounts', 'accounts')")
            try await database.execute(
                "INSERT INTO sqitch.events VALUES ('deploy', 'accounts', now() - interval '1 minute'), ('deploy_fail', 'email', now())")
            let error = await #expect(throws: MigrationAdoptError.self) { try await runner(migrations, database).adopt(from: .sqitch) }
            #expect(error?.code == .unfinished)
            #expect(error?.description.contains("change 'email' failed") == true)
        }
    }
}
