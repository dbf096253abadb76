import Foundation
import PostgresNIO
import Testing
import TestSupport

@testable import SQLStoreMigrations

/// Files wrapped in their own `BEGIN; … COMMIT;` are transactional migrations; any other
/// transaction control is refused, every offence of the plan listed in one run.
@Suite("Transaction wrappers")
struct TransactionWrapperTests {
    func script(_ sql: String) throws -> MigrationScript { try MigrationScript(fileName: "001_x.up.sql", sql: sql) }

    @Test("a leading BEGIN and trailing COMMIT are a wrapper, and the body is what lies between")
    func beginCommitIsAWrapper() throws {
        let wrapped = try script("-- header\nBEGIN;\nCREATE TABLE a (id int);\nCREATE TABLE b (id int);\nCOMMIT;\n")
        #expect(wrapped.wrapper?.begin.line == 2)
        #expect(wrapped.wrapper?.commit.line == 5)
        #expect(wrapped.body.map(\.text) == ["CREATE TABLE a (id int)", "CREATE TABLE b (id int)"])
        #expect(wrapped.transactionControlOffences.isEmpty)
    }

    @Test("START TRANSACTION with options and END are a wrapper too")
    func startTransactionEndIsAWrapper() throws {
        let wrapped = try script("START TRANSACTION ISOLATION LEVEL SERIALIZABLE;\nSELECT 1;\nend;")
        #expect(wrapped.wrapper?.begin.text == "START TRANSACTION ISOLATION LEVEL SERIALIZABLE")
        #expect(wrapped.body.count == 1)
    }

    @Test("COMMIT AND CHAIN, a SAVEPOINT or a second COMMIT make a file no wrapper, and each is an offence")
    func otherTransactionControlIsNoWrapper() throws {
        #expect(try script("BEGIN;\nSELECT 1;\nCOMMIT AND CHAIN;").wrapper == nil)
        let savepoint = try script("BEGIN;\nSAVEPOINT s;\nSELECT 1;\nCOMMIT;")
        #expect(savepoint.wrapper == nil)
        #expect(savepoint.transactionControlOffences.map(\.line) == [1, 2, 4])
    }

    @Test("a wrapper in a no-transaction file is an offence")
    func wrapperInNoTransactionFile() throws {
        let file = try script("-- sqlstore:no-transaction\nBEGIN;\nSELECT 1;\nCOMMIT;")
        #expect(file.transactionControlOffences.map(\.line) == [2, 4])
    }

    @Test("a wrapped file applies atomically with its tracking row, its wrapper replaced by the runner's transaction")
    func wrappedFileApplies() async throws {
        let folder = try MigrationFolder([
            "001_wrapped.up.sql": "BEGIN;\nCREATE TABLE wrapped (id int);\nCOMMIT;\n",
            "001_wrapped.down.sql": "BEGIN;\nDROP TABLE wrapped;\nCOMMIT;\n",
        ])
        try await TestDatabase.withFresh { database in
            let runner = try runner(folder, database)
            try await runner.up()
            #expect(try await database.tableExists("wrapped"))
            #expect(try await runner.status().entries.first?.transactional == true)
            try await runner.down()
            #expect(try await database.tableExists("wrapped") == false)
        }
    }

    @Test("a wrapped file that fails leaves nothing behind")
    func wrappedFileFailsAtomically() async throws {
        let folder = try MigrationFolder([
            "001_wrapped.up.sql": "BEGIN;\nCREATE TABLE wrapped (id int);\nINSERT INTO missing VALUES (1);\nCOMMIT;\n"
        ])
        try await TestDatabase.withFresh { database in
            let error = await #expect(throws: MigrationError.self) { try await runner(folder, database).up() }
            guard let error, error.code == .statementFailed, let failure = error.statementFailure else {
                Issue.record("expected a statement failure, got \(String(describing: error))")
                return
            }
            #expect(failure.line == 3 && failure.rolledBack)
            let leftBehind = try await database.tableExists("wrapped")
            #expect(!leftBehind)
            #expect(try await database.scalar("SELECT count(*)::int FROM schema_migrations", as: Int.self) == 0)
        }
    }

    @Test("a wrapper's BEGIN ISOLATION LEVEL opens the runner's transaction")
    func wrapperOptionsApply() async throws {
        let folder = try MigrationFolder([
            "001_serial.up.sql": """
                BEGIN ISOLATION LEVEL REPEATABLE READ;
                CREATE TABLE seen AS SELECT current_setting('transaction_isolation') AS level;
                COMMIT;
                """
        ])
        try await TestDatabase.withFresh { database in
            try await runner(folder, database).up()
            #expect(try await database.scalar("SELECT level FROM seen", as: String.self) == "repeatable read")
        }
    }

    @Test("every offending file and line of the plan is listed in one refusal, and nothing runs")
    func everyOffenceInOneRun() async throws {
        let folder = try MigrationFolder([
            "001_fine.up.sql": "CREATE TABLE fine (id int);",
            "002_wrapped.up.sql": "BEGIN;\nCREATE TABLE wrapped (id int);\nCOMMIT;",
            "003_middle.up.sql": "CREATE TABLE a (id int);\nCOMMIT;\nCREATE TABLE b (id int);",
            "004_savepoint.up.sql": "BEGIN;\nSAVEPOINT s;\nSELECT 1;\nRELEASE s;\nCOMMIT;",
        ])
        try await TestDatabase.withFresh { database in
            let error = await #expect(throws: MigrationPlanError.self) { try await runner(folder, database).up() }
            #expect(
                error?.offences.map { "\($0.file):\($0.line)" } == [
                    "003_middle.up.sql:2", "004_savepoint.up.sql:1", "004_savepoint.up.sql:2", "004_savepoint.up.sql:4",
                    "004_savepoint.up.sql:5",
                ])
            #expect(error?.description.contains("nothing was run") == true)
            let ranAnything = try await database.tableExists("fine")
            #expect(!ranAnything, "nothing runs when the plan is refused")
        }
    }
}
