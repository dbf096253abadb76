import Foundation
import Hummingbird
import Logging
import PostgresNIO
import SQLStoreMigrations
import ServiceLifecycle

/// Where the database is and which port to serve on.
struct Settings: Sendable {
    var database: PostgresClient.Configuration
    var port: Int

    init(environment: [String: String]) throws {
        let host = environment["TODOS_DB_HOST"] ?? "localhost"
        let user = environment["TODOS_DB_USER"] ?? "postgres"
        let password = environment["TODOS_DB_PASSWORD"]
        let name = environment["TODOS_DB_NAME"] ?? "postgres"
        guard let dbPort = Int(environment["TODOS_DB_PORT"] ?? "5432"), let port = Int(environment["TODOS_PORT"] ?? "8080")
        else { throw SettingsError("TODOS_DB_PORT and TODOS_PORT must be numbers") }
        if host.hasPrefix("/") {
            // libpq's convention: a host starting with / is the directory of the server's socket.
            database = .init(
                unixSocketPath: "\(host)/.s.PGSQL.\(dbPort)", username: user, password: password, database: name)
        } else {
            database = .init(host: host, port: dbPort, username: user, password: password, database: name, tls: .disable)
        }
        self.port = port
    }
}

struct SettingsError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// The whole application: the pool, the migrations as a service before it serves, the routes.
/// Built here rather than in `main` so that a test could build the very same application.
func buildApplication(settings: Settings, logger: Logger) throws -> some ApplicationProtocol {
    let client = PostgresClient(configuration: settings.database, backgroundLogger: logger)
    guard let folder = Bundle.module.url(forResource: "Migrations", withExtension: nil) else {
        throw SettingsError("the Migrations resource is missing from the bundle")
    }
    // The runner opens a connection of its own for the migration lock; the pool serves requests.
    let runner = MigrationRunner(
        migrations: try MigrationSource.load(directory: folder),
        connection: settings.connectionConfiguration, logger: logger)
    let migrations = MigrationService(runner: runner, logger: logger)

    let router = Router()
    router.addMiddleware { LogRequestsMiddleware(.info) }
    TodoController(client: client, logger: logger).addRoutes(to: router.group("todos"))
    router.get("health/ready") { _, _ -> HTTPResponse.Status in
        // The state query runs on a pooled connection and reads the runner's own tracking table.
        try await runner.isUpToDate(on: client) ? .ok : .serviceUnavailable
    }

    var app = Application(
        router: router,
        configuration: .init(address: .hostname("127.0.0.1", port: settings.port), serverName: "todos"),
        services: [client, migrations],
        onServerRunning: { channel in
            // Unbuffered, so that whoever started the process sees it at once.
            FileHandle.standardOutput.write(Data("listening on port \(channel.localAddress?.port ?? settings.port)\n".utf8))
        },
        logger: logger)
    // No request is answered before the schema is there; a failed migration stops the app.
    app.beforeServerStarts { try await migrations.waitUntilCompleted() }
    return app
}

extension Settings {
    /// The same server as the pool's, for the runner's own connection.
    var connectionConfiguration: PostgresConnection.Configuration {
        var configuration: PostgresConnection.Configuration
        if let socket = database.unixSocketPath {
            configuration = .init(
                unixSocketPath: socket, username: database.username, password: database.password,
                database: database.database)
        } else {
            configuration = .init(
                host: database.host ?? "localhost", port: database.port ?? 5432, username: database.username,
                password: database.password, database: database.database, tls: .disable)
        }
        configuration.options.additionalStartupParameters = [("application_name", "todos migrations")]
        return configuration
    }
}
