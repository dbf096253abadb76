import PostgresNIO
import Testing
import TestSupport

@testable import SQLStoreMigrations

/// The rules about statements that lock or rewrite a busy table. Each claim is shown on
/// PostgreSQL: a second session's query waits (bounded by its lock_timeout), or the table's
/// relfilenode changes. Each safe counterpart is linted and has no finding.
@Suite("Lint rules: locks and rewrites")
struct LintLockRuleTests {
    // MARK: drop-index-without-concurrently

    @Test("drop-index-without-concurrently: DROP INDEX makes a concurrent SELECT of its table wait")
    func dropIndexBlocksReads() async throws {
        let sql = "DROP INDEX idx_accounts_email"
        #expect(try LintFixture.rules(sql + ";") == [.dropIndexWithoutConcurrently])
        try await LintFixture.withBase { (database: TestDatabase) async throws in
            #expect(try await LintFixture.blocks(sql, probe: "SELECT count(*) FROM accounts", in: database))
            #expect(try await LintFixture.blocks(sql, probe: "INSERT INTO accounts VALUES (3, 'c', 'c')", in: database))
        }
    }

    @Test("drop-index-without-concurrently: accepts DROP INDEX CONCURRENTLY, and a drop before its table's")
    func dropIndexSafely() throws {
        let concurrent = "-- sqlstore:no-transaction\nDROP INDEX CONCURRENTLY IF EXISTS idx_accounts_email;"
        #expect(try LintFixture.rules(concurrent).isEmpty)
        let withTable = "-- sqlstore:lint-ignore=breaking-drop\nDROP INDEX idx_accounts_email;\nDROP TABLE accounts CASCADE;"
        #expect(try LintFixture.rules(withTable).isEmpty)
        #expect(try LintFixture.rules("CREATE TABLE t (id int PRIMARY KEY, v int);\nCREATE INDEX t_v ON t (v);\nDROP INDEX t_v;").isEmpty)
    }

    // MARK: truncate

    @Test("truncate: TRUNCATE makes a concurrent SELECT wait")
    func truncateBlocksReads() async throws {
        #expect(try LintFixture.rules("TRUNCATE accounts CASCADE;") == [.truncate])
        #expect(try LintFixture.rules("TRUNCATE TABLE ONLY accounts;") == [.truncate])
        try await LintFixture.withBase { (database: TestDatabase) async throws in
            #expect(try await LintFixture.blocks("TRUNCATE accounts", probe: "SELECT count(*) FROM accounts", in: database))
        }
    }

    @Test("truncate: TRUNCATE … CASCADE empties every table that references it, recursively, and blocks its reads")
    func truncateCascadeReachesReferencingTables() async throws {
        let findings = try LintFixture.lint("TRUNCATE accounts CASCADE;")
        #expect(findings.map(\.rule) == [.truncate])
        #expect(findings.first?.message.contains("every table with a foreign key to it, recursively") == true)
        #expect(findings.first?.message.contains("ACCESS EXCLUSIVE on all of them") == true)
        try await LintFixture.withBase { (database: TestDatabase) async throws in
            try await LintFixture.run(
                "CREATE TABLE notes (id BIGINT PRIMARY KEY, account_id BIGINT NOT NULL REFERENCES accounts (id))",
                "CREATE TABLE replies (id BIGINT PRIMARY KEY, note_id BIGINT NOT NULL REFERENCES notes (id))",
                "INSERT INTO notes VALUES (1, 1), (2, 2)", "INSERT INTO replies VALUES (1, 1)", in: database)
            // Without CASCADE PostgreSQL refuses: a table references accounts.
            #expect(try await LintFixture.sqlState(of: "TRUNCATE accounts", in: database) == "0A000")
            // The referencing table is locked too: a read of notes waits.
            #expect(
                try await LintFixture.blocks("TRUNCATE accounts CASCADE", probe: "SELECT count(*) FROM notes", in: database))
            try await LintFixture.run("TRUNCATE accounts CASCADE", in: database)
            let left = try await database.scalar(
                "SELECT ((SELECT count(*) FROM notes) + (SELECT count(*) FROM replies))::int", as: Int.self)
            #expect(left == 0, "rows of the referencing tables, two levels deep, are gone")
        }
    }

    @Test("truncate: accepts TRUNCATE of a table created in the same file, and a batched DELETE")
    func truncateSafely() throws {
        #expect(try LintFixture.rules("CREATE TABLE scratch (id int PRIMARY KEY);\nTRUNCATE scratch;").isEmpty)
        #expect(
            try LintFixture.rules("DELETE FROM accounts WHERE id IN (SELECT id FROM accounts WHERE balance = 0 LIMIT 1000);")
                .isEmpty)
    }

    // MARK: set-unlogged

    @Test("set-unlogged: SET UNLOGGED and SET LOGGED rewrite the table and make a concurrent SELECT wait")
    func setUnloggedRewrites() async throws {
        #expect(try LintFixture.rules("ALTER TABLE accounts SET UNLOGGED;") == [.setUnlogged])
        #expect(try LintFixture.rules("ALTER TABLE accounts SET LOGGED;") == [.setUnlogged])
        try await LintFixture.withBase { (database: TestDatabase) async throws in
            let before = try await LintFixture.relfilenode("accounts", in: database)
            try await LintFixture.run("ALTER TABLE accounts SET UNLOGGED", in: database)
            let unlogged = try await LintFixture.relfilenode("accounts", in: database)
            try await LintFixture.run("ALTER TABLE accounts SET LOGGED", in: database)
            let logged = try await LintFixture.relfilenode("accounts", in: database)
            #expect(before != nil && before != unlogged && unlogged != logged)
            #expect(
                try await LintFixture.blocks(
                    "ALTER TABLE accounts SET UNLOGGED", probe: "SELECT count(*) FROM accounts", in: database))
        }
    }

    @Test("set-unlogged: accepts an unlogged table created as such")
    func unloggedFromTheStart() throws {
        #expect(try LintFixture.rules("CREATE UNLOGGED TABLE cache (k text PRIMARY KEY, v text);").isEmpty)
        #expect(try LintFixture.rules("CREATE TABLE cache (k text PRIMARY KEY);\nALTER TABLE cache SET UNLOGGED;").isEmpty)
    }

    // MARK: vacuum-full-or-cluster

    @Test("vacuum-full-or-cluster: both rewrite the table; CLUSTER makes a concurrent SELECT wait")
    func vacuumFullAndClusterRewrite() async throws {
        #expect(try LintFixture.rules("-- sqlstore:no-transaction\nVACUUM FULL accounts;") == [.tableRewrite])
        #expect(try LintFixture.rules("-- sqlstore:no-transaction\nVACUUM (FULL, ANALYZE) accounts;") == [.tableRewrite])
        #expect(try LintFixture.rules("CLUSTER accounts USING accounts_pkey;") == [.tableRewrite])
        try await LintFixture.withBase { (database: TestDatabase) async throws in
            let before = try await LintFixture.relfilenode("accounts", in: database)
            try await LintFixture.run("VACUUM FULL accounts", in: database)
            let vacuumed = try await LintFixture.relfilenode("accounts", in: database)
            try await LintFixture.run("CLUSTER accounts USING accounts_pkey", in: database)
            let clustered = try await LintFixture.relfilenode("accounts", in: database)
            #expect(before != nil && before != vacuumed && vacuumed != clustered)
            #expect(
                try await LintFixture.blocks(
                    "CLUSTER accounts USING accounts_pkey", probe: "SELECT count(*) FROM accounts", in: database))
        }
    }

    @Test("vacuum-full-or-cluster: accepts plain VACUUM and VACUUM (FULL false)")
    func plainVacuum() async throws {
        #expect(try LintFixture.rules("-- sqlstore:no-transaction\nVACUUM ANALYZE accounts;").isEmpty)
        #expect(try LintFixture.rules("-- sqlstore:no-transaction\nVACUUM (FULL false) accounts;").isEmpty)
        try await LintFixture.withBase { (database: TestDatabase) async throws in
            let before = try await LintFixture.relfilenode("accounts", in: database)
            try await LintFixture.run("VACUUM ANALYZE accounts", in: database)
            #expect(try await LintFixture.relfilenode("accounts", in: database) == before)
        }
    }

    // MARK: lock-table

    @Test("lock-table: LOCK TABLE blocks reads; IN SHARE MODE blocks writes but not reads")
    func lockTableBlocks() async throws {
        #expect(try LintFixture.rules("LOCK TABLE accounts;") == [.lockTable])
        #expect(try LintFixture.rules("LOCK accounts IN SHARE MODE;") == [.lockTable])
        try await LintFixture.withBase { (database: TestDatabase) async throws in
            #expect(try await LintFixture.blocks("LOCK TABLE accounts", probe: "SELECT count(*) FROM accounts", in: database))
            let share = "LOCK accounts IN SHARE MODE"
            #expect(try await LintFixture.blocks(share, probe: "INSERT INTO accounts VALUES (3, 'c', 'c')", in: database))
            #expect(try await !LintFixture.blocks(share, probe: "SELECT count(*) FROM accounts", in: database))
        }
    }

    @Test("lock-table: accepts the modes ordinary writes take, which block no INSERT")
    func weakLocks() async throws {
        #expect(try LintFixture.rules("LOCK TABLE accounts IN ROW EXCLUSIVE MODE;").isEmpty)
        #expect(try LintFixture.rules("LOCK TABLE accounts IN SHARE UPDATE EXCLUSIVE MODE NOWAIT;").isEmpty)
        try await LintFixture.withBase { (database: TestDatabase) async throws in
            #expect(
                try await !LintFixture.blocks(
                    "LOCK TABLE accounts IN SHARE UPDATE EXCLUSIVE MODE",
                    probe: "INSERT INTO accounts VALUES (3, 'c', 'c')", in: database))
        }
    }

    // MARK: refresh-without-concurrently

    @Test("refresh-without-concurrently: REFRESH MATERIALIZED VIEW makes a concurrent SELECT of the view wait")
    func refreshBlocksReads() async throws {
        let sql = "REFRESH MATERIALIZED VIEW account_totals"
        #expect(try LintFixture.rules(sql + ";") == [.refreshWithoutConcurrently])
        try await LintFixture.withBase { (database: TestDatabase) async throws in
            #expect(try await LintFixture.blocks(sql, probe: "SELECT n FROM account_totals", in: database))
        }
    }

    @Test("refresh-without-concurrently: accepts CONCURRENTLY, which lets readers go on")
    func refreshConcurrently() async throws {
        #expect(try LintFixture.rules("REFRESH MATERIALIZED VIEW CONCURRENTLY account_totals;").isEmpty)
        try await LintFixture.withBase { (database: TestDatabase) async throws in
            try await LintFixture.run("CREATE UNIQUE INDEX account_totals_n ON account_totals (n)", in: database)
            #expect(
                try await !LintFixture.blocks(
                    "REFRESH MATERIALIZED VIEW CONCURRENTLY account_totals", probe: "SELECT n FROM account_totals",
                    in: database))
        }
    }

    // MARK: detach-partition-without-concurrently

    @Test("detach-partition-without-concurrently: DETACH PARTITION makes a concurrent SELECT of the parent wait")
    func detachBlocksReads() async throws {
        let sql = "ALTER TABLE events DETACH PARTITION events_2026"
        #expect(try LintFixture.rules(sql + ";", after: LintRunTimeFailureTests.partitioned) == [.detachPartitionWithoutConcurrently])
        try await LintFixture.withBase { (database: TestDatabase) async throws in
            try await LintFixture.run(try SQLSplitter.split(LintRunTimeFailureTests.partitioned).map(\.text), in: database)
            #expect(try await LintFixture.blocks(sql, probe: "SELECT count(*) FROM events", in: database))
        }
    }

    @Test("detach-partition-without-concurrently: accepts DETACH … CONCURRENTLY in a no-transaction migration")
    func detachConcurrently() throws {
        let sql = "-- sqlstore:no-transaction\nALTER TABLE events DETACH PARTITION events_2026 CONCURRENTLY;"
        #expect(try LintFixture.rules(sql, after: LintRunTimeFailureTests.partitioned).isEmpty)
        #expect(try LintFixture.rules("-- sqlstore:no-transaction\nALTER TABLE events DETACH PARTITION events_2026 FINALIZE;", after: LintRunTimeFailureTests.partitioned).isEmpty)
    }

    // MARK: exclusion-constraint

    @Test("exclusion-constraint: ADD … EXCLUDE makes a concurrent SELECT wait")
    func exclusionConstraintBlocksReads() async throws {
        let sql = "ALTER TABLE accounts ADD CONSTRAINT accounts_email_excl EXCLUDE USING btree (email WITH =)"
        #expect(try LintFixture.rules(sql + ";") == [.exclusionConstraint])
        try await LintFixture.withBase { (database: TestDatabase) async throws in
            #expect(try await LintFixture.blocks(sql, probe: "SELECT count(*) FROM accounts", in: database))
        }
    }

    @Test("exclusion-constraint: accepts an exclusion constraint declared with its table")
    func exclusionConstraintWithTable() throws {
        let sql = "CREATE TABLE bookings (id int PRIMARY KEY, room int, EXCLUDE USING btree (room WITH =));"
        #expect(try LintFixture.rules(sql).isEmpty)
    }

    // MARK: whole-table-update

    @Test("whole-table-update: an UPDATE without WHERE holds every row, so a concurrent UPDATE of one waits")
    func wholeTableUpdateLocksRows() async throws {
        let sql = "UPDATE accounts SET balance = balance + 1"
        #expect(try LintFixture.rules(sql + ";") == [.wholeTableUpdate])
        try await LintFixture.withBase { (database: TestDatabase) async throws in
            #expect(
                try await LintFixture.blocks(
                    sql, probe: "UPDATE accounts SET nickname = 'z' WHERE id = 2", in: database))
        }
    }

    @Test("whole-table-update: accepts a batch with WHERE, a no-transaction backfill, and a table of the same file")
    func batchedUpdate() throws {
        #expect(try LintFixture.rules("UPDATE accounts SET balance = 0 WHERE id IN (SELECT id FROM accounts WHERE balance < 0 LIMIT 1000);").isEmpty)
        #expect(try LintFixture.rules("-- sqlstore:no-transaction\nUPDATE accounts SET balance = 0;").isEmpty)
        #expect(try LintFixture.rules("CREATE TABLE t (id int PRIMARY KEY, v int);\nUPDATE t SET v = 0;").isEmpty)
    }

    // MARK: volatile-default (user-defined functions)

    static let functions = """
        CREATE FUNCTION next_code() RETURNS int LANGUAGE plpgsql AS $$ BEGIN RETURN 7; END $$;
        CREATE FUNCTION constant_code() RETURNS int LANGUAGE plpgsql IMMUTABLE AS $$ BEGIN RETURN 7; END $$;
        CREATE FUNCTION fixed_code() RETURNS int LANGUAGE plpgsql STABLE AS $$ BEGIN RETURN 7; END $$;
        CREATE FUNCTION inlined_code() RETURNS int LANGUAGE sql AS 'SELECT 7';
        """

    @Test("volatile-default: a default calling a function an earlier migration declared volatile rewrites the table")
    func userVolatileDefaultRewrites() async throws {
        let sql = "ALTER TABLE accounts ADD COLUMN code int DEFAULT next_code()"
        #expect(try LintFixture.rules(sql + ";", after: Self.functions) == [.volatileDefault])
        try await LintFixture.withBase { (database: TestDatabase) async throws in
            try await LintFixture.run(try SQLSplitter.split(Self.functions).map(\.text), in: database)
            let before = try await LintFixture.relfilenode("accounts", in: database)
            try await LintFixture.run(sql, in: database)
            #expect(try await LintFixture.relfilenode("accounts", in: database) != before)
        }
    }

    @Test("volatile-default: accepts a default calling a STABLE function, or an inlinable SQL one, added without a rewrite")
    func userStableDefault() async throws {
        let sql = "ALTER TABLE accounts ADD COLUMN code int DEFAULT fixed_code()"
        let inlined = "ALTER TABLE accounts ADD COLUMN other_code int DEFAULT inlined_code()"
        #expect(try LintFixture.rules(sql + ";", after: Self.functions).isEmpty)
        #expect(try LintFixture.rules(inlined + ";", after: Self.functions).isEmpty)
        #expect(
            try LintFixture.rules(
                "ALTER TABLE accounts ADD COLUMN code int DEFAULT next_code();",
                after: Self.functions + "\nALTER FUNCTION next_code() IMMUTABLE;").isEmpty)
        try await LintFixture.withBase { (database: TestDatabase) async throws in
            try await LintFixture.run(try SQLSplitter.split(Self.functions).map(\.text), in: database)
            let before = try await LintFixture.relfilenode("accounts", in: database)
            try await LintFixture.run(sql, inlined, in: database)
            #expect(try await LintFixture.relfilenode("accounts", in: database) == before)
        }
    }

    @Test("volatile-default: a default calling a function neither built in nor created by an earlier migration is a warning that lint cannot tell")
    func unknownFunctionDefault() async throws {
        let sql = "ALTER TABLE accounts ADD COLUMN code int DEFAULT unknown_code()"
        let findings = try LintFixture.lint(sql + ";")
        #expect(findings.map(\.rule) == [.volatileDefault])
        let finding = try #require(findings.first)
        #expect(finding.severity == .warning)
        #expect(finding.message.contains("unknown_code(), which is neither built into PostgreSQL nor created by an earlier migration"))
        #expect(finding.message.contains("lint cannot tell whether it rewrites all of accounts"))
        #expect(
            try LintFixture.rules("ALTER TABLE accounts ADD COLUMN code text DEFAULT \"Mixed\"(lower('X'));")
                == [.volatileDefault], "a quoted name is a function too")
        // Whether it rewrites depends on the declaration lint has not seen: the same default, declared
        // VOLATILE or IMMUTABLE, rewrites accounts or not.
        try await LintFixture.withBase { (database: TestDatabase) async throws in
            try await LintFixture.run(
                "CREATE FUNCTION unknown_code() RETURNS int LANGUAGE plpgsql VOLATILE AS $$ BEGIN RETURN 7; END $$",
                in: database)
            let before = try await LintFixture.relfilenode("accounts", in: database)
            try await LintFixture.run(sql, in: database)
            let afterVolatile = try await LintFixture.relfilenode("accounts", in: database)
            #expect(afterVolatile != before)
            try await LintFixture.run(
                "ALTER FUNCTION unknown_code() IMMUTABLE",
                "ALTER TABLE accounts ADD COLUMN other_code int DEFAULT unknown_code()", in: database)
            #expect(try await LintFixture.relfilenode("accounts", in: database) == afterVolatile)
        }
    }

    @Test("volatile-default: accepts a default calling a function an earlier migration created IMMUTABLE, added without a rewrite")
    func userImmutableDefault() async throws {
        let sql = "ALTER TABLE accounts ADD COLUMN code int DEFAULT constant_code()"
        #expect(try LintFixture.rules(sql + ";", after: Self.functions).isEmpty)
        #expect(
            try LintFixture.rules("CREATE FUNCTION f() RETURNS int LANGUAGE plpgsql IMMUTABLE AS $$ BEGIN RETURN 1; END $$;\n"
                + "ALTER TABLE accounts ADD COLUMN f int DEFAULT f();").isEmpty, "created earlier in the same file")
        #expect(
            try LintFixture.rules(
                "ALTER TABLE accounts ADD COLUMN code int DEFAULT constant_code();",
                after: Self.functions + "\nDROP FUNCTION constant_code();") == [.volatileDefault],
            "a dropped function is unknown again")
        try await LintFixture.withBase { (database: TestDatabase) async throws in
            try await LintFixture.run(try SQLSplitter.split(Self.functions).map(\.text), in: database)
            let before = try await LintFixture.relfilenode("accounts", in: database)
            try await LintFixture.run(sql, in: database)
            #expect(try await LintFixture.relfilenode("accounts", in: database) == before)
        }
    }

    static let builtinDefaults = """
        ALTER TABLE accounts ADD COLUMN a numeric(10,2) DEFAULT CAST(0 AS numeric(10,2)),
            ADD COLUMN b varchar(10) DEFAULT 'x'::character varying(10),
            ADD COLUMN c timestamptz DEFAULT CURRENT_TIMESTAMP(3),
            ADD COLUMN d text DEFAULT lower(coalesce(nullif('X', ''), 'Y')),
            ADD COLUMN e bigint NOT NULL DEFAULT 1 CHECK (e >= 0) REFERENCES accounts (id),
            ADD COLUMN f timestamptz DEFAULT pg_catalog.now(),
            ADD COLUMN g date DEFAULT (now() AT TIME ZONE 'UTC')::date,
            ADD COLUMN h text DEFAULT to_char(now(), 'YYYY'),
            ADD COLUMN i decimal(12, 2) DEFAULT 0::decimal(12, 2),
            ADD COLUMN j float8 DEFAULT float(24) '1.5',
            ADD COLUMN k text DEFAULT EXTRACT(year FROM now())::text
        """

    @Test("volatile-default: built-in functions are known from PostgreSQL 15's catalog: stable and immutable ones, casts and keywords draw nothing")
    func builtinDefaults() async throws {
        #expect(try LintFixture.rules(Self.builtinDefaults + ";").isEmpty)
        let volatile = try LintFixture.lint("ALTER TABLE accounts ADD COLUMN t text DEFAULT current_query();")
        #expect(volatile.map(\.rule) == [.volatileDefault], "current_query is VOLATILE in pg_proc, and on no list of lint's own")
        #expect(volatile.first?.severity == .error)
        try await LintFixture.withBase { (database: TestDatabase) async throws in
            let before = try await LintFixture.relfilenode("accounts", in: database)
            try await LintFixture.run(Self.builtinDefaults, in: database)
            #expect(try await LintFixture.relfilenode("accounts", in: database) == before)
            try await LintFixture.run("ALTER TABLE accounts ADD COLUMN t text DEFAULT current_query()", in: database)
            #expect(try await LintFixture.relfilenode("accounts", in: database) != before)
        }
    }

    @Test("volatile-default: the embedded built-in volatilities are those of the test server's pg_catalog")
    func builtinVolatilitiesMatchTheServer() async throws {
        try await TestDatabase.withFresh { (database: TestDatabase) async throws in
            let major = try await database.scalar(
                "SELECT current_setting('server_version_num')::int / 10000", as: Int.self)
            #expect(
                major == BuiltinFunctionVolatility.postgresMajorVersion,
                "the table is PostgreSQL \(BuiltinFunctionVolatility.postgresMajorVersion)'s: regenerate it with scripts/lint-builtin-volatility")
            let server = try await database.withConnection { connection -> [String: Character] in
                let rows = try await connection.query(
                    """
                    SELECT proname::text, max(provolatile)::text FROM pg_proc
                    WHERE pronamespace = 'pg_catalog'::regnamespace GROUP BY proname
                    """, logger: TestDatabase.logger)
                var table: [String: Character] = [:]
                for try await (name, volatility) in rows.decode((String, String).self) { table[name] = volatility.first }
                return table
            }
            #expect(server.count > 2000)
            #expect(server == BuiltinFunctionVolatility.byName)
        }
    }
}
