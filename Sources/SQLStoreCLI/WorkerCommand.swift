import ArgumentParser
import Foundation
import Logging
import PostgresNIO
import SQLStore
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
            let logger = serverLogger()
            try await store.database.withDatabase(logger: logger) { url in
                let settings = try store.settings(url: url)
                let client = PostgresClient(configuration: try settings.clientConfiguration(), backgroundLogger: logger)
                let orderStore = OrderStore(
                    client: client, cursorSecret: store.secret(url: url),
                    connectionMaxLifetime: settings.connectionMaxLifetime, logger: logger)
                let workers: [any Service] = (0..<max(1, concurrency)).map { _ in
                    OrderWorker(store: orderStore, batchSize: batchSize, logger: logger)
                }
                let group = ServiceGroup(
                    configuration: .init(
                        services: [.init(service: client)] + workers.map { .init(service: $0, successTerminationBehavior: .gracefullyShutdownGroup) },
                        gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
                logger.info("worker running", metadata: ["workers": "\(workers.count)"])
                try await group.run()
            }
        }
    }
}
