import Foundation
import PostgresNIO
import TestSupport

@testable import SQLStoreMigrations

/// What the rule tests share: linting a change after a base schema, and the PostgreSQL
/// observations that prove a rule's claim (a second session waits, the relfilenode changes, a
/// statement fails).
enum LintFixture {
    /// Tables that exist before the migration under test: the application uses them.
    static let base = """
        CREATE TABLE accounts (
            id BIGINT PRIMARY KEY,
            email TEXT NOT NULL,
            nickname TEXT NOT NULL,
            balance INT NOT NULL DEFAULT 0
        );
        CREATE INDEX idx_accounts_email ON accounts (email);
        CREATE MATERIALIZED VIEW account_totals AS SELECT count(*) AS n FROM accounts;
        CREATE TYPE mood AS ENUM ('happy', 'sad');
        """

    static func migration(_ version: Int64, up: String, down: String? = "SELECT 1;", name: String = "change") throws
        -> Migration
    {
        let stem = "\(Migration.format(version))_\(name)"
        return Migration(
            version: version, name: name,
            up: try MigrationScript(fileName: "\(stem).up.sql", sql: up),
            down: try down.map { try MigrationScript(fileName: "\(stem).down.sql", sql: $0) })
    }

    /// Lints `up` (and `down`) as migration 2, after ``base`` as migration 1.
    static func lint(_ up: String, down: String? = "SELECT 1;") throws -> [LintFinding] {
        MigrationLinter().lint([
            try migration(1, up: base, down: "DROP TABLE IF EXISTS accounts CASCADE;", name: "base"),
            try migration(2, up: up, down: down),
        ]).filter { !$0.file.hasPrefix("001_") }
    }

    static func rules(_ up: String, down: String? = "SELECT 1;") throws -> [LintRule] {
        try lint(up, down: down).map(\.rule)
    }

    /// The rules flagged in `up`, linted as migration 3 after ``base`` and `earlier`.
    static func rules(_ up: String, after earlier: String) throws -> [LintRule] {
        MigrationLinter().lint([
            try migration(1, up: base, down: "DROP TABLE IF EXISTS accounts CASCADE;", name: "base"),
            try migration(2, up: earlier, name: "earlier"),
            try migration(3, up: up),
        ]).filter { $0.file.hasPrefix("003_") }.map(\.rule)
    }

    // MARK: PostgreSQL observations

    /// A fresh database holding ``base`` and two accounts, for `body`.
    static func withBase<Result: Sendable>(_ body: (TestDatabase) async throws -> Result) async throws -> Result {
        try await TestDatabase.withFresh { database in
            try await database.withConnection { connection in
                for statement in try SQLSplitter.split(base) { try await run(statement.text, on: connection) }
                try await run(
                    "INSERT INTO accounts VALUES (1, 'a@example.com', 'a', 10), (2, 'b@example.com', 'b', 20)",
                    on: connection)
                try await run("REFRESH MATERIALIZED VIEW account_totals", on: connection)
            }
            return try await body(database)
        }
    }

    static func run(_ sql: String, on connection: PostgresConnection) async throws {
        for try await _ in try await connection.query(PostgresQuery(unsafeSQL: sql), logger: TestDatabase.logger) {}
    }

    /// Runs each of `sql` on one connection, in order.
    static func run(_ sql: String..., in database: TestDatabase) async throws {
        try await run(sql, in: database)
    }

    /// Runs the statements on one connection, in order.
    static func run(_ sql: [String], in database: TestDatabase) async throws {
        try await database.withConnection { connection in
            for statement in sql { try await run(statement, on: connection) }
        }
    }

    /// The SQLSTATE `sql` fails with, or nil when it succeeds.
    static func sqlState(of sql: String, in database: TestDatabase) async throws -> String? {
        do {
            try await run(sql, in: database)
            return nil
        } catch let error as PSQLError {
            return error.serverInfo?[.sqlState]
        }
    }

    /// True when `probe`, run by a second session while a transaction that has run `statement`
    /// is still open, waits for a lock: the second session's lock_timeout (300 ms) ends the wait
    /// with SQLSTATE 55P03, which nothing else raises. The transaction is rolled back afterwards.
    static func blocks(_ statement: String, probe: String, in database: TestDatabase) async throws -> Bool {
        try await database.withConnection { holder in
            try await run("BEGIN", on: holder)
            try await run(statement, on: holder)
            let blocked = try await database.withConnection { prober in
                try await run("SET lock_timeout = '300ms'", on: prober)
                do {
                    try await run(probe, on: prober)
                    return false
                } catch let error as PSQLError where error.serverInfo?[.sqlState] == "55P03" {
                    return true
                }
            }
            try await run("ROLLBACK", on: holder)
            return blocked
        }
    }

    /// The file a relation's data is stored in: a new one means PostgreSQL rewrote the relation.
    static func relfilenode(_ relation: String, in database: TestDatabase) async throws -> String? {
        try await database.scalar("SELECT pg_relation_filenode(\(relation)::regclass)::text", as: String.self)
    }
}
