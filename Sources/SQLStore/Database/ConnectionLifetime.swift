import PostgresNIO
import Synchronization

/// Retires pooled connections past a maximum age, as Go's `SetConnMaxLifetime` does: a
/// connection is closed when it is given back after that age, never while in use, and the pool
/// opens a new one when it needs one.
///
/// PostgresNIO's pool has no maximum lifetime. Recycling connections lets sessions see
/// `ALTER ROLE … SET` changes and a failover behind a DNS name, and bounds the catalog caches a
/// long-lived PostgreSQL backend accumulates. Each connection's lifetime is shortened by a random
/// 0–10 %, as pgx does, so that connections opened together are not all replaced at once.
final class ConnectionLifetime: Sendable {
    let maximum: Duration
    private let expiries = Mutex([PostgresConnection.ID: ContinuousClock.Instant]())

    init(maximum: Duration) {
        self.maximum = maximum
    }

    /// Whether `connection` has outlived its lifetime, counted from its first lease.
    func hasExpired(_ connection: PostgresConnection) -> Bool {
        let now = ContinuousClock.now
        let (expiry, isNew) = expiries.withLock { expiries in
            if let expiry = expiries[connection.id] { return (expiry, false) }
            let expiry = now + maximum - maximum * Double.random(in: 0..<0.1)
            expiries[connection.id] = expiry
            return (expiry, true)
        }
        if isNew {
            let id = connection.id
            connection.closeFuture.whenComplete { [weak self] _ in self?.forget(id) }
        }
        return now >= expiry
    }

    private func forget(_ id: PostgresConnection.ID) {
        _ = expiries.withLock { $0.removeValue(forKey: id) }
    }
}
