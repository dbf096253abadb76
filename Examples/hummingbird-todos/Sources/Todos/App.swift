import Foundation
import Logging

/// `todos`: serves a to-do list from PostgreSQL, migrating its own schema first.
///
/// Settings (environment): `TODOS_DB_HOST` (a host name, or a socket directory starting with
/// `/`; default `localhost`), `TODOS_DB_PORT` (5432), `TODOS_DB_USER` (`postgres`),
/// `TODOS_DB_PASSWORD`, `TODOS_DB_NAME` (`postgres`), `TODOS_PORT` (HTTP port, 8080; 0 picks a
/// free one, printed as `listening on port N`).
@main
struct App {
    static func main() async throws {
        let environment = ProcessInfo.processInfo.environment
        var logger = Logger(label: "todos")
        logger.logLevel = .info
        let settings = try Settings(environment: environment)
        let app = try buildApplication(settings: settings, logger: logger)
        try await app.runService()
    }
}
