import SQLStore
import SQLStoreMigrations

extension TestDatabase {
    /// A runner for the store's shipped migrations on this database.
    public func schemaRunner() throws -> MigrationRunner {
        MigrationRunner(
            migrations: try SchemaMigrations.load(), connection: try connectionConfiguration, logger: TestDatabase.logger)
    }

    /// A fresh database with the store's whole schema applied.
    public static func withMigrated<Result: Sendable>(_ body: (TestDatabase) async throws -> Result) async throws -> Result {
        try await withFresh { database in
            try await database.schemaRunner().up()
            return try await body(database)
        }
    }
}
