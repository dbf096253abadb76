import Foundation
import HTTPTypes
import Hummingbird
import Logging
import PostgresNIO
import SQLStore
import ServiceLifecycle

/// How the HTTP server runs: the reference's `SERVER_*` settings plus SQLStore's own.
public struct ServerSettings: Sendable {
    public var host = "127.0.0.1"
    /// `SERVER_PORT` (8080).
    public var port = 8080
    /// `SERVER_READ_TIMEOUT` (10s): a connection idle this long, mid-request or between
    /// requests, is closed.
    public var readTimeout: Duration = .seconds(10)
    /// Request bodies above this many bytes are refused with 413 (default 1 MiB).
    public var bodyLimit = 1 << 20

    public init() {}
}

/// Answers whether the store can serve: the database is reachable and its schema current.
public typealias ReadinessCheck = @Sendable () async -> (current: Bool, reason: String)

/// Builds the application the `serve` command runs, so that tests run the very same one.
public func buildApplication(
    settings: ServerSettings, store: OrderStore, services: [any Service], readiness: @escaping ReadinessCheck,
    metrics: @escaping @Sendable () async -> String, openAPIDocument: String, logger: Logger
) -> some ApplicationProtocol {
    let routes = RouteTable()
    let hummingbirdRouter = Router(context: BasicRequestContext.self, options: .autoGenerateHeadEndpoints)
    // Outermost first: metrics see the final status of every response, errors included.
    hummingbirdRouter.add(middleware: LogRequestsMiddleware(.debug))
    hummingbirdRouter.add(middleware: RequestMetricsMiddleware())
    hummingbirdRouter.add(middleware: ErrorMiddleware(routes: routes))
    let router = RecordingRouter(router: hummingbirdRouter, table: routes)
    StoreController(store: store, bodyLimit: settings.bodyLimit).addRoutes(to: router)

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

    return Application(
        router: hummingbirdRouter,
        server: .http1(configuration: .init(idleTimeout: .seconds(Int64(settings.readTimeout.components.seconds)))),
        configuration: .init(address: .hostname(settings.host, port: settings.port), serverName: "sqlstore"),
        services: services,
        logger: logger)
}

/// The OpenAPI document served at `/openapi.yaml`.
public enum OpenAPIDocument {
    public static func load() throws -> String {
        guard let url = Bundle.module.url(forResource: "openapi", withExtension: "yaml") else {
            throw APIError(.internalServerError, code: "internal", message: "openapi.yaml is missing from the bundle")
        }
        return try String(contentsOf: url, encoding: .utf8)
    }
}
