import Foundation
import Logging
import PostgresNIO
import SQLStore
import SQLStoreMigrations
import Synchronization
import Testing
import TestSupport

@Suite("Pool log")
struct PoolLogHandlerTests {
    @Test("connections PostgreSQL refuses (53300) are one warning with their count per interval, not an info line per attempt")
    func refusedConnectionsAreSummarised() async throws {
        try await TestDatabase.withFresh { database in
            let role = "refused_\(UUID().uuidString.prefix(8).lowercased())"
            try await database.execute("CREATE ROLE \(unescaped: role) LOGIN CONNECTION LIMIT 0")
            defer { Task { try? await database.execute("DROP ROLE IF EXISTS \(unescaped: role)") } }
            var url = database.url
            url.username = role
            var settings = DatabaseSettings(url: url)
            settings.maxOpenConnections = 4

            let captured = CapturedEvents()
            var logger = Logger(label: "pool-log-test") { _ in PoolLogHandler(wrapping: captured, interval: .seconds(1)) }
            logger.logLevel = .warning
            let client = PostgresClient(configuration: try settings.clientConfiguration(), backgroundLogger: logger)
            let started = ContinuousClock.now
            let pool = Task { await client.run() }
            let query = Task { try await client.query("SELECT 1") }
            func refusals() -> [LogEvent] {
                captured.events.filter { $0.level == .warning && $0.message.description.contains("refused") }
            }
            // At least 2.5 s of refused attempts, and until the first warning: a loaded machine
            // (CI starts every suite at once) can take seconds over the first attempt.
            while ContinuousClock.now - started < .milliseconds(2500) || (refusals().isEmpty && ContinuousClock.now - started < .seconds(30)) {
                try await Task.sleep(for: .milliseconds(100))
            }
            query.cancel()
            pool.cancel()
            _ = await query.result
            let seconds = Int(((ContinuousClock.now - started) / .seconds(1)).rounded(.up))

            let events = captured.events
            let warnings = refusals()
            #expect(!warnings.isEmpty, "no warning about refused connections: \(events.map(\.message))")
            #expect(warnings.count <= seconds + 1, "at most one a second over \(seconds) s: \(warnings.map(\.message))")
            #expect(!events.contains { $0.message.description == "Connection creation failed" }, "no line per attempt")
            #expect(events.allSatisfy { $0.level >= .warning }, "nothing below the configured level")
        }
    }
}

/// Every event a logger passed on.
final class CapturedEvents: LogHandler, Sendable {
    private let store = Mutex<[LogEvent]>([])
    private let level = Mutex(Logger.Level.trace)
    var events: [LogEvent] { store.withLock { $0 } }

    var logLevel: Logger.Level {
        get { level.withLock { $0 } }
        set { level.withLock { $0 = newValue } }
    }
    var metadata: Logger.Metadata {
        get { [:] }
        set {}
    }
    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { nil }
        set {}
    }
    func log(event: LogEvent) { store.withLock { $0.append(event) } }
}
