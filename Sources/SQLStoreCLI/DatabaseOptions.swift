import ArgumentParser
import EmbeddedPostgres
import Foundation
import Logging
import SQLStore
import SQLStoreMigrations
import SQLStoreSupport

/// Where the database is: `--database-url`, else `DATABASE_URL`, else the embedded cluster.
struct DatabaseOptions: ParsableArguments {
    @Option(
        name: .customLong("database-url"),
        help: "PostgreSQL URL (default: $DATABASE_URL, else the embedded cluster).")
    var databaseURL: String?

    /// The flag, else `DATABASE_URL`; nil means the embedded cluster.
    func url(environment: EnvironmentSettings) throws(ConfigurationError) -> DatabaseURL? {
        if let databaseURL { return try EnvironmentSettings.databaseURL(databaseURL, setting: "--database-url") }
        return try environment.databaseURL("DATABASE_URL")
    }

    /// Runs `body` against the configured database; see ``withDatabase(_:logger:_:)``.
    func withDatabase<Result>(logger: Logger, _ body: (DatabaseURL) async throws -> Result) async throws -> Result {
        try await SQLStoreCLI.withDatabase(try url(environment: .process), logger: logger) { url, _ in try await body(url) }
    }
}

/// Runs `body` against `url`, or with none against the embedded cluster (passed to `body`),
/// started if it is not running and stopped afterwards if this process started it.
func withDatabase<Result>(
    _ url: DatabaseURL?, logger: Logger, _ body: (DatabaseURL, EmbeddedPostgres?) async throws -> Result
) async throws -> Result {
    if let url { return try await body(url, nil) }
    let home = EnvironmentSettings.process.string("SQLSTORE_HOME").map { URL(fileURLWithPath: $0) }
        ?? URL(fileURLWithPath: FileManager.default.currentDirectoryPath).appendingPathComponent(".sqlstore")
    let embedded = EmbeddedPostgres(root: home, logger: logger)
    let started = try embedded.start()
    if started { printError("started the embedded PostgreSQL in \(home.path)") }
    do {
        let result = try await body(try DatabaseURL(embedded.url), embedded)
        if started { try embedded.stop() }
        return result
    } catch {
        if started { try? embedded.stop() }
        throw error
    }
}

extension EnvironmentSettings {
    /// This process's environment.
    static var process: EnvironmentSettings { EnvironmentSettings(ProcessInfo.processInfo.environment) }
}

/// A duration written as the reference writes them: `500ms`, `5s`, `5m`.
struct GoDuration: ExpressibleByArgument, Sendable {
    let value: Duration

    init?(argument: String) {
        guard let value = Duration(goStyle: argument) else { return nil }
        self.value = value
    }

    init(_ value: Duration) { self.value = value }

    var defaultValueDescription: String { value.humanReadable }
}

extension DatabasePooler: ExpressibleByArgument {}

func printError(_ text: String) {
    FileHandle.standardError.write(Data((text + "\n").utf8))
}
