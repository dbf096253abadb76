import Foundation
import PostgresNIO
import SQLStore
import SQLStoreMigrations
import Testing
import TestSupport

/// The store's shipped migrations, applied to real PostgreSQL.
@Suite("Schema")
struct SchemaTests {
    func runner(_ database: TestDatabase) throws -> MigrationRunner {
        try database.schemaRunner()
    }

    @Test("the migrated schema is exactly schema.snapshot (regenerate with `sqlstore migrate snapshot --write`)")
    func schemaMatchesSnapshot() async throws {
        try await TestDatabase.withFresh { database in
            let runner = try runner(database)
            try await runner.up()
            let expected = try #require(try MigrationSource.expectedSnapshot(directory: SchemaMigrations.directory()))
            let report = try await runner.verify(expected: expected)
            #expect(report.schemaDifferences == [])
            #expect(report.problems == [])
        }
    }

    @Test("up, down to zero and up again leave an identical catalog, and down leaves nothing")
    func roundTripIsExact() async throws {
        try await TestDatabase.withFresh { database in
            let runner = try runner(database)
            try await runner.up()
            let first = try await runner.snapshot()
            try await runner.down(to: 0)
            let empty = try await runner.snapshot()
            #expect(empty.entries == [])
            try await runner.up()
            let second = try await runner.snapshot()
            #expect(first.differences(from: second) == [])
        }
    }

    @Test("each migration's down returns the schema to the state before its up")
    func everyDownReversesItsUp() async throws {
        try await TestDatabase.withFresh { database in
            let runner = try runner(database)
            var before: [Int64: SchemaSnapshot] = [:]
            for migration in runner.migrations {
                before[migration.version] = try await runner.snapshot()
                try await runner.up(to: migration.version)
            }
            for migration in runner.migrations.reversed() {
                try await runner.down()
                let after = try await runner.snapshot()
                #expect(before[migration.version]?.differences(from: after) == [], "down of \(migration.id)")
            }
        }
    }

    @Test("the shipped migrations pass every lint rule")
    func shippedMigrationsAreLintClean() throws {
        let findings = MigrationLinter().lint(try SchemaMigrations.load())
        #expect(findings.map(\.description) == [])
    }

    @Test("at least one shipped migration is non-transactional (CREATE INDEX CONCURRENTLY)")
    func hasConcurrentIndexMigration() throws {
        let concurrent = try SchemaMigrations.load().filter { !$0.up.directives.transactional }
        #expect(concurrent.contains { $0.up.statements.contains { $0.skeleton.contains("CREATE INDEX CONCURRENTLY") } })
    }
}

/// Migration 008's functions and trigger: the invariant "an active organization is one the
/// user belongs to" is kept by the database itself.
@Suite("Active organization")
struct ActiveOrganizationTests {
    func migrated(_ body: (TestDatabase) async throws -> Void) async throws {
        try await TestDatabase.withMigrated { database in
            try await database.execute(
                """
                INSERT INTO users (id, email, name) VALUES (1, 'ada@example.com', 'Ada'), (2, 'bob@example.com', 'Bob')
                """)
            try await database.execute(
                "INSERT INTO organizations (id, slug, name) VALUES (10, 'acme', 'Acme'), (20, 'globex', 'Globex')")
            try await database.execute("INSERT INTO organization_members (organization_id, user_id, role) VALUES (10, 1, 'admin')")
            try await body(database)
        }
    }

    func sqlState(of query: PostgresQuery, in database: TestDatabase) async -> String? {
        do {
            try await database.execute(query)
            return nil
        } catch {
            return (error as? PSQLError)?.serverInfo?[.sqlState] ?? "not a server error: \(error)"
        }
    }

    @Test("a non-member cannot be made active: SQLSTATE SQ403, and nothing changes")
    func nonMemberIsRefused() async throws {
        try await migrated { database in
            #expect(await sqlState(of: "SELECT set_user_active_org(2, 10)", in: database) == "SQ403")
            #expect(await sqlState(of: "SELECT set_user_active_org(1, 20)", in: database) == "SQ403")
            let active = try await database.scalar("SELECT count(*) FROM users WHERE active_org_id IS NOT NULL", as: Int.self)
            #expect(active == 0)
        }
    }

    @Test("a member can be made active, and the getter returns id, slug, name and role")
    func memberBecomesActive() async throws {
        try await migrated { database in
            #expect(try await database.scalar("SELECT set_user_active_org(1, 10)", as: Bool.self) == true)
            let active = try await database.scalar(
                """
                SELECT organization_id || ' ' || organization_slug || ' ' || organization_name || ' ' || user_role
                FROM get_user_active_org(1)
                """, as: String.self)
            #expect(active == "10 acme Acme admin")
            let none = try await database.scalar("SELECT count(*) FROM get_user_active_org(2)", as: Int.self)
            #expect(none == 0)
        }
    }

    @Test("removing the membership clears the user's active organization")
    func removingMembershipClearsActive() async throws {
        try await migrated { database in
            _ = try await database.scalar("SELECT set_user_active_org(1, 10)", as: Bool.self)
            try await database.execute("DELETE FROM organization_members WHERE organization_id = 10 AND user_id = 1")
            let cleared = try await database.scalar("SELECT active_org_id IS NULL FROM users WHERE id = 1", as: Bool.self)
            #expect(cleared == true)
        }
    }

    @Test("deleting an organization clears active_org_id; one with orders cannot be deleted")
    func deletingOrganization() async throws {
        try await migrated { database in
            _ = try await database.scalar("SELECT set_user_active_org(1, 10)", as: Bool.self)
            try await database.execute(
                "INSERT INTO orders (user_id, order_number, total_amount, organization_id) VALUES (2, 'ORD-1', 0, 20)")
            #expect(await sqlState(of: "DELETE FROM organizations WHERE id = 20", in: database) == "23503")
            try await database.execute("DELETE FROM organizations WHERE id = 10")
            let cleared = try await database.scalar("SELECT active_org_id IS NULL FROM users WHERE id = 1", as: Bool.self)
            #expect(cleared == true)
        }
    }

    @Test("the set-up function is not executable by PUBLIC")
    func setterIsNotPublic() async throws {
        try await migrated { database in
            let publicCanExecute = try await database.scalar(
                "SELECT has_function_privilege('public', 'set_user_active_org(bigint, bigint)', 'EXECUTE')", as: Bool.self)
            #expect(publicCanExecute == false)
        }
    }

    @Test("the 008 backfill gives each member their first-joined organization, and a rerun changes nothing")
    func backfillPicksFirstJoined() async throws {
        try await TestDatabase.withFresh { database in
            let runner = try database.schemaRunner()
            try await runner.up(to: 7)
            try await database.execute("INSERT INTO users (id, email, name) VALUES (1, 'a@x.io', 'A'), (2, 'b@x.io', 'B'), (3, 'c@x.io', 'C')")
            try await database.execute("INSERT INTO organizations (id, slug, name) VALUES (10, 'ten', 'Ten'), (20, 'twenty', 'Twenty')")
            try await database.execute(
                """
                INSERT INTO organization_members (organization_id, user_id, joined_at) VALUES
                    (20, 1, '2024-01-01'), (10, 1, '2024-06-01'),
                    (10, 2, '2024-03-01'), (20, 2, '2024-03-01')
                """)
            try await runner.up(to: 8)
            let backfilled = try await database.scalar(
                "SELECT string_agg(id || '=' || coalesce(active_org_id::text, '-'), ',' ORDER BY id) FROM users", as: String.self)
            #expect(backfilled == "1=20,2=10,3=-")

            let sql = try #require(runner.migrations.first { $0.version == 8 }).up.statements.last?.text
            try await database.execute(PostgresQuery(unsafeSQL: try #require(sql)))
            let again = try await database.scalar(
                "SELECT string_agg(id || '=' || coalesce(active_org_id::text, '-'), ',' ORDER BY id) FROM users", as: String.self)
            #expect(again == backfilled)
        }
    }
}
