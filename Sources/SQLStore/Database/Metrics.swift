import Metrics

/// The store's counters, exported by whichever metrics backend the process bootstraps.
enum StoreMetrics {
    static func orderPlaced() { Counter(label: "sqlstore_orders_placed_total").increment() }
    static func idempotentReplay() { Counter(label: "sqlstore_idempotent_replays_total").increment() }
    static func retry(sqlState: String) {
        Counter(label: "sqlstore_transaction_retries_total", dimensions: [("sqlstate", sqlState)]).increment()
    }
}
