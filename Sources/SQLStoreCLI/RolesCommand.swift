import ArgumentParser
import Foundation
import Logging
import PostgresNIO
import SQLStore
import SQLStoreMigrations
import SQLStoreSupport

struct RolesCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "roles",
        abstract: "Create the migrator and application roles with least privilege (run as an administrator).",
        discussion: """
            The migrator owns the schema: run `sqlstore migrate` as it. The application role gets only \
            SELECT, INSERT, UPDATE and DELETE on the tables, the sequences it draws from and EXECUTE on the \
            schema's functions: no DDL, no TRUNCATE, and read-only tracking tables. Run `serve` and \
            `worker` as it. Passwords come from SQLSTORE_MIGRATOR_PASSWORD and SQLSTORE_APP_PASSWORD when \
            set. Running it again re-applies the same grants. See docs/reliability.md.
            """)

    @OptionGroup var database: DatabaseOptions
    @Option(help: "The role that owns the schema and runs migrations.") var migrator = "sqlstore_migrator"
    @Option(help: "The role the server and workers connect as.") var app = "sqlstore_app"

    func run() async throws {
        try await reportingFailures {
            var logger = Logger(label: "sqlstore.roles")
            logger.logLevel = .warning
            var roles = DatabaseRoles(migrator: migrator, application: app)
            let environment = ProcessInfo.processInfo.environment
            roles.migratorPassword = environment["SQLSTORE_MIGRATOR_PASSWORD"].flatMap { $0.isEmpty ? nil : $0 }
            roles.applicationPassword = environment["SQLSTORE_APP_PASSWORD"].flatMap { $0.isEmpty ? nil : $0 }
            try roles.validate()

            try await database.withDatabase(logger: logger) { url in
                let configuration = try url.connectionConfiguration(applicationName: "sqlstore roles")
                let connection = try await PostgresConnection.connect(configuration: configuration, id: 0, logger: logger)
                do {
                    try await roles.apply(on: connection, logger: logger)
                    // The tracking tables are created now, as the migrator, so that they are its and
                    // the application can be limited to reading them.
                    var asMigrator = configuration
                    asMigrator.options.additionalStartupParameters.append(("role", roles.migrator))
                    let runner = MigrationRunner(migrations: [], connection: asMigrator, logger: logger)
                    try await runner.createTrackingTables()
                    try await roles.restrictTrackingTables(runner.trackingTables, on: connection, logger: logger)
                    let foreign = try await roles.objectsNotOwnedByMigrator(on: connection, logger: logger)
                    try await connection.close()
                    printError("roles ready: \(roles.migrator) owns the schema (run `sqlstore migrate` as it), "
                        + "\(roles.application) has DML only (run `serve` and `worker` as it)")
                    if !foreign.isEmpty {
                        printError(
                            "warning: \(foreign.count) objects in public are owned by other roles, so \(roles.migrator) "
                                + "cannot migrate them: \(foreign.joined(separator: ", ")). As their owner or a superuser, "
                                + "run REASSIGN OWNED BY <owner> TO \(roles.migrator) (in this database).")
                    }
                } catch {
                    try? await connection.close()
                    throw error
                }
            }
        }
    }
}
