import PostgresNIO
import SQLStore
import Testing
import TestSupport

@Suite("Error classification")
struct ErrorClassificationTests {
    @Test(
        "PostgreSQL's connection, resource, operator-intervention and system error classes are 'unavailable'",
        arguments: ["08P01", "53400", "57P04", "58030"])
    func unavailableClasses(sqlState: String) async throws {
        try await withStore { store, _ in
            await #expect(throws: StoreError.unavailable(reason: "PostgreSQL is not accepting work")) {
                try await store.transaction { connection in
                    _ = try await connection.query(
                        "DO $$ BEGIN RAISE EXCEPTION 'injected' USING ERRCODE = '\(unescaped: sqlState)'; END $$",
                        logger: TestDatabase.logger)
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
}
