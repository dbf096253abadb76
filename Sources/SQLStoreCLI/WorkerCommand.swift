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
    @Option(help: "Orders claimed per batch.") var batchSize = 100
    @Option(help: "Concurrent workers in this process.") var concurrency = 1

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
                let workers: [any Service] = (0..<max(1, concurrency)).map { _ in
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
