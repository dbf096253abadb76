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
}
