import Foundation
import Logging
import PostgresNIO
import SQLStoreMigrations
import SQLStoreSupport

/// How the store reaches PostgreSQL, configured with the reference service's environment names.
///
/// PostgresNIO's pool differs from Go's `database/sql` (see docs/store.md):
/// - `DATABASE_MAX_IDLE_CONNS`: connections kept open while idle, by a ``ConnectionWarmer`` run
///   beside the pool (``connectionWarmer(for:logger:)``), not by the pool's own minimum, which
///   traps in PostgresNIO 1.33.2 after PostgreSQL restarts. Connections the warmer does not keep
///   are closed after ``spareIdleTimeout`` unused.
/// - `DATABASE_CONN_MAX_LIFETIME` is a true maximum lifetime, which the store enforces itself
///   (pass it to ``OrderStore/init(client:cursorSecret:retry:connectionMaxLifetime:pooler:logger:)``).
/// - The pool's keep-alive query is off; the server's TCP keepalives take its place.
public struct DatabaseSettings: Sendable {
    /// `DATABASE_URL`; nil until the caller resolves the embedded cluster's.
    public var url: DatabaseURL?
    /// `DATABASE_POOLER` (`none`): what stands between SQLStore and PostgreSQL.
    public var pooler: DatabasePooler = .none
    /// `DATABASE_MAX_OPEN_CONNS` (25): the most connections the pool opens.
    public var maxOpenConnections = 25
    /// `DATABASE_MAX_IDLE_CONNS` (5): connections kept open while idle.
    public var maxIdleConnections = 5
    /// `DATABASE_MAX_ORDER_CONNS` (16): how many order placements may hold a pooled connection at
    /// once; the others wait in the server, in arrival order. Placements of popular products
    /// queue on their row locks: more of them in PostgreSQL at once only lengthens those queues,
    /// each waiter holding a connection and the locks of its earlier lines (finding 16 in
    /// docs/benchmarks.md). Capped at ``maxOpenConnections``.
    public var maxOrderConnections = 16
    /// `DATABASE_CONN_MAX_LIFETIME` (5m): the age past which a connection is closed when it is
    /// given back to the pool.
    public var connectionMaxLifetime: Duration = .seconds(300)
    /// `DATABASE_CONN_MAX_IDLE_TIME` (10s; Go's `SetConnMaxIdleTime`): how long a connection
    /// above ``maxIdleConnections`` stays open unused.
    ///
    /// Short on purpose: the pool arms a timer each time such a connection goes idle, and on Linux
    /// a cancelled `Task.sleep` keeps about 550 bytes until the moment it would have fired, so
    /// memory grows with idle transitions per second times this (docs/benchmarks.md, finding 5).
    public var spareIdleTimeout: Duration = .seconds(10)
    /// Server-side bounds for every session of the application, so that nothing waits forever.
    /// Sent as startup parameters when connecting directly; behind a pooler they are the role's
    /// settings, which `sqlstore roles` applies (see ``DatabaseRoles``).
    public var statementTimeout: Duration = .seconds(5)
    public var lockTimeout: Duration = .seconds(2)
    public var idleInTransactionTimeout: Duration = .seconds(10)
    public var applicationName = "sqlstore"

    public init(url: DatabaseURL? = nil) {
        self.url = url
    }

    /// Reads `DATABASE_URL`, `DATABASE_POOLER`, `DATABASE_MAX_OPEN_CONNS`,
    /// `DATABASE_MAX_IDLE_CONNS`, `DATABASE_MAX_ORDER_CONNS`, `DATABASE_CONN_MAX_LIFETIME` and
    /// `DATABASE_CONN_MAX_IDLE_TIME` (durations such as `5m`).
    ///
    /// - Throws: ``ConfigurationError`` naming the first variable that is not usable.
    public init(environment: EnvironmentSettings) throws(ConfigurationError) {
        self.init()
        url = try environment.databaseURL("DATABASE_URL")
        pooler = try environment.choice("DATABASE_POOLER", as: DatabasePooler.self) ?? pooler
        maxOpenConnections = try environment.positiveInteger("DATABASE_MAX_OPEN_CONNS") ?? maxOpenConnections
        maxIdleConnections = try environment.positiveInteger("DATABASE_MAX_IDLE_CONNS") ?? maxIdleConnections
        maxOrderConnections = try environment.positiveInteger("DATABASE_MAX_ORDER_CONNS") ?? maxOrderConnections
        connectionMaxLifetime = try environment.duration("DATABASE_CONN_MAX_LIFETIME") ?? connectionMaxLifetime
        spareIdleTimeout = try environment.duration("DATABASE_CONN_MAX_IDLE_TIME") ?? spareIdleTimeout
    }

    /// The URL, once known.
    ///
    /// - Throws: ``ConfigurationError`` for `DATABASE_URL` while it is still unresolved.
    public func resolvedURL() throws(ConfigurationError) -> DatabaseURL {
        guard let url else {
            throw ConfigurationError(setting: "DATABASE_URL", reason: "no database URL was given or resolved")
        }
        return url
    }

    /// The pool's configuration, with the session settings sent in the startup packet when
    /// nothing stands in between.
    public func clientConfiguration() throws -> PostgresClient.Configuration {
        var configuration = try resolvedURL().clientConfiguration(applicationName: applicationName)
        configuration.options.maximumConnections = maxOpenConnections
        // Never a minimum: PostgresNIO 1.33.2's pool traps on a lease that finds it below its
        // minimum, where it lands after losing connections faster than it replaces them (a
        // PostgreSQL restart under load). ConnectionWarmer keeps connections open instead.
        configuration.options.minimumConnections = 0
        configuration.options.connectionIdleTimeout = spareIdleTimeout
        // The keep-alive query arms a 30 s timer every time a connection goes idle, thousands a
        // second under load, each holding memory until it would have fired (see spareIdleTimeout).
        // The server's TCP keepalives keep a NAT mapping alive and end sessions whose client is
        // gone instead; on a Unix socket PostgreSQL ignores them.
        configuration.options.keepAliveBehavior = nil
        switch pooler {
        case .none:
            configuration.options.additionalStartupParameters += [
                ("statement_timeout", "\(statementTimeout.postgresMilliseconds)"),
                ("lock_timeout", "\(lockTimeout.postgresMilliseconds)"),
                ("idle_in_transaction_session_timeout", "\(idleInTransactionTimeout.postgresMilliseconds)"),
                ("tcp_keepalives_idle", "60"),
                ("tcp_keepalives_interval", "10"),
                ("tcp_keepalives_count", "6"),
            ]
        case .pgbouncer:
            // PgBouncer refuses a connection whose startup packet carries a parameter it does not
            // track (FATAL 08P01 unsupported startup parameter) unless the operator listed it in
            // ignore_startup_parameters; application_name is one it tracks. The timeouts come from
            // the role instead (`sqlstore roles`), and PgBouncer keeps its own TCP keepalives.
            break
        }
        return configuration
    }
}

/// What stands between SQLStore and PostgreSQL (`DATABASE_POOLER`).
public enum DatabasePooler: String, Sendable, CaseIterable {
    /// SQLStore talks to PostgreSQL itself and keeps state per session: statements prepared once
    /// per connection, timeouts sent at connect.
    case none
    /// A transaction-pooling PgBouncer (or any proxy that hands each transaction to any server
    /// connection): no named prepared statements, no startup parameters beyond those PgBouncer
    /// tracks, no session state between transactions.
    case pgbouncer

    /// Whether a statement prepared on a connection is still there at the next transaction.
    public var keepsSessions: Bool { self == .none }
}

extension DatabaseSettings {
    /// `logger` for the pool's own messages: refused connection attempts become one warning every
    /// 10 s with their count, instead of an `info` line each (``PoolLogHandler``).
    public func poolLogger(_ logger: Logger) -> Logger {
        var poolLogger = Logger(label: logger.label) { _ in PoolLogHandler(wrapping: logger.handler) }
        poolLogger.logLevel = logger.logLevel
        return poolLogger
    }

    /// The service that keeps ``maxIdleConnections`` of `client`'s connections open while idle
    /// (at most ``maxOpenConnections``). Run it in the same service group as `client`, after it.
    public func connectionWarmer(for client: PostgresClient, logger: Logger) -> ConnectionWarmer {
        ConnectionWarmer(
            client: client, count: min(maxIdleConnections, maxOpenConnections), interval: spareIdleTimeout / 2,
            logger: logger)
    }
}
