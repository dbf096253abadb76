import ArgumentParser
import Foundation
import Hummingbird
import Logging
import Metrics
import PostgresNIO
import Prometheus
import SQLStore
import SQLStoreHTTP
import SQLStoreMigrations
import ServiceLifecycle

/// Configuration shared by `serve` and `worker`: the reference's environment names, overridden by flags.
struct StoreOptions: ParsableArguments {
    @OptionGroup var database: DatabaseOptions

    @Option(help: "Most pooled connections (env DATABASE_MAX_OPEN_CONNS, default 25).")
    var maxOpenConns: Int?
    @Option(help: "Connections kept open while idle (env DATABASE_MAX_IDLE_CONNS, default 5).")
    var maxIdleConns: Int?
    @Option(help: "Close a connection this old when it is given back (env DATABASE_CONN_MAX_LIFETIME, default 5m).")
    var connMaxLifetime: GoDuration?
    @Option(help: "Signs page cursors (env SQLSTORE_CURSOR_SECRET; default derived from the database URL).")
    var cursorSecret: String?

    func settings(url: DatabaseURL) throws -> DatabaseSettings {
        var settings = try DatabaseSettings(url: url, environment: ProcessInfo.processInfo.environment)
        if let maxOpenConns { settings.maxOpenConnections = maxOpenConns }
        if let maxIdleConns { settings.maxIdleConnections = maxIdleConns }
        if let connMaxLifetime { settings.connectionMaxLifetime = connMaxLifetime.value }
        return settings
    }

    func secret(url: DatabaseURL) -> String {
        cursorSecret ?? ProcessInfo.processInfo.environment["SQLSTORE_CURSOR_SECRET"] ?? url.urlString
    }
}

struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Run the HTTP API (SIGTERM/SIGINT: finish in-flight requests, drain the pool, exit 0).",
        discussion: """
            With no DATABASE_URL it starts the embedded PostgreSQL, migrates it and serves. With a \
            DATABASE_URL it refuses a schema that is behind the migrations unless --allow-stale-schema.
            """)

    @OptionGroup var store: StoreOptions
    @Option(help: "Address to listen on (env SERVER_HOST, default 127.0.0.1).") var host: String?
    @Option(help: "Port to listen on (env SERVER_PORT, default 8080).") var port: Int?
    @Option(help: "Close connections idle this long (env SERVER_READ_TIMEOUT, default 10s).") var readTimeout: GoDuration?
    @Option(help: "Answer 503 when the database has not answered within this (env SERVER_WRITE_TIMEOUT, default 10s).")
    var writeTimeout: GoDuration?
    @Option(help: "Largest accepted request body in bytes (default 1048576).") var bodyLimit: Int?
    @Option(help: "Order workers to run inside the server (default 0).") var workers = 0
    @Flag(help: "Serve even if the schema is behind the migrations.") var allowStaleSchema = false
    @Flag(help: "Fill an empty store with a small demo catalogue (users, products, an organization).") var demo = false

    func run() async throws {
        try await reportingFailures {
            let logger = serverLogger()
            let registry = PrometheusCollectorRegistry()
            MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))
            let migrations = try SchemaMigrations.load()
            let embedded = store.database.resolvedURL == nil
            try await store.database.withDatabase(logger: logger) { url in
                if embedded {
                    // The embedded database is ours: bring it up to date before serving.
                    let runner = MigrationRunner(
                        migrations: migrations, connection: try url.connectionConfiguration(applicationName: "sqlstore migrate"),
                        logger: logger)
                    let applied = try await runner.up()
                    if !applied.isEmpty { logger.info("migrated the embedded database", metadata: ["applied": "\(applied.count)"]) }
                }
                let environment = ProcessInfo.processInfo.environment
                var settings = ServerSettings()
                settings.host = host ?? environment["SERVER_HOST"] ?? settings.host
                settings.port = try port ?? environment["SERVER_PORT"].map { try parsePort($0) } ?? settings.port
                if let timeout = try readTimeout?.value ?? environment["SERVER_READ_TIMEOUT"].map(parseDuration) {
                    settings.readTimeout = timeout
                }
                if let bodyLimit { settings.bodyLimit = bodyLimit }

                let databaseSettings = try store.settings(url: url)
                let client = PostgresClient(configuration: try databaseSettings.clientConfiguration(), backgroundLogger: logger)
                var retry = RetryPolicy()
                if let timeout = try writeTimeout?.value ?? environment["SERVER_WRITE_TIMEOUT"].map(parseDuration) {
                    retry.deadline = timeout
                }
                let orderStore = OrderStore(
                    client: client, cursorSecret: store.secret(url: url), retry: retry,
                    connectionMaxLifetime: databaseSettings.connectionMaxLifetime, logger: logger)

                // After the pool, so that a graceful shutdown stops the warmer before the pool drains.
                var services: [any Service] = [client, databaseSettings.connectionWarmer(for: client, logger: logger)]
                services += (0..<workers).map { _ in
                    OrderWorker(store: orderStore, logger: logger) as any Service
                }
                if demo { services.append(DemoSeeder(store: orderStore, logger: logger)) }
                let app = buildApplication(
                    settings: settings, store: orderStore, services: services,
                    readiness: { await orderStore.schemaStatus(expected: migrations) },
                    metrics: { registry.emitToString() }, openAPIDocument: try OpenAPIDocument.load(), logger: logger)

                try await preflight(url: url, migrations: migrations, allowStaleSchema: allowStaleSchema, logger: logger)
                logger.info("serving", metadata: ["address": "\(settings.host):\(settings.port)", "database": "\(url)"])
                try await app.runService()
            }
        }
    }

}

/// Before serving, on a connection of its own (the pool runs only once the server does):
/// refuses a schema that is behind unless allowed, and warns about superuser connections.
func preflight(url: DatabaseURL, migrations: [Migration], allowStaleSchema: Bool, logger: Logger) async throws {
    let runner = MigrationRunner(
        migrations: migrations, connection: try url.connectionConfiguration(applicationName: "sqlstore serve"), logger: logger)
    let status = try await runner.status()
    if !status.isUpToDate && !allowStaleSchema {
        let pending = status.entries.filter { $0.state != .applied }.map { "\($0.id) (\($0.state.rawValue))" }
        throw ValidationError(
            "the schema is behind this build: \(pending.joined(separator: ", ")). "
                + "Run `sqlstore migrate up` first, or pass --allow-stale-schema to serve anyway.")
    }
    let connection = try await PostgresConnection.connect(
        configuration: try url.connectionConfiguration(applicationName: "sqlstore serve"), id: 0, logger: logger)
    defer { Task { try? await connection.close() } }
    let superuser = try await connection.query(
        "SELECT rolsuper FROM pg_roles WHERE rolname = current_user", logger: logger
    ).decode(Bool.self).reduce(into: false) { $0 = $0 || $1 }
    if superuser {
        logger.warning(
            "CONNECTED AS A POSTGRESQL SUPERUSER: a bug or injection here could do anything to the cluster. The server needs only DML rights: create least-privilege roles with `sqlstore roles` and serve as the application role (docs/reliability.md).")
    }
}

func parsePort(_ text: String) throws -> Int {
    guard let port = Int(text), (1...65535).contains(port) else { throw ValidationError("SERVER_PORT must be 1-65535, got '\(text)'") }
    return port
}

func parseDuration(_ text: String) throws -> Duration {
    guard let duration = Duration(goStyle: text) else { throw ValidationError("'\(text)' is not a duration such as 500ms, 5s or 5m") }
    return duration
}

func serverLogger() -> Logger {
    var logger = Logger(label: "sqlstore") { DeferredMetadataLogHandler(label: $0) }
    logger.logLevel = ProcessInfo.processInfo.environment["LOG_LEVEL"].flatMap(Logger.Level.init(rawValue:)) ?? .info
    return logger
}

/// Seeds the demo catalogue once the pool runs, then waits for shutdown like any service.
struct DemoSeeder: Service {
    let store: OrderStore
    let logger: Logger

    func run() async throws {
        try await DemoCatalogue.seed(store: store, logger: logger)
        try? await gracefulShutdown()
    }
}
