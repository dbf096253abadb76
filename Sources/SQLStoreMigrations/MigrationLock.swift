import Crypto
import Foundation
import Logging
import PostgresNIO

/// The session-level advisory lock that lets one runner at a time change the schema.
///
/// Session-level, not transaction-level: the lock must stay held across non-transactional steps,
/// and a runner waiting inside a transaction would make `CREATE INDEX CONCURRENTLY` (which waits
/// for every open transaction) wait for it forever. So waiting runners poll
/// `pg_try_advisory_lock` from outside any transaction, backing off between tries.
struct MigrationLock: Sendable {
    /// Derived from the tracking table's name, so applications that keep separate tracking
    /// tables in one database do not serialize each other.
    let key: Int64

    init(trackingTable: TrackingTable) {
        let digest = SHA256.hash(data: Data("sqlstore-migrations:\(trackingTable.qualified)".utf8))
        self.key = digest.prefix(8).reduce(Int64(0)) { ($0 << 8) | Int64($1) }
    }

    /// Polls until the lock is taken or `wait` has passed; then reports who holds it.
    func acquire(
        on connection: PostgresConnection, wait: Duration, logger: Logger,
        progress: @Sendable (MigrationProgress) -> Void
    ) async throws {
        let clock = ContinuousClock()
        let start = clock.now
        var delay = Duration.milliseconds(50)
        var reportedWaiting = false
        while true {
            if try await tryLock(on: connection, logger: logger) {
                if reportedWaiting { progress(.lockAcquired(waited: clock.now - start)) }
                return
            }
            let waited = clock.now - start
            if waited >= wait {
                throw MigrationError.lockNotAcquired(
                    waited: waited, holders: try await holders(on: connection, logger: logger))
            }
            if !reportedWaiting {
                reportedWaiting = true
                progress(.waitingForLock(holders: try await holders(on: connection, logger: logger)))
            }
            let jittered = delay * Double.random(in: 0.8...1.2)
            try await Task.sleep(for: min(jittered, wait - waited))
            delay = min(delay * 2, .seconds(1))
        }
    }

    func release(on connection: PostgresConnection, logger: Logger) async throws {
        try await connection.query("SELECT pg_advisory_unlock(\(key))", logger: logger)
    }

    private func tryLock(on connection: PostgresConnection, logger: Logger) async throws -> Bool {
        let rows = try await connection.query("SELECT pg_try_advisory_lock(\(key))", logger: logger)
        for try await locked in rows.decode(Bool.self) { return locked }
        return false
    }

    /// Advisory locks are per database. A bigint key appears in `pg_locks` as classid (high half), objid (low half), objsubid 1.
    /// A session of another role shows only its pid, user and application name to a runner
    /// without `pg_read_all_stats`: the rest is NULL (and the query `<insufficient privilege>`).
    func holders(on connection: PostgresConnection, logger: Logger) async throws -> [LockHolder] {
        let high = Int64(UInt32(truncatingIfNeeded: key >> 32))
        let low = Int64(UInt32(truncatingIfNeeded: key))
        let rows = try await connection.query(
            """
            SELECT a.pid, coalesce(a.application_name, ''), coalesce(a.usename::text, ''),
                   host(a.client_addr),
                   coalesce(to_char(a.backend_start AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'), 'unknown'),
                   coalesce(a.state, 'unknown')
                     || coalesce(' for ' || date_trunc('second', clock_timestamp() - a.state_change)::text, ''),
                   left(coalesce(a.query, ''), 500)
            FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
            WHERE l.locktype = 'advisory' AND l.granted
              AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
              AND l.classid::bigint = \(high) AND l.objid::bigint = \(low) AND l.objsubid = 1
            """, logger: logger)
        var holders: [LockHolder] = []
        for try await (pid, application, user, client, since, state, query)
            in rows.decode((Int32, String, String, String?, String, String, String).self)
        {
            holders.append(
                LockHolder(
                    pid: pid, applicationName: application, user: user, client: client, since: since, state: state,
                    query: query))
        }
        return holders
    }
}
