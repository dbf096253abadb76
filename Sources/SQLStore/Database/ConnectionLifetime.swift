import PostgresNIO
import Synchronization

/// Retires pooled connections past a maximum age, as Go's `SetConnMaxLifetime` does: a
/// connection is closed when it is given back after that age, never while in use, and the pool
/// opens a new one when it needs one.
///
/// PostgresNIO's pool has no maximum lifetime. Recycling connections lets sessions see
/// `ALTER ROLE … SET` changes and a failover behind a DNS name, and bounds the catalog caches a
/// long-lived PostgreSQL backend accumulates.
final class ConnectionLifetime: Sendable {
    let maximum: Duration
    private let births = Mutex([PostgresConnection.ID: ContinuousClock.Instant]())

    init(maximum: Duration) {
        self.maximum = maximum
    }

    /// Whether `connection` has outlived ``maximum``. Its age counts from its first lease.
    func hasExpired(_ connection: PostgresConnection) -> Bool {
        let now = ContinuousClock.now
        let birth: ContinuousClock.Instant? = births.withLock { births in
            if let birth = births[connection.id] { return birth }
            births[connection.id] = now
            return nil
        }
        guard let birth else {
            let id = connection.id
            connection.closeFuture.whenComplete { [weak self] _ in self?.forget(id) }
            return maximum <= .zero
        }
        return now - birth >= maximum
    }

    /// The number of connections being tracked: those leased at least once and not yet closed.
    var tracked: Int { births.withLock { $0.count } }

    private func forget(_ id: PostgresConnection.ID) {
        _ = births.withLock { $0.removeValue(forKey: id) }
    }
}
