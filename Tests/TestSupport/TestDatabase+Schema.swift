import Foundation
import PostgresNIO
import SQLStore
import SQLStoreMigrations

extension TestDatabase {
    /// A runner for the store's shipped migrations on this database.
    public func schemaRunner() throws -> MigrationRunner {
        MigrationRunner(
            migrations: try SchemaMigrations.load(), connection: try connectionConfiguration, logger: TestDatabase.logger)
    }

    /// A fresh database with the store's whole schema applied: a copy of a template database that
    /// the shipped migrations built once for this test process, which is several times faster
    /// than migrating every database (the migrations themselves are tested on fresh ones).
    public static func withMigrated<Result: Sendable>(_ body: (TestDatabase) async throws -> Result) async throws -> Result {
        let template = try await MigratedTemplate.shared.name()
        return try await withFresh(template: template, body)
    }
}

/// The migrated template, built on first use by one task while the others wait for it.
actor MigratedTemplate {
    static let shared = MigratedTemplate()
    private var built: Task<String, any Error>?

    func name() async throws -> String {
        if let built { return try await built.value }
        let task = Task {
            let name = "sqlstore_template_\(ProcessInfo.processInfo.processIdentifier)"
            let admin = try TestDatabase.adminURL()
            _ = try await TestDatabase.withConnection(to: admin) { connection in
                try await connection.query("DROP DATABASE IF EXISTS \(unescaped: name)", logger: TestDatabase.logger)
                try await connection.query("CREATE DATABASE \(unescaped: name)", logger: TestDatabase.logger)
            }
            var url = admin
            url.database = name
            try await TestDatabase(name: name, url: url).schemaRunner().up()
            return name
        }
        built = task
        return try await task.value
    }
}
