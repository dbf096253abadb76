import PostgresNIO
import Testing
import TestSupport

@testable import SQLStoreMigrations

/// The rules about statements PostgreSQL refuses, so that the migration fails on every attempt.
/// Each claim is shown on PostgreSQL 15 with the SQLSTATE; each safe counterpart lints clean.
@Suite("Lint rules: statements that fail")
struct LintRunTimeFailureTests {
    static let partitioned = """
        CREATE TABLE events (id BIGINT NOT NULL, at DATE NOT NULL, PRIMARY KEY (id, at)) PARTITION BY RANGE (at);
        CREATE TABLE events_2026 PARTITION OF events FOR VALUES FROM ('2026-01-01') TO ('2027-01-01');
        """

    // MARK: concurrently-on-partitioned-table

    @Test("concurrently-on-partitioned-table: CREATE INDEX CONCURRENTLY on a partitioned table fails")
    func concurrentIndexOnPartitionedTableFails() async throws {
        let sql = "CREATE INDEX CONCURRENTLY events_at ON events (at)"
        #expect(try LintFixture.rules("-- sqlstore:no-transaction\n\(sql);", after: Self.partitioned) == [.concurrentlyOnPartitionedTable])
        try await LintFixture.withBase { (database: TestDatabase) async throws in
            try await LintFixture.run(try SQLSplitter.split(Self.partitioned).map(\.text), in: database)
            #expect(try await LintFixture.sqlState(of: sql, in: database) == "0A000")
        }
    }

    @Test("concurrently-on-partitioned-table: accepts ON ONLY, concurrent builds per partition and ATTACH, which give a valid index")
    func concurrentIndexPerPartition() async throws {
        let parent = "CREATE INDEX IF NOT EXISTS events_at ON ONLY events (at);"
        let partition = """
            -- sqlstore:no-transaction
            DROP INDEX CONCURRENTLY IF EXISTS events_2026_at;
            CREATE INDEX CONCURRENTLY events_2026_at ON events_2026 (at);
            """
        let attach = "ALTER INDEX events_at ATTACH PARTITION events_2026_at;"
        #expect(try LintFixture.rules(parent, after: Self.partitioned).isEmpty)
        #expect(try LintFixture.rules(partition, after: Self.partitioned).isEmpty)
        #expect(try LintFixture.rules(attach, after: Self.partitioned).isEmpty)
        try await LintFixture.withBase { (database: TestDatabase) async throws in
            try await LintFixture.run(try SQLSplitter.split(Self.partitioned).map(\.text), in: database)
            try await LintFixture.run(
                [
                    "CREATE INDEX events_at ON ONLY events (at)",
                    "CREATE INDEX CONCURRENTLY events_2026_at ON events_2026 (at)",
                    "ALTER INDEX events_at ATTACH PARTITION events_2026_at",
                ], in: database)
            let valid = try await database.scalar(
                "SELECT indisvalid FROM pg_index WHERE indexrelid = 'events_at'::regclass", as: Bool.self)
            #expect(valid == true)
        }
    }

    // MARK: update-assigns-twice

    @Test("update-assigns-twice: an UPDATE assigning one column twice fails")
    func updateAssignsTwiceFails() async throws {
        let sql = "UPDATE accounts SET balance = 1, nickname = 'x', balance = 2 WHERE id = 1"
        #expect(try LintFixture.rules(sql + ";") == [.updateAssignsTwice])
        #expect(try LintFixture.rules("UPDATE accounts SET (balance, nickname) = (1, 'x'), balance = 2 WHERE id = 1;") == [.updateAssignsTwice])
        try await LintFixture.withBase { (database: TestDatabase) async throws in
            #expect(try await LintFixture.sqlState(of: sql, in: database) == "42601")
        }
    }

    @Test("update-assigns-twice: accepts one assignment per column, and two subscripts of one array")
    func updateAssignsOnce() async throws {
        #expect(try LintFixture.rules("UPDATE accounts SET balance = balance + 1, nickname = lower(nickname) WHERE id = 1;").isEmpty)
        #expect(try LintFixture.rules("UPDATE accounts SET (balance, nickname) = (1, 'x') WHERE id = 1;").isEmpty)
        #expect(try LintFixture.rules("CREATE TABLE t (id int PRIMARY KEY, a int[]);\nUPDATE t SET a[1] = 1, a[2] = 2 WHERE id = 1;").isEmpty)
        try await LintFixture.withBase { (database: TestDatabase) async throws in
            try await LintFixture.run("CREATE TABLE t (id int PRIMARY KEY, a int[])", "INSERT INTO t VALUES (1, '{0,0}')", in: database)
            #expect(try await LintFixture.sqlState(of: "UPDATE t SET a[1] = 1, a[2] = 2 WHERE id = 1", in: database) == nil)
        }
    }

    // MARK: new-enum-value-in-transaction

    @Test("new-enum-value-in-transaction: a value added in a transaction cannot be used before it commits")
    func newEnumValueFails() async throws {
        let findings = try LintFixture.lint("ALTER TYPE mood ADD VALUE 'calm';\nSELECT 'calm'::mood;")
        #expect(findings.map(\.rule) == [.newEnumValueInTransaction])
        #expect(findings.first?.line == 2)
        try await LintFixture.withBase { (database: TestDatabase) async throws in
            let state = try await database.withConnection { connection -> String? in
                try await LintFixture.run("BEGIN", on: connection)
                try await LintFixture.run("ALTER TYPE mood ADD VALUE 'calm'", on: connection)
                do {
                    try await LintFixture.run("SELECT 'calm'::mood", on: connection)
                    return nil
                } catch let error as PSQLError {
                    return error.serverInfo?[.sqlState]
                }
            }
            #expect(state == "55P04")
        }
    }

    @Test("new-enum-value-in-transaction: accepts the value used in a later migration, and other literals")
    func newEnumValueLater() throws {
        #expect(try LintFixture.rules("SELECT 'calm'::mood;", after: "ALTER TYPE mood ADD VALUE IF NOT EXISTS 'calm';").isEmpty)
        #expect(try LintFixture.rules("ALTER TYPE mood ADD VALUE 'calm';\nSELECT 'happy'::mood;").isEmpty)
    }
}
