import Crypto
import Foundation
import Logging
import PostgresNIO
import ServiceLifecycle

/// The store: users, products, orders and organizations on PostgreSQL, knowing nothing of HTTP.
///
/// It runs on a `PostgresClient` pool that the caller runs (as a service). Every operation
/// is one statement where correctness allows, retried on serialization failures, deadlocks and
/// lock timeouts, and its errors are ``StoreError``s.
///
/// The store is a service too: ``run()`` expires operations past ``RetryPolicy/deadline``. Run it
/// in the same service group as the pool, after it; while it does not run, operations wait for
/// the pool as long as it takes, as PostgresNIO's own queries do.
public struct OrderStore: Sendable, Service {
    public let client: PostgresClient
    let logger: Logger
    var retry: RetryPolicy
    let cursorKey: SymmetricKey
    let connectionLifetime: ConnectionLifetime?
    let deadlines = DeadlineSweeper()
    /// Whether statements may be prepared once per connection (not behind a transaction pooler).
    let preparesStatements: Bool
    /// Admits order placements to the pool a few at a time (``DatabaseSettings/maxOrderConnections``).
    let placements: ConcurrencyGate?

    /// - Parameters:
    ///   - cursorSecret: signs page cursors so tampered ones are refused. Instances serving one
    ///     database must share it.
    ///   - connectionMaxLifetime: a connection older than this is closed when the store gives it
    ///     back to the pool (``DatabaseSettings/connectionMaxLifetime``); `nil` keeps connections
    ///     for as long as the pool does.
    ///   - pooler: what stands between the pool and PostgreSQL. Behind a transaction pooler the
    ///     store keeps no session state: nothing is prepared by name.
    ///   - maxOrderConnections: how many order placements may hold a pooled connection at once
    ///     (``DatabaseSettings/maxOrderConnections``); the others wait in arrival order, within
    ///     their deadline. `nil`: as many as the pool has.
    public init(
        client: PostgresClient, cursorSecret: String, retry: RetryPolicy = .init(),
        connectionMaxLifetime: Duration? = nil, pooler: DatabasePooler = .none, maxOrderConnections: Int? = nil,
        logger: Logger
    ) {
        self.preparesStatements = pooler.keepsSessions
        self.placements = maxOrderConnections.map(ConcurrencyGate.init(limit:))
        self.client = client
        self.logger = logger
        self.retry = retry
        self.cursorKey = SymmetricKey(data: SHA256.hash(data: Data("sqlstore-cursor:\(cursorSecret)".utf8)))
        self.connectionLifetime = connectionMaxLifetime.map(ConnectionLifetime.init(maximum:))
    }

    /// Expires operations past their deadline until the task is cancelled or the service group
    /// shuts down gracefully.
    public func run() async throws {
        await deadlines.run()
    }

    /// Leases a pooled connection for `body`. One past its maximum lifetime is closed once `body`
    /// is done with it, before it goes back: the pool learns of the close first and never hands
    /// the closed connection out again.
    ///
    /// A lease the pool refuses without a PostgreSQL error is thrown as ``PoolRefusal``.
    func withConnection<Result: Sendable>(_ body: (PostgresConnection) async throws -> Result) async throws -> Result {
        var leased = false
        do {
            return try await client.withConnection { connection in
                leased = true
                let result = try await body(connection)
                if let connectionLifetime, connectionLifetime.hasExpired(connection) {
                    logger.debug("closing a connection past its maximum lifetime", metadata: ["connection": "\(connection.id)"])
                    // The work is done and committed; a failure to close cleanly only ends it sooner.
                    try? await connection.close()
                }
                return result
            }
        } catch where !leased && !(error is PSQLError) {
            throw PoolRefusal(underlying: error)
        }
    }

    /// Runs one query and decodes every row with `decode`.
    func rows<Value: Sendable>(
        _ query: PostgresQuery, decode: @escaping @Sendable (PostgresRow) throws -> Value
    ) async throws -> [Value] {
        try await retrying { [self] in
            // Leased explicitly: the connection goes back to the pool however the query ends.
            try await withConnection { try await Self.rows(query, on: $0, logger: logger, decode: decode) }
        }
    }

    /// ``rows(_:decode:)`` for a statement prepared once per connection: the hottest reads, which
    /// PostgreSQL would otherwise parse and plan on every call.
    func rows<Statement: PostgresPreparedStatement>(_ statement: Statement) async throws -> [Statement.Row]
    where Statement.Row: Sendable {
        try await retrying { [self] in
            try await withConnection { try await rows(statement, on: $0) }
        }
    }

    /// Every row of `query` on `connection`, decoded with `decode`.
    static func rows<Value>(
        _ query: PostgresQuery, on connection: PostgresConnection, logger: Logger, decode: (PostgresRow) throws -> Value
    ) async throws -> [Value] {
        var values: [Value] = []
        for try await row in try await connection.query(query, logger: logger) { values.append(try decode(row)) }
        return values
    }

    /// Every row of `statement`, prepared on `connection` at its first use there; or, behind a
    /// transaction pooler (where the next transaction may run on another server connection, which
    /// lacks the statement or has another of that name), sent as an unnamed statement.
    func rows<Statement: PostgresPreparedStatement>(
        _ statement: Statement, on connection: PostgresConnection
    ) async throws -> [Statement.Row] {
        var values: [Statement.Row] = []
        if preparesStatements {
            for try await row in try await connection.execute(statement, logger: logger) { values.append(row) }
        } else {
            let query = PostgresQuery(unsafeSQL: Statement.sql, binds: try statement.makeBindings())
            for try await row in try await connection.query(query, logger: logger) { values.append(try statement.decodeRow(row)) }
        }
        return values
    }

    /// Runs one writing statement in autocommit and returns its rows only once PostgreSQL has
    /// committed it.
    ///
    /// PostgresNIO finishes a query at CommandComplete, but PostgreSQL commits an autocommit
    /// statement only afterwards, at Sync: a connection lost in between would leave the caller
    /// holding the rows of a change that never committed — a 201 for an order that does not
    /// exist. PostgresNIO sends the next query on a connection only after ReadyForQuery, that
    /// is after the commit, and closes the connection on any error in between, so the success of
    /// a trivial query that follows proves the commit. One round trip more, one fewer than
    /// `BEGIN` … `COMMIT`.
    func write<Value: Sendable>(
        _ query: PostgresQuery, decode: @escaping @Sendable (PostgresRow) throws -> Value
    ) async throws -> [Value] {
        try await retrying { [self] in
            try await withConnection { connection in
                try await committed(query, on: connection, decode: decode)
            }
        }
    }

    /// ``write(_:decode:)`` for a statement prepared once per connection; each attempt is first
    /// admitted by `gate`, if one is given.
    func write<Statement: PostgresPreparedStatement>(
        _ statement: Statement, admittedBy gate: ConcurrencyGate? = nil
    ) async throws -> [Statement.Row] where Statement.Row: Sendable {
        try await retrying { [self] in
            let attempt = { [self] in
                try await withConnection { connection in
                    let values = try await rows(statement, on: connection)
                    _ = try await rows(CommitBarrier(), on: connection)
                    return values
                }
            }
            guard let gate else { return try await attempt() }
            return try await gate.admitting(attempt)
        }
    }

    /// The rows of `query`, run in autocommit on `connection`, once its commit is confirmed.
    func committed<Value: Sendable>(
        _ query: PostgresQuery, on connection: PostgresConnection, decode: (PostgresRow) throws -> Value
    ) async throws -> [Value] {
        let values = try await Self.rows(query, on: connection, logger: logger, decode: decode)
        _ = try await rows(CommitBarrier(), on: connection)
        return values
    }

    /// Runs one writing statement like ``write(_:decode:)`` and decodes its first row, if any.
    func writeRow<Value: Sendable>(
        _ query: PostgresQuery, decode: @escaping @Sendable (PostgresRow) throws -> Value
    ) async throws -> Value? {
        try await write(query, decode: decode).first
    }

    /// Runs one query and decodes its first row, if any.
    func row<Value: Sendable>(
        _ query: PostgresQuery, decode: @escaping @Sendable (PostgresRow) throws -> Value
    ) async throws -> Value? {
        try await rows(query, decode: decode).first
    }
}

/// The commit barrier: answered only after ReadyForQuery of the statement before it on the same
/// connection, that is after that statement's commit (see ``OrderStore/write(_:decode:)``).
struct CommitBarrier: PostgresPreparedStatement {
    // Named here: PostgresNIO's default name is `String(reflecting: Self.self)`, worked out by
    // reflection on every execution (measured: 1 % of the server's samples on a product read).
    static let name = "sqlstore_commit_barrier"
    static let sql = "SELECT 1"
    func makeBindings() throws -> PostgresBindings { PostgresBindings() }
    func decodeRow(_ row: PostgresRow) throws {}
}
