import Metrics

/// The store's counters, exported by whichever metrics backend the process bootstraps.
enum StoreMetrics {
    static func orderPlaced() { Counter(label: "sqlstore_orders_placed_total").increment() }
    static func idempotentReplay() { Counter(label: "sqlstore_idempotent_replays_total").increment() }
    /// Store operations holding or waiting for a pooled connection: the pool's use, since
    /// PostgresNIO's pool exports no metrics of its own.
    static let inFlightMeter = Meter(label: "sqlstore_db_operations_in_flight")
    static func operationStarted() { inFlightMeter.increment() }
    static func operationEnded() { inFlightMeter.decrement() }

    static func retry(sqlState: String) {
        Counter(label: "sqlstore_transaction_retries_total", dimensions: [("sqlstate", sqlState)]).increment()
    }
}
