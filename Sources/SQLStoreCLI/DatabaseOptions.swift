import ArgumentParser
import EmbeddedPostgres
import Foundation
import Logging
import SQLStoreMigrations

/// Where the database is: `--database-url`, else `DATABASE_URL`, else the embedded cluster.
struct DatabaseOptions: ParsableArguments {
    @Option(
        name: .customLong("database-url"),
        help: "PostgreSQL URL (default: $DATABASE_URL, else the embedded cluster).")
    var databaseURL: String?

    var resolvedURL: String? {
        databaseURL ?? ProcessInfo.processInfo.environment["DATABASE_URL"].flatMap { $0.isEmpty ? nil : $0 }
    }

    /// Runs `body` against the configured database, starting the embedded cluster if that is the
    /// one in use, and stopping it afterwards if this process started it.
    func withDatabase<Result>(logger: Logger, _ body: (DatabaseURL) async throws -> Result) async throws -> Result {
        if let url = resolvedURL {
            return try await body(try DatabaseURL(url))
        }
        let home = ProcessInfo.processInfo.environment["SQLSTORE_HOME"].map { URL(fileURLWithPath: $0) }
            ?? URL(fileURLWithPath: FileManager.default.currentDirectoryPath).appendingPathComponent(".sqlstore")
        let embedded = EmbeddedPostgres(root: home, logger: logger)
        let started = try embedded.start()
        if started { printError("started the embedded PostgreSQL in \(home.path)") }
        do {
            let result = try await body(try DatabaseURL(embedded.url))
            if started { try embedded.stop() }
            return result
        } catch {
            if started { try? embedded.stop() }
            throw error
        }
    }
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

func printError(_ text: String) {
    FileHandle.standardError.write(Data((text + "\n").utf8))
}
