import Foundation
import Logging
import PostgresNIO
import SQLStoreMigrations
// Re-exported: every test names databases by URL (`database.url.urlString`), and DatabaseURL
// moved out of SQLStoreMigrations into SQLStoreSupport.
@_exported import SQLStoreSupport

/// A database of its own for one test, created on the throwaway cluster `scripts/test` starts
/// and dropped afterwards, so tests run in parallel without seeing each other.
public struct TestDatabase: Sendable {
    public let name: String
    public let url: DatabaseURL
    public static let logger: Logger = {
        var logger = Logger(label: "sqlstore.tests")
        logger.logLevel = .warning
        return logger
    }()

    /// The cluster's administrative URL, from `SQLSTORE_TEST_DATABASE_URL`.
    public static func adminURL() throws -> DatabaseURL {
        guard let text = ProcessInfo.processInfo.environment["SQLSTORE_TEST_DATABASE_URL"] else {
            throw TestSetupError("SQLSTORE_TEST_DATABASE_URL is not set: run the tests with scripts/test")
        }
        return try DatabaseURL(text)
    }

    /// Creates a fresh database, empty or a copy of `template`, runs `body` with it, and drops it.
    public static func withFresh<Result: Sendable>(
        template: String? = nil, _ body: (TestDatabase) async throws -> Result
    ) async throws -> Result {
        let admin = try adminURL()
        let name = "t_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased().prefix(20)
        _ = try await withConnection(to: admin) { connection in
            try await connection.query(
                "CREATE DATABASE \(unescaped: name) TEMPLATE \(unescaped: template ?? "template1")", logger: logger)
        }
        var url = admin
        url.database = name
        let database = TestDatabase(name: name, url: url)
        do {
            let result = try await body(database)
            try await database.drop(admin: admin)
            return result
        } catch {
            try? await database.drop(admin: admin)
            throw error
        }
    }

    private func drop(admin: DatabaseURL) async throws {
        _ = try await Self.withConnection(to: admin) { connection in
            try await connection.query("DROP DATABASE IF EXISTS \(unescaped: name) WITH (FORCE)", logger: Self.logger)
        }
    }

    public var connectionConfiguration: PostgresConnection.Configuration {
        get throws { try url.connectionConfiguration(applicationName: "sqlstore tests") }
    }

    /// Opens a connection to this database for `body`.
    public func withConnection<Result>(_ body: (PostgresConnection) async throws -> Result) async throws -> Result {
        try await Self.withConnection(to: url, body)
    }

    public static func withConnection<Result>(
        to url: DatabaseURL, _ body: (PostgresConnection) async throws -> Result
    ) async throws -> Result {
        let connection = try await PostgresConnection.connect(
            configuration: try url.connectionConfiguration(applicationName: "sqlstore tests"), id: 0, logger: logger)
        do {
            let result = try await body(connection)
            try await connection.close()
            return result
        } catch {
            try? await connection.close()
            throw error
        }
    }

    /// The first column of the first row, or nil when there is no row.
    public func scalar<Value: PostgresDecodable & Sendable>(
        _ query: PostgresQuery, as type: Value.Type = Value.self
    ) async throws -> Value? {
        try await withConnection { connection in
            let rows = try await connection.query(query, logger: Self.logger)
            for try await value in rows.decode(Value.self) { return value }
            return nil
        }
    }

    /// Runs one statement, reading every row so that errors raised while rows stream surface.
    public func execute(_ query: PostgresQuery) async throws {
        try await withConnection { connection in
            for try await _ in try await connection.query(query, logger: Self.logger) {}
        }
    }

    /// How many sessions with this `application_name` are open on this database.
    public func sessions(of applicationName: String) async throws -> Int {
        try await scalar(
            "SELECT count(*)::int FROM pg_stat_activity WHERE datname = current_database() AND application_name = \(applicationName)",
            as: Int.self) ?? 0
    }

    /// Polls ``sessions(of:)`` every 50 ms until `condition` holds or `limit` has passed; returns
    /// the last count. (A closed backend leaves pg_stat_activity a moment after its client.)
    public func waitForSessions(
        of applicationName: String, within limit: Duration, until condition: (Int) -> Bool
    ) async throws -> Int {
        let deadline = ContinuousClock.now + limit
        var count = try await sessions(of: applicationName)
        while !condition(count) && ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(50))
            count = try await sessions(of: applicationName)
        }
        return count
    }

    /// Whether a relation of that name exists in the public schema.
    public func tableExists(_ name: String) async throws -> Bool {
        try await scalar("SELECT to_regclass(\("public." + name)) IS NOT NULL", as: Bool.self) ?? false
    }
}

public struct TestSetupError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// A folder of migration files written by a test, removed when the value is no longer needed.
public final class MigrationFolder: Sendable {
    public let url: URL

    public init(_ files: [String: String]) throws {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("sqlstore-migrations-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        for (name, sql) in files { try write(name, sql) }
    }

    /// Writes `name` (which may name subfolders, as sqitch's `deploy/x.sql`).
    public func write(_ name: String, _ sql: String) throws {
        let file = url.appendingPathComponent(name)
        try FileManager.default.createDirectory(at: file.deletingLastPathComponent(), withIntermediateDirectories: true)
        try sql.write(to: file, atomically: true, encoding: .utf8)
    }

    public func remove(_ name: String) throws {
        try FileManager.default.removeItem(at: url.appendingPathComponent(name))
    }

    public func migrations() throws -> [Migration] { try MigrationSource.load(directory: url) }

    deinit { try? FileManager.default.removeItem(at: url) }
}
