import Logging
import PostgresNIO
import ServiceLifecycle

/// Confirms pending orders in batches, any number of workers side by side.
///
/// Each batch is one statement: it claims up to `batchSize` of the oldest pending orders with
/// `FOR UPDATE SKIP LOCKED` — rows another worker has claimed are skipped, not waited for — and
/// confirms them, recording the change. A claimed order is no longer pending once the batch
/// commits, so each order is processed exactly once however many workers run.
public struct OrderWorker: Service {
    let store: OrderStore
    let batchSize: Int
    let idleDelay: Duration
    let logger: Logger

    public init(store: OrderStore, batchSize: Int = 100, idleDelay: Duration = .milliseconds(500), logger: Logger) {
        self.store = store
        self.batchSize = batchSize
        self.idleDelay = idleDelay
        self.logger = logger
    }

    /// Processes batches until cancelled or the service group shuts down; sleeps when idle.
    public func run() async throws {
        while !Task.isCancelledOrShuttingDown {
            do {
                let confirmed = try await processBatch()
                if confirmed.isEmpty {
                    try? await Task.sleep(for: idleDelay)
                } else {
                    logger.debug("confirmed orders", metadata: ["count": "\(confirmed.count)"])
                }
            } catch {
                // A worker outlives database outages: log, wait, try again (its batch rolled back).
                logger.warning("order worker batch failed; retrying", metadata: ["error": "\(error)"])
                try? await Task.sleep(for: idleDelay * 4)
            }
        }
    }

    /// Claims and confirms one batch; returns the ids it confirmed.
    @discardableResult
    public func processBatch() async throws -> [Int64] {
        try await store.write(
            """
            WITH claimed AS (
                SELECT id FROM orders
                WHERE status = 'pending'
                ORDER BY created_at, id
                LIMIT \(batchSize)
                FOR UPDATE SKIP LOCKED
            ),
            confirmed AS (
                UPDATE orders o SET status = 'confirmed', version = o.version + 1, updated_at = now()
                FROM claimed WHERE o.id = claimed.id
                RETURNING o.id, o.updated_at
            ),
            history AS (
                INSERT INTO order_status_changes (order_id, from_status, to_status, changed_at)
                SELECT id, 'pending', 'confirmed', updated_at FROM confirmed
            )
            SELECT id FROM confirmed
            """
        ) { try $0.decode(Int64.self) }
    }
}

extension Task where Success == Never, Failure == Never {
    static var isCancelledOrShuttingDown: Bool { isCancelled || isShuttingDownGracefully }
}
