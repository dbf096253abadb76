import ArgumentParser
import EmbeddedPostgres
import Foundation
import Hummingbird
import Logging
import Metrics
import Prometheus
import SQLStore
import SQLStoreHTTP
import SQLStoreMigrations
import SQLStoreSupport
import ServiceLifecycle

/// Flags shared by `serve` and `worker`; each overrides the environment variable it names.
struct StoreOptions: ParsableArguments {
    @OptionGroup var database: DatabaseOptions

    @Option(help: "Most pooled connections (env DATABASE_MAX_OPEN_CONNS, default 25).")
    var maxOpenConns: Int?
    @Option(help: "Connections kept open while idle (env DATABASE_MAX_IDLE_CONNS, default 5).")
    var maxIdleConns: Int?
    @Option(help: "Most order placements holding a pooled connection at once; the rest wait in arrival order (env DATABASE_MAX_ORDER_CONNS, default 16).")
    var maxOrderConns: Int?
    @Option(help: "Close a connection this old when it is given back (env DATABASE_CONN_MAX_LIFETIME, default 5m).")
    var connMaxLifetime: GoDuration?
    @Option(help: "Close a connection beyond --max-idle-conns unused this long (env DATABASE_CONN_MAX_IDLE_TIME, default 10s).")
    var connMaxIdleTime: GoDuration?
    @Option(help: "What stands between SQLStore and PostgreSQL: none or pgbouncer, a transaction-pooling proxy (env DATABASE_POOLER, default none).")
    var pooler: DatabasePooler?
    @Option(help: "Signs page cursors; every instance on one database needs the same (env SQLSTORE_CURSOR_SECRET, at least 32 characters).")
    var cursorSecret: String?

    /// The configuration read once: defaults, then the environment, then these flags.
    func configuration(environment: EnvironmentSettings = .process) throws -> Configuration {
        var configuration = try Configuration(environment: environment)
        configuration.database.url = try database.url(environment: environment)
        if let maxOpenConns {
            guard maxOpenConns > 0 else { throw ConfigurationError(setting: "--max-open-conns", reason: "must be a positive integer") }
            configuration.database.maxOpenConnections = maxOpenConns
        }
        if let maxIdleConns {
            guard maxIdleConns > 0 else { throw ConfigurationError(setting: "--max-idle-conns", reason: "must be a positive integer") }
            configuration.database.maxIdleConnections = maxIdleConns
        }
        if let maxOrderConns {
            guard maxOrderConns > 0 else { throw ConfigurationError(setting: "--max-order-conns", reason: "must be a positive integer") }
            configuration.database.maxOrderConnections = maxOrderConns
        }
        if let connMaxLifetime { configuration.database.connectionMaxLifetime = connMaxLifetime.value }
        if let connMaxIdleTime {
            guard connMaxIdleTime.value > .zero else { throw ConfigurationError(setting: "--conn-max-idle-time", reason: "must be a positive duration") }
            configuration.database.spareIdleTimeout = connMaxIdleTime.value
        }
        if let pooler { configuration.database.pooler = pooler }
        if let cursorSecret { configuration.cursorSecret = try CursorSecret(cursorSecret, setting: "--cursor-secret") }
        return configuration
    }
}

struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Run the HTTP API (SIGTERM/SIGINT: finish in-flight requests, drain the pool, exit 0).",
        discussion: """
            With no DATABASE_URL it starts the embedded PostgreSQL, migrates it and serves. With a \
            DATABASE_URL it refuses a schema that is behind the migrations unless --allow-stale-schema, \
            and needs SQLSTORE_CURSOR_SECRET.
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
    @Option(help: "on: every route but /health/*, /metrics and /openapi.yaml needs a bearer token; off: for a trusted network only (env SQLSTORE_AUTH, default on).")
    var auth: AuthSwitch?
    @Option(name: .customLong("token-cache-ttl"), help: "How long a verified token is trusted without asking the database, so how long a revoked one may still work (env SQLSTORE_TOKEN_CACHE_TTL, default 10s).")
    var tokenCacheTTL: GoDuration?
    @Option(help: "Requests per second per customer token, or per address for requests without a valid token: RATE or RATE/BURST, 0 is off (env SQLSTORE_RATE_LIMIT, default 100/200).")
    var rateLimit: String?
    @Option(help: "The same per admin token, and per address while auth is off (env SQLSTORE_ADMIN_RATE_LIMIT, default 10000/20000).")
    var adminRateLimit: String?

    /// The configuration read once: defaults, then the environment, then these flags.
    func configuration() throws -> Configuration {
        var configuration = try store.configuration()
        if let host { configuration.server.host = host }
        if let port {
            guard (0...65535).contains(port) else { throw ConfigurationError(setting: "--port", reason: "must be 0-65535") }
            configuration.server.port = port
        }
        if let readTimeout { configuration.server.readTimeout = readTimeout.value }
        if let writeTimeout { configuration.server.writeTimeout = writeTimeout.value }
        if let bodyLimit {
            guard bodyLimit > 0 else { throw ConfigurationError(setting: "--body-limit", reason: "must be at least 1 byte") }
            configuration.server.bodyLimit = bodyLimit
        }
        guard workers >= 0 else { throw ConfigurationError(setting: "--workers", reason: "must be 0 or more, got \(workers)") }
        configuration.workers = workers
        configuration.demo = demo
        configuration.allowStaleSchema = allowStaleSchema
        if let auth { configuration.auth.enabled = auth == .on }
        if let tokenCacheTTL { configuration.auth.tokenCacheTTL = tokenCacheTTL.value }
        if let rateLimit { configuration.auth.rateLimit = try RateLimit(rateLimit, setting: "--rate-limit") }
        if let adminRateLimit { configuration.auth.adminRateLimit = try RateLimit(adminRateLimit, setting: "--admin-rate-limit") }
        return configuration
    }

    func run() async throws {
        try await reportingFailures {
            var configuration = try configuration()
            let logger = serverLogger(level: configuration.logLevel)
            let registry = PrometheusCollectorRegistry()
            MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))
            try await withDatabase(configuration.database.url, logger: logger) { url, embedded in
                configuration.database.url = url
                if let embedded {
                    // The embedded database is ours: bring it up to date before serving.
                    let runner = MigrationRunner(
                        migrations: try SchemaMigrations.load(),
                        connection: try url.connectionConfiguration(applicationName: "sqlstore migrate"), logger: logger)
                    let applied = try await runner.up()
                    if !applied.isEmpty { logger.info("migrated the embedded database", metadata: ["applied": "\(applied.count)"]) }
                    if configuration.cursorSecret == nil { configuration.cursorSecret = try embeddedCursorSecret(embedded) }
                }
                let app = try await buildApplication(configuration: configuration, logger: logger) { registry.emitToString() }
                logger.info(
                    "serving",
                    metadata: [
                        "address": "\(configuration.server.host):\(configuration.server.port)", "database": "\(url)",
                        "pooler": "\(configuration.database.pooler.rawValue)",
                    ])
                try await app.runService()
            }
        }
    }
}

/// The embedded cluster's cursor secret: random, made on first use and kept beside the cluster,
/// readable by its owner only. The embedded cluster has one server, so nothing else must share it.
func embeddedCursorSecret(_ embedded: EmbeddedPostgres) throws -> CursorSecret {
    let file = embedded.root.appendingPathComponent("cursor-secret")
    if let text = try? String(contentsOf: file, encoding: .utf8) {
        return try CursorSecret(text.trimmingCharacters(in: .whitespacesAndNewlines), setting: file.path)
    }
    let secret = CursorSecret.random()
    // Created empty with its mode first, then written in place: the secret is never in a file
    // that others may read.
    guard FileManager.default.createFile(atPath: file.path, contents: nil, attributes: [.posixPermissions: 0o600]) else {
        throw ConfigurationError(setting: file.path, reason: "cannot be created to keep the embedded server's cursor secret")
    }
    try secret.text.write(to: file, atomically: false, encoding: .utf8)
    return secret
}

func serverLogger(level: Logger.Level) -> Logger {
    var logger = Logger(label: "sqlstore") { DeferredMetadataLogHandler(label: $0) }
    logger.logLevel = level
    return logger
}

enum AuthSwitch: String, ExpressibleByArgument, CaseIterable {
    case on, off
}
