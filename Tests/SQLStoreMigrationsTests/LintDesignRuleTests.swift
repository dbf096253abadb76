import PostgresNIO
import Testing
import TestSupport

@testable import SQLStoreMigrations

/// Rules about what a migration leaves behind or hides: domain constraints checked across
/// tables, tables without a primary key, and schema changes inside DO blocks. Each claim is
/// shown on PostgreSQL 15; each safe counterpart lints clean.
@Suite("Lint rules: domains, primary keys, DO blocks")
struct LintDesignRuleTests {
    static let ledger = """
        CREATE DOMAIN amount AS INT;
        CREATE TABLE ledger (id INT PRIMARY KEY, value amount NOT NULL);
        """

    // MARK: domain-constraint

    @Test("domain-constraint: ADD CONSTRAINT and VALIDATE on a domain in use make a concurrent INSERT wait")
    func domainConstraintBlocksWrites() async throws {
        let add = "ALTER DOMAIN amount ADD CONSTRAINT amount_positive CHECK (VALUE > 0)"
        let validate = "ALTER DOMAIN amount VALIDATE CONSTRAINT amount_positive"
        #expect(try LintFixture.rules(add + ";", after: Self.ledger) == [.domainConstraint])
        #expect(try LintFixture.rules(validate + ";", after: Self.ledger) == [.domainConstraint])
        #expect(try LintFixture.rules("ALTER DOMAIN amount SET NOT NULL;", after: Self.ledger) == [.domainConstraint])
        try await LintFixture.withBase { (database: TestDatabase) async throws in
            try await LintFixture.run(try SQLSplitter.split(Self.ledger).map(\.text), in: database)
            try await LintFixture.run("INSERT INTO ledger VALUES (1, 5), (2, 7)", in: database)
            let insert = "INSERT INTO ledger VALUES (3, 9)"
            #expect(try await LintFixture.blocks(add, probe: insert, in: database))
            try await LintFixture.run(add + " NOT VALID", in: database)
            #expect(try await LintFixture.blocks(validate, probe: insert, in: database))
        }
    }

    @Test("domain-constraint: accepts NOT VALID, a domain no existing table uses, and a table CHECK instead")
    func domainConstraintSafely() throws {
        #expect(
            try LintFixture.rules(
                "ALTER DOMAIN amount ADD CONSTRAINT amount_positive CHECK (VALUE > 0) NOT VALID;", after: Self.ledger)
                .isEmpty)
        #expect(
            try LintFixture.rules(
                "CREATE DOMAIN code AS TEXT;\nALTER DOMAIN code ADD CONSTRAINT code_short CHECK (length(VALUE) < 9);")
                .isEmpty)
        #expect(
            try LintFixture.rules(
                "ALTER TABLE ledger ADD CONSTRAINT ledger_value_positive CHECK (value > 0) NOT VALID;",
                after: Self.ledger).isEmpty)
    }

    // MARK: table-without-primary-key

    @Test("table-without-primary-key: logical replication cannot publish an UPDATE of a table without one")
    func tableWithoutPrimaryKey() async throws {
        let findings = try LintFixture.lint("CREATE TABLE audit (at timestamptz NOT NULL, what text);")
        #expect(findings.map(\.rule) == [.tableWithoutPrimaryKey])
        #expect(findings.first?.severity == .warning)
        try await LintFixture.withBase { (database: TestDatabase) async throws in
            try await LintFixture.run(
                "CREATE TABLE audit (at timestamptz NOT NULL, what text)", "INSERT INTO audit VALUES (now(), 'x')",
                "CREATE PUBLICATION everything FOR TABLE audit, accounts", in: database)
            #expect(try await LintFixture.sqlState(of: "UPDATE audit SET what = 'y'", in: database) == "55000")
            #expect(try await LintFixture.sqlState(of: "UPDATE accounts SET balance = 1 WHERE id = 1", in: database) == nil)
        }
    }

    @Test("table-without-primary-key: accepts a primary key inline, as a constraint, added later in the file, and temporary or partition tables")
    func tablesWithPrimaryKeys() throws {
        #expect(try LintFixture.rules("CREATE TABLE a (id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY);").isEmpty)
        #expect(try LintFixture.rules("CREATE TABLE b (x int, y int, CONSTRAINT b_pkey PRIMARY KEY (x, y));").isEmpty)
        #expect(try LintFixture.rules("CREATE TABLE c (id int NOT NULL);\nALTER TABLE c ADD PRIMARY KEY (id);").isEmpty)
        #expect(try LintFixture.rules("CREATE TEMP TABLE d (x int);").isEmpty)
        #expect(
            try LintFixture.rules(
                "CREATE TABLE events_2027 PARTITION OF events FOR VALUES FROM ('2027-01-01') TO ('2028-01-01');",
                after: LintRunTimeFailureTests.partitioned).isEmpty)
    }

    // MARK: ddl-in-do-block

    @Test("ddl-in-do-block: a DO block's CREATE INDEX blocks writes as the statement would, and lint says it cannot see it")
    func doBlockHidesDDL() async throws {
        let block = "DO $$ BEGIN CREATE INDEX accounts_nickname ON accounts (nickname); END $$"
        #expect(try LintFixture.rules(block + ";") == [.ddlInDoBlock])
        #expect(try LintFixture.rules("DO LANGUAGE plpgsql 'BEGIN EXECUTE ''ALTER TABLE accounts ADD c int''; END';") == [.ddlInDoBlock])
        try await LintFixture.withBase { (database: TestDatabase) async throws in
            #expect(try await LintFixture.blocks(block, probe: "INSERT INTO accounts VALUES (3, 'c', 'c')", in: database))
        }
    }

    @Test("ddl-in-do-block: accepts DO blocks without schema changes, whatever their strings and comments say")
    func doBlockWithoutDDL() throws {
        let sql = """
            DO $$
            BEGIN
                -- DROP TABLE accounts would be wrong here
                IF (SELECT count(*) FROM accounts) > 1000000 THEN
                    RAISE NOTICE 'CREATE INDEX CONCURRENTLY later';
                END IF;
            END $$;
            """
        #expect(try LintFixture.rules(sql).isEmpty)
    }
}
