import Foundation
import HTTPTypes
import Hummingbird
import Logging
import PostgresNIO
import SQLStore
import SQLStoreMigrations
import ServiceLifecycle

/// How the HTTP server runs: the reference's `SERVER_*` settings plus SQLStore's own.
public struct ServerSettings: Sendable {
    /// `SERVER_HOST` (127.0.0.1).
    public var host = "127.0.0.1"
    /// `SERVER_PORT` (8080); 0 picks a free port.
    public var port = 8080
    /// `SERVER_READ_TIMEOUT` (10s): a connection idle this long, mid-request or between
    /// requests, is closed.
    public var readTimeout: Duration = .seconds(10)
    /// `SERVER_WRITE_TIMEOUT` (10s): the most a request waits for the database, waiting for a
    /// pooled connection included, before it is answered 503.
    public var writeTimeout: Duration = .seconds(10)
    /// Request bodies above this many bytes are refused with 413 (default 1 MiB).
    public var bodyLimit = 1 << 20

    public init() {}

    /// Defaults overridden by `SERVER_HOST`, `SERVER_PORT`, `SERVER_READ_TIMEOUT` and
    /// `SERVER_WRITE_TIMEOUT`.
    ///
    /// - Throws: ``ConfigurationError`` naming the first variable that is not usable.
    public init(environment: EnvironmentSettings) throws(ConfigurationError) {
        host = environment.string("SERVER_HOST") ?? host
        port = try environment.port("SERVER_PORT") ?? port
        readTimeout = try environment.duration("SERVER_READ_TIMEOUT") ?? readTimeout
        writeTimeout = try environment.duration("SERVER_WRITE_TIMEOUT") ?? writeTimeout
    }
}

/// Answers whether the store can serve: the database is reachable and its schema current.
public typealias ReadinessCheck = @Sendable () async -> (current: Bool, reason: String)

/// Builds the whole service that `sqlstore serve` runs from `configuration`: the PostgreSQL pool
/// and its warmer, the store with its deadline, the order workers, the demo seeder and every
/// route. Tests call it too, so they run the very same application.
///
/// Checks before returning that the schema is current (unless
/// ``Configuration/allowStaleSchema``), on a connection of its own.
///
/// - Parameter metrics: the Prometheus text served at `/metrics`; the process owns the metrics
///   system, which is bootstrapped once per process.
/// - Throws: ``ConfigurationError`` for an unresolved database URL or a missing cursor secret,
///   ``SchemaBehindError``, or the error of reaching PostgreSQL.
public func buildApplication(
    configuration: Configuration, logger: Logger, metrics: @escaping @Sendable () async -> String = { "" }
) async throws -> some ApplicationProtocol {
    guard let cursorSecret = configuration.cursorSecret else {
        throw ConfigurationError(
            setting: "SQLSTORE_CURSOR_SECRET",
            reason: "is required with a DATABASE_URL: every instance serving the database must sign cursors with the same secret (for example the output of `openssl rand -hex 32`)")
    }
    let migrations = try SchemaMigrations.load()
    let openAPIDocument = try OpenAPIDocument.load()
    try await StartupCheck.run(
        settings: configuration.database, migrations: migrations, allowStaleSchema: configuration.allowStaleSchema,
        logger: logger)

    let database = configuration.database
    let client = PostgresClient(configuration: try database.clientConfiguration(), backgroundLogger: database.poolLogger(logger))
    var retry = RetryPolicy()
    retry.deadline = configuration.server.writeTimeout
    let store = OrderStore(
        client: client, cursorSecret: cursorSecret.text, retry: retry, connectionMaxLifetime: database.connectionMaxLifetime,
        pooler: database.pooler, maxOrderConnections: min(database.maxOrderConnections, database.maxOpenConnections),
        logger: logger)

    // After the pool, so that a graceful shutdown stops the warmer before the pool drains.
    var services: [any Service] = [client, database.connectionWarmer(for: client, logger: logger), store]
    services += (0..<configuration.workers).map { _ in OrderWorker(store: store, logger: logger) as any Service }
    if configuration.demo { services.append(DemoSeeder(store: store, logger: logger)) }

    if !configuration.auth.enabled {
        logger.warning(
            "AUTHENTICATION IS OFF (SQLSTORE_AUTH=off): anyone who can reach this port may do anything, as an admin. Only for a trusted network; see docs/security.md.")
    }
    let router = buildRouter(
        settings: configuration.server, auth: configuration.auth, store: store,
        readiness: { await store.schemaStatus(expected: migrations) }, metrics: metrics,
        openAPIDocument: openAPIDocument)
    return Application(
        router: router,
        server: .http1(configuration: .init(idleTimeout: TimeAmount(configuration.server.readTimeout))),
        configuration: .init(address: .hostname(configuration.server.host, port: configuration.server.port), serverName: "sqlstore"),
        services: services,
        logger: logger)
}

/// Every route of the API over `store`, with the middleware that maps errors, records metrics,
/// authenticates callers and limits their rate.
func buildRouter(
    settings: ServerSettings, auth: AuthSettings, store: OrderStore, readiness: @escaping ReadinessCheck,
    metrics: @escaping @Sendable () async -> String, openAPIDocument: String
) -> Router<StoreRequestContext> {
    let routes = RouteTable()
    let hummingbirdRouter = Router(context: StoreRequestContext.self, options: .autoGenerateHeadEndpoints)
    // Outermost first: metrics see the final status of every response, errors included.
    hummingbirdRouter.add(middleware: LogRequestsMiddleware(.debug))
    hummingbirdRouter.add(middleware: RequestMetricsMiddleware())
    hummingbirdRouter.add(middleware: ErrorMiddleware(routes: routes))
    // Verified tokens; shared with the token routes, so that a revocation here drops its token at once.
    let tokenCache = TokenCache(ttl: auth.tokenCacheTTL)
    // Inside the error middleware, so that its 401 and 429 get the usual body.
    hummingbirdRouter.add(middleware: AuthMiddleware(store: store, settings: auth, cache: tokenCache))
    let router = RecordingRouter(router: hummingbirdRouter, table: routes)
    let controllers: [any StoreController] = [
        UserController(store: store, bodyLimit: settings.bodyLimit),
        ProductController(store: store, bodyLimit: settings.bodyLimit),
        OrderController(store: store, bodyLimit: settings.bodyLimit),
        OrganizationController(store: store, bodyLimit: settings.bodyLimit),
        TokenController(store: store, bodyLimit: settings.bodyLimit, cache: tokenCache),
    ]
    for controller in controllers { controller.addRoutes(to: router) }

    router.get("/health/live") { _, _ in
        try JSONBody.response(["status": "ok"])
    }
    router.get("/health/ready") { _, _ in
        let (ready, reason) = await readiness()
        guard ready else {
            var error = APIError(.serviceUnavailable, code: "not_ready", message: reason)
            error.headers[.retryAfter] = "1"
            throw error
        }
        return try JSONBody.response(["status": "ready"])
    }
    router.get("/metrics") { _, _ in
        var headers = HTTPFields()
        headers[.contentType] = "text/plain; version=0.0.4; charset=utf-8"
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(string: await metrics())))
    }
    router.get("/openapi.yaml") { _, _ in
        var headers = HTTPFields()
        headers[.contentType] = "application/yaml; charset=utf-8"
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(string: openAPIDocument)))
    }
    return hummingbirdRouter
}

/// The build's resource bundle has no `openapi.yaml`: the build is broken.
public struct OpenAPIDocumentMissing: Error, CustomStringConvertible {
    public var description: String { "openapi.yaml is missing from SQLStoreHTTP's resource bundle" }
}

/// The OpenAPI document served at `/openapi.yaml`.
public enum OpenAPIDocument {
    public static func load() throws -> String {
        guard let url = Bundle.module.url(forResource: "openapi", withExtension: "yaml") else {
            throw OpenAPIDocumentMissing()
        }
        return try String(contentsOf: url, encoding: .utf8)
    }
}
