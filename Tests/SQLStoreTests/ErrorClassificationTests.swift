@testable import PostgresNIO
@testable import SQLStore
import Testing
import TestSupport

@Suite("Error classification")
struct ErrorClassificationTests {
    @Test(
        "PostgreSQL's connection, resource, operator-intervention and system error classes are 'unavailable'",
        arguments: ["08P01", "53400", "57P04", "58030"])
    func unavailableClasses(sqlState: String) async throws {
        _ = try await withStore { store, _ in
            await #expect(throws: StoreError.unavailable(reason: "PostgreSQL is not accepting work")) {
                try await store.transaction { connection in
                    _ = try await connection.query(
                        "DO $$ BEGIN RAISE EXCEPTION 'injected' USING ERRCODE = '\(unescaped: sqlState)'; END $$",
                        logger: TestDatabase.logger)
                }
            }
        }
    }

    @Test("a write that reaches a read-only server (a primary restarting in a failover) is 'unavailable', not a bug")
    func readOnlyServer() async throws {
        _ = try await withStore { store, _ in
            await #expect(throws: StoreError.unavailable(reason: "PostgreSQL is read-only (a failover in progress?)")) {
                try await store.transaction { connection in
                    // What a standby, or a primary restarted read-only, does to every write.
                    _ = try await connection.query("SET TRANSACTION READ ONLY", logger: TestDatabase.logger)
                    _ = try await connection.query("CREATE TEMP TABLE written (id int)", logger: TestDatabase.logger)
                }
            }
        }
    }

    @Test("a session terminated by an administrator is 'unavailable', not a bug")
    func terminatedSession() async throws {
        try await withStore { store, _ in
            // Whether PostgresNIO reports the FATAL message or the closed socket first, it is 'unavailable'.
            let error = await #expect(throws: StoreError.self) {
                try await store.transaction { connection in
                    _ = try await connection.query("SELECT pg_terminate_backend(pg_backend_pid())", logger: TestDatabase.logger)
                }
            }
            guard case .unavailable = error else {
                Issue.record("expected unavailable, got \(String(describing: error))")
                return
            }
        }
    }

    // Built by hand, with PostgresNIO's own constructors: a FATAL arriving between a statement's
    // CommandComplete and ReadyForQuery cannot be timed against a real server (CI saw one under
    // pg_terminate_backend, answered 500 before this classification).
    @Test("a FATAL that PostgresNIO reports as an unexpected message, its SQLSTATE hidden, is 'unavailable': the connection is gone and the statement's outcome unknown")
    func unexpectedMessageIsALostConnection() {
        let fatal = PostgresBackendMessage.ErrorResponse(fields: [
            .sqlState: "57P01", .severity: "FATAL", .message: "terminating connection due to administrator command",
        ])
        let error = PSQLError.unexpectedBackendMessage(.error(fatal))
        #expect(error.serverInfo == nil, "PostgresNIO does not expose the SQLSTATE here")
        #expect(StoreError.classify(error) as? StoreError == .unavailable(reason: "no connection to PostgreSQL"))
    }

    @Test("any other error is passed through unclassified, to be answered as a bug")
    func otherErrorsPassThrough() async throws {
        try await withStore { store, _ in
            let error = await #expect(throws: PostgresTransactionError.self) {
                try await store.transaction { connection in
                    _ = try await connection.query(
                        "DO $$ BEGIN RAISE EXCEPTION 'injected' USING ERRCODE = '42P01'; END $$", logger: TestDatabase.logger)
                }
            }
            #expect((error?.closureError as? PSQLError)?.serverInfo?[.sqlState] == "42P01")
        }
    }

    // PostgresNIO's pool trips a circuit breaker after 60 s of failed connection attempts (its
    // ConnectionPoolConfiguration default, which PostgresClient does not change) and then fails
    // every lease at once with an error of the underscored _ConnectionPoolModule. The store
    // recognises it by where it happened (``PoolRefusal``): before a connection was leased. The
    // test waits out the 60 s beside the other suites.
    @Test("once the pool's circuit breaker trips on an unreachable PostgreSQL, a read fails at once as 'unavailable', not as a bug")
    func circuitBreakerRefusal() async throws {
        // Nothing listens on port 1: every connection attempt is refused at once.
        var settings = DatabaseSettings(url: try DatabaseURL("postgres://nobody@127.0.0.1:1/none?sslmode=disable"))
        settings.maxIdleConnections = 0
        let client = PostgresClient(configuration: try settings.clientConfiguration(), backgroundLogger: TestDatabase.logger)
        let pool = Task { await client.run() }
        defer { pool.cancel() }
        let store = OrderStore(client: client, cursorSecret: "test", logger: TestDatabase.logger)

        let unavailable = StoreError.unavailable(reason: "PostgreSQL has been unreachable; connection attempts keep failing")
        // The first read waits in the pool's queue until the breaker trips.
        await #expect(throws: unavailable) { _ = try await store.product(id: 1) }
        let started = ContinuousClock.now
        await #expect(throws: unavailable) { _ = try await store.product(id: 1) }
        #expect(ContinuousClock.now - started < .seconds(5), "refused without waiting: \(ContinuousClock.now - started)")
    }
}

