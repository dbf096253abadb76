import PostgresNIO
import Testing
import TestSupport

@testable import SQLStoreMigrations

/// The opt-in style rules: off by default, reported when chosen. Where a claim is about
/// PostgreSQL's behaviour (truncation, overflow, time zones, padding) it is shown on PostgreSQL 15.
@Suite("Lint rules: opt-in style")
struct LintStyleRuleTests {
    static let styleRules = Set(LintRule.allCases.filter(\.isOptIn))

    func rules(_ up: String, chosen: Set<LintRule> = styleRules) throws -> [LintRule] {
        MigrationLinter(rules: chosen).lint([try LintFixture.migration(1, up: up)]).map(\.rule)
    }

    @Test("style rules are off by default")
    func offByDefault() throws {
        let sql = "CREATE TABLE t (id SERIAL PRIMARY KEY, code CHAR(3), at TIMESTAMP, name VARCHAR(50));"
        #expect(try rules(sql, chosen: LintRule.defaultRules).isEmpty)
        #expect(LintRule.defaultRules.isDisjoint(with: Self.styleRules))
        #expect(Self.styleRules.count == 6)
    }

    @Test("style rules flag char(n), serial, int keys, timestamp and varchar(n) when chosen")
    func flagsWhenChosen() throws {
        let sql = "CREATE TABLE t (id SERIAL PRIMARY KEY, code CHAR(3), at TIMESTAMP, name VARCHAR(50));"
        #expect(Set(try rules(sql)) == [.styleSerial, .styleIntPrimaryKey, .styleChar, .styleTimestamp, .styleVarchar])
        #expect(try rules("CREATE TABLE k (a INT, b INT, PRIMARY KEY (a, b));") == [.styleIntPrimaryKey, .styleIntPrimaryKey])
        #expect(try rules("CREATE TABLE w (at TIMESTAMP(3) WITHOUT TIME ZONE);") == [.styleTimestamp])
    }

    @Test("style rules accept text, timestamptz, bigint identity keys and unbounded varchar")
    func acceptsPreferredTypes() throws {
        let sql = """
            CREATE TABLE t (
                id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                code TEXT CHECK (length(code) = 3),
                at TIMESTAMPTZ NOT NULL DEFAULT now(),
                note VARCHAR,
                stamp TIMESTAMP WITH TIME ZONE
            );
            """
        #expect(try rules(sql).isEmpty)
        #expect(try rules("CREATE TABLE u (id BIGSERIAL PRIMARY KEY);") == [.styleSerial])
    }

    @Test("identifier-too-long: PostgreSQL keeps only 63 bytes of a name, so two long names collide")
    func identifierTooLong() async throws {
        let prefix = String(repeating: "a", count: 63)
        #expect(try rules("CREATE TABLE \(prefix)_one (id BIGINT PRIMARY KEY);") == [.identifierTooLong])
        #expect(try rules("CREATE TABLE \(prefix) (id BIGINT PRIMARY KEY);").isEmpty)
        try await LintFixture.withBase { (database: TestDatabase) async throws in
            try await LintFixture.run("CREATE TABLE \(prefix)_one (id BIGINT PRIMARY KEY)", in: database)
            #expect(try await database.tableExists(prefix))
            #expect(try await LintFixture.sqlState(of: "CREATE TABLE \(prefix)_two (id BIGINT)", in: database) == "42P07")
        }
    }

    @Test("style claims on PostgreSQL: int keys overflow, timestamp ignores the time zone, char(n) stores padding")
    func styleClaims() async throws {
        try await LintFixture.withBase { (database: TestDatabase) async throws in
            #expect(try await LintFixture.sqlState(of: "SELECT 2147483647::int + 1", in: database) == "22003")
            // One instant, written as timestamp by sessions in two time zones: two different values.
            let readings = try await database.withConnection { connection -> [String] in
                var readings: [String] = []
                for zone in ["UTC", "Asia/Tokyo"] {
                    try await LintFixture.run("SET TimeZone = '\(zone)'", on: connection)
                    let rows = try await connection.query(
                        "SELECT '2026-12-04 12:00:00+00'::timestamptz::timestamp::text", logger: TestDatabase.logger)
                    for try await reading in rows.decode(String.self) { readings.append(reading) }
                }
                return readings
            }
            #expect(readings == ["2026-12-04 12:00:00", "2026-12-04 21:00:00"])
            let sizes = try await database.scalar(
                "SELECT pg_column_size('a'::char(100)) > pg_column_size('a'::text)", as: Bool.self)
            #expect(sizes == true)
        }
    }

    /// The SQLSTATE `sql` fails with when run as `role` (SET ROLE on one connection), or nil.
    func sqlState(as role: String, _ sql: String, in database: TestDatabase) async throws -> String? {
        do {
            try await LintFixture.run("SET ROLE \(role)", sql, in: database)
            return nil
        } catch let error as PSQLError {
            return error.serverInfo?[.sqlState]
        }
    }

    @Test("style-serial: INSERT on a serial table also needs USAGE on its sequence, and explicit ids desynchronise it; identity needs neither")
    func serialNeedsItsSequence() async throws {
        #expect(try rules("CREATE TABLE s (id SERIAL PRIMARY KEY, v int);", chosen: [.styleSerial]) == [.styleSerial])
        let identity = "CREATE TABLE i (id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY, v int);"
        #expect(try rules(identity, chosen: [.styleSerial]).isEmpty)
        let role = "lint_writer_\(UInt32.random(in: 0...UInt32.max))"
        try await LintFixture.withBase { (database: TestDatabase) async throws in
            try await LintFixture.run(
                "CREATE TABLE with_serial (id SERIAL PRIMARY KEY, v int)",
                "CREATE TABLE with_identity (id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY, v int)",
                "CREATE ROLE \(role)", "GRANT INSERT ON with_serial, with_identity TO \(role)", in: database)
            do {
                #expect(
                    try await sqlState(as: role, "INSERT INTO with_serial (v) VALUES (1)", in: database) == "42501",
                    "permission denied for the sequence")
                #expect(try await sqlState(as: role, "INSERT INTO with_identity (v) VALUES (1)", in: database) == nil)
            } catch {
                try? await LintFixture.run("DROP OWNED BY \(role)", "DROP ROLE \(role)", in: database)
                throw error
            }
            try await LintFixture.run("DROP OWNED BY \(role)", "DROP ROLE \(role)", in: database)
            // An explicit id leaves the serial's sequence behind: the next default collides.
            try await LintFixture.run("INSERT INTO with_serial (id, v) VALUES (1, 0)", in: database)
            #expect(try await LintFixture.sqlState(of: "INSERT INTO with_serial (v) VALUES (1)", in: database) == "23505")
            // GENERATED ALWAYS refuses the explicit id instead.
            #expect(
                try await LintFixture.sqlState(of: "INSERT INTO with_identity (id, v) VALUES (100, 0)", in: database)
                    == "428C9")
        }
    }

    @Test("style-varchar: lowering a varchar's limit rewrites the table; a text column's CHECK is replaced NOT VALID and validated while writes go on")
    func varcharLimitChangeRewrites() async throws {
        #expect(try rules("CREATE TABLE v (id BIGINT PRIMARY KEY, name VARCHAR(50));", chosen: [.styleVarchar]) == [.styleVarchar])
        let checked = "CREATE TABLE checked (id BIGINT PRIMARY KEY, name TEXT CONSTRAINT checked_name_length CHECK (length(name) <= 50))"
        #expect(try rules(checked + ";").isEmpty)
        let replace = [
            "ALTER TABLE checked DROP CONSTRAINT checked_name_length",
            "ALTER TABLE checked ADD CONSTRAINT checked_name_length CHECK (length(name) <= 20) NOT VALID",
        ]
        let validate = "ALTER TABLE checked VALIDATE CONSTRAINT checked_name_length"
        #expect(try LintFixture.rules(replace.joined(separator: ";\n") + ";", after: checked + ";").isEmpty)
        #expect(try LintFixture.rules(validate + ";", after: checked + ";").isEmpty)
        try await LintFixture.withBase { (database: TestDatabase) async throws in
            try await LintFixture.run(
                "CREATE TABLE limited (id BIGINT PRIMARY KEY, name VARCHAR(50))", checked,
                "INSERT INTO limited VALUES (1, 'a')", "INSERT INTO checked VALUES (1, 'a')", in: database)
            let limited = try await LintFixture.relfilenode("limited", in: database)
            try await LintFixture.run("ALTER TABLE limited ALTER COLUMN name TYPE VARCHAR(20)", in: database)
            #expect(try await LintFixture.relfilenode("limited", in: database) != limited, "lowering the limit rewrote")

            let before = try await LintFixture.relfilenode("checked", in: database)
            try await LintFixture.run(replace, in: database)
            #expect(
                !(try await LintFixture.blocks(validate, probe: "INSERT INTO checked VALUES (2, 'b')", in: database)),
                "an INSERT goes on while the check is validated")
            try await LintFixture.run(validate, in: database)
            #expect(try await LintFixture.relfilenode("checked", in: database) == before, "no rewrite")
        }
    }

    @Test("style-int-primary-key: widening an int key to bigint rewrites its table, and widening each referencing column rewrites that table")
    func wideningAnIntKeyRewrites() async throws {
        let parents = "CREATE TABLE parents (id INT PRIMARY KEY)"
        let children = "CREATE TABLE children (id BIGINT PRIMARY KEY, parent_id INT NOT NULL REFERENCES parents (id))"
        #expect(try rules(parents + ";", chosen: [.styleIntPrimaryKey]) == [.styleIntPrimaryKey])
        #expect(
            try LintFixture.rules("ALTER TABLE parents ALTER COLUMN id TYPE bigint;", after: parents + ";")
                == [.columnTypeChange])
        try await LintFixture.withBase { (database: TestDatabase) async throws in
            try await LintFixture.run(
                parents, children, "INSERT INTO parents VALUES (1)", "INSERT INTO children VALUES (1, 1)", in: database)
            let parent = try await LintFixture.relfilenode("parents", in: database)
            let child = try await LintFixture.relfilenode("children", in: database)
            try await LintFixture.run("ALTER TABLE parents ALTER COLUMN id TYPE bigint", in: database)
            #expect(try await LintFixture.relfilenode("parents", in: database) != parent)
            try await LintFixture.run("ALTER TABLE children ALTER COLUMN parent_id TYPE bigint", in: database)
            #expect(try await LintFixture.relfilenode("children", in: database) != child)
        }
    }
}
