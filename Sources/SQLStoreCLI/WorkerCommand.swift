import ArgumentParser
import Foundation
import Logging
import PostgresNIO
import SQLStore
import SQLStoreHTTP
import SQLStoreSupport
import ServiceLifecycle
import UnixSignals

struct WorkerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "worker",
        abstract: "Confirm pending orders (FOR UPDATE SKIP LOCKED): run any number side by side.")

    @OptionGroup var store: StoreOptions
    @Option(help: "Orders claimed per batch (1-10000).") var batchSize = 100
    @Option(help: "Concurrent workers in this process (1-64).") var concurrency = 1

    func validate() throws {
        // 0 would claim nothing forever, and a negative LIMIT fails every batch: both look alive.
        guard (1...10_000).contains(batchSize) else { throw ValidationError("--batch-size must be 1 to 10000, got \(batchSize)") }
        guard (1...64).contains(concurrency) else { throw ValidationError("--concurrency must be 1 to 64, got \(concurrency)") }
    }

    func run() async throws {
        try await reportingFailures {
            var configuration = try store.configuration()
            let logger = serverLogger(level: configuration.logLevel)
            try await withDatabase(configuration.database.url, logger: logger) { url, _ in
                configuration.database.url = url
                let settings = configuration.database
                let client = PostgresClient(configuration: try settings.clientConfiguration(), backgroundLogger: settings.poolLogger(logger))
                // Workers issue no page cursors: any secret will do.
                let orderStore = OrderStore(
                    client: client, cursorSecret: CursorSecret.random().text,
                    connectionMaxLifetime: settings.connectionMaxLifetime, pooler: settings.pooler, logger: logger)
                let workers: [any Service] = (0..<concurrency).map { _ in
                    OrderWorker(store: orderStore, batchSize: batchSize, logger: logger)
                }
                let group = ServiceGroup(
                    configuration: .init(
                        services: [.init(service: client), .init(service: orderStore)] + workers.map { .init(service: $0, successTerminationBehavior: .gracefullyShutdownGroup) },
                        gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
                logger.info("worker running", metadata: ["workers": "\(workers.count)"])
                try await group.run()
            }
        }
    }
}
