import Logging
import PostgresNIO
import SQLStoreMigrations
import SQLStoreSupport

/// The schema is behind the migrations this build ships, and serving was not allowed anyway.
public struct SchemaBehindError: Error, Sendable, CustomStringConvertible {
    /// The migrations not applied, as `NNN_name (state)`.
    public let pending: [String]

    public var description: String {
        "the schema is behind this build: \(pending.joined(separator: ", ")). "
            + "Run `sqlstore migrate up` first, or pass --allow-stale-schema to serve anyway."
    }
}

/// Checks made once before serving, on a connection of its own (the pool runs only once the
/// server does).
public enum StartupCheck {
    /// Refuses a schema that is behind unless allowed; warns about a superuser connection, and
    /// behind a pooler about timeouts that the role does not set.
    ///
    /// - Throws: ``SchemaBehindError``, ``ConfigurationError`` for an unresolved URL, or the
    ///   connection's error when PostgreSQL cannot be reached.
    public static func run(
        settings: DatabaseSettings, migrations: [Migration], allowStaleSchema: Bool, logger: Logger
    ) async throws {
        let url = try settings.resolvedURL()
        let configuration = try url.connectionConfiguration(applicationName: "sqlstore serve")
        let connection = try await PostgresConnection.connect(configuration: configuration, id: 0, logger: logger)
        do {
            let status = try await MigrationStatus.read(for: migrations, on: connection, logger: logger)
            if !status.isUpToDate && !allowStaleSchema {
                throw SchemaBehindError(
                    pending: status.entries.filter { $0.state != .applied && $0.state != .missingFile }
                        .map { "\($0.id) (\($0.state.rawValue))" })
            }
            try await warnings(on: connection, settings: settings, logger: logger)
            try await connection.close()
        } catch {
            try? await connection.close()
            throw error
        }
    }

    private static func warnings(on connection: PostgresConnection, settings: DatabaseSettings, logger: Logger) async throws {
        let pooler = settings.pooler
        let rows = try await connection.query(
            """
            SELECT rolsuper, current_setting('statement_timeout'), current_setting('lock_timeout'),
                   current_setting('idle_in_transaction_session_timeout'),
                   current_setting('max_connections')::int - current_setting('superuser_reserved_connections')::int,
                   rolconnlimit
            FROM pg_roles WHERE rolname = current_user
            """, logger: logger)
        for try await (superuser, statement, lock, idle, serverSlots, roleLimit) in rows.decode(
            (Bool, String, String, String, Int, Int).self)
        {
            // PostgresNIO 1.33.2's pool stops handing out its idle connections once an attempt to
            // open one more fails, until a new one succeeds (docs/store.md#several-instances): a
            // pool larger than the server lets it open can stall with connections idle.
            let slots = roleLimit >= 0 ? min(serverSlots, roleLimit) : serverSlots
            if pooler.keepsSessions && settings.maxOpenConnections > slots {
                logger.warning(
                    "DATABASE_MAX_OPEN_CONNS is \(settings.maxOpenConnections) but PostgreSQL lets this role open at most \(slots) connections: once it refuses one, the pool queues requests until a new connection succeeds, even while it holds idle ones. Keep the pools of all instances within that, or put PgBouncer in front (docs/store.md#several-instances).")
            }
            if superuser {
                logger.warning(
                    "CONNECTED AS A POSTGRESQL SUPERUSER: a bug or injection here could do anything to the cluster. The server needs only DML rights: create least-privilege roles with `sqlstore roles` and serve as the application role (docs/reliability.md).")
            }
            let unbounded = [("statement_timeout", statement), ("lock_timeout", lock), ("idle_in_transaction_session_timeout", idle)]
                .filter { $0.1 == "0" }.map(\.0)
            if !pooler.keepsSessions && !unbounded.isEmpty {
                logger.warning(
                    "behind a pooler these timeouts are unbounded for this role: \(unbounded.joined(separator: ", ")). Startup parameters cannot carry them through PgBouncer; set them on the role with `sqlstore roles` (ALTER ROLE … SET), or a query can wait forever (docs/deployment.md).")
            }
        }
    }
}
