import PostgresNIO
import SQLStoreMigrations

extension OrderStore {
    /// Whether the database has every migration this build expects, applied cleanly; and if
    /// not, which are missing. Read through the pool (one query), for readiness checks, which
    /// must answer within `timeout` even while PostgreSQL is unreachable.
    public func schemaStatus(
        expected migrations: [Migration], timeout: Duration = .seconds(2)
    ) async -> (current: Bool, reason: String) {
        var probe = self
        probe.retry.deadline = min(retry.deadline, timeout)
        do {
            let applied = Set(
                try await probe.rows(
                    """
                    SELECT version FROM schema_migrations WHERE state = 'applied'
                    """
                ) { try $0.decode(Int64.self) })
            let missing = migrations.filter { !applied.contains($0.version) }.map(\.id)
            return missing.isEmpty
                ? (true, "schema current") : (false, "schema is behind: pending \(missing.joined(separator: ", "))")
        } catch StoreError.unavailable(let reason) {
            return (false, "database unavailable: \(reason)")
        } catch {
            return (false, "cannot read the schema's migrations (run `sqlstore migrate up`)")
        }
    }
}
