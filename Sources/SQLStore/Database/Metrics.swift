import Metrics

/// The store's counters, exported by whichever metrics backend the process bootstraps.
///
/// The handles of the hot paths are made once, on first use (making one looks it up in the
/// factory under a lock); so the backend must be bootstrapped before the store is first used,
/// as `serve` does.
enum StoreMetrics {
    private static let ordersPlaced = Counter(label: "sqlstore_orders_placed_total")
    private static let idempotentReplays = Counter(label: "sqlstore_idempotent_replays_total")
    static func orderPlaced() { ordersPlaced.increment() }
    static func idempotentReplay() { idempotentReplays.increment() }
    /// Store operations holding or waiting for a pooled connection: the pool's use, since
    /// PostgresNIO's pool exports no metrics of its own.
    static let inFlightMeter = Meter(label: "sqlstore_db_operations_in_flight")
    static func operationStarted() { inFlightMeter.increment() }
    static func operationEnded() { inFlightMeter.decrement() }

    static func retry(sqlState: String) {
        Counter(label: "sqlstore_transaction_retries_total", dimensions: [("sqlstate", sqlState)]).increment()
    }
}
