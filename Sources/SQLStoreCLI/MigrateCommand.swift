import ArgumentParser
import EmbeddedPostgres
import Foundation
import Logging
import SQLStore
import SQLStoreMigrations
import SQLStoreSupport

struct MigrateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "migrate",
        abstract: "Apply, revert, inspect and check schema migrations.",
        discussion: """
            Runs under a session-level advisory lock: concurrent runners wait (--lock-wait) and \
            apply each migration exactly once. Exit status 0 on success, 1 on any failure.
            """,
        subcommands: [
            Up.self, Down.self, Redo.self, Status.self, Verify.self, Create.self, Lint.self, Baseline.self,
            Adopt.self, Repair.self, Snapshot.self,
        ]
    )
}

/// Options every database-facing migrate command shares.
struct MigrationOptions: ParsableArguments {
    @OptionGroup var database: DatabaseOptions

    @Option(help: "Folder of NNN_name.up.sql/.down.sql files (default: the migrations built into sqlstore).")
    var dir: String?

    @Option(
        help: """
            Layout of --dir: sqlstore, golang-migrate, goose, dbmate, flyway, sqitch or diesel \
            (default: detected).
            """)
    var format: String?

    @Option(help: "How long to wait for another runner's lock.")
    var lockWait = GoDuration(.seconds(60))

    @Option(help: "lock_timeout for each migration, unless its file sets one.")
    var lockTimeout = GoDuration(.seconds(5))

    @Option(help: "statement_timeout for each migration, unless its file sets one (0: none).")
    var statementTimeout = GoDuration(.seconds(600))

    @Option(help: "How many times a migration that hit lock_timeout is retried.")
    var lockRetries = 3

    @Flag(help: "Allow pending migrations numbered below the newest applied one.")
    var allowOutOfOrder = false

    @Option(
        help: """
            Schema of the tracking tables, created if missing (default: the schema the tracking \
            table is in today, else the connection's current schema).
            """)
    var trackingSchema: String?

    func loadMigrations() throws -> [Migration] {
        try MigrationSource.load(directory: try migrationsDirectory(), format: try migrationFormat())
    }

    func migrationFormat() throws -> MigrationFormat? {
        guard let format else { return nil }
        guard let known = MigrationFormat(name: format) else {
            throw ValidationError(
                "unknown --format '\(format)'; known: " + MigrationFormat.allCases.map(\.name).joined(separator: ", "))
        }
        return known
    }

    func migrationsDirectory() throws -> URL {
        if let dir { return URL(fileURLWithPath: dir) }
        return try SchemaMigrations.directory()
    }

    /// Runs `body` with a runner connected to the configured (or embedded) database.
    func withRunner<Result>(_ body: (MigrationRunner) async throws -> Result) async throws -> Result {
        let migrations = try loadMigrations()
        let logger = cliLogger()
        return try await withDatabase(try migrationURL(environment: .process), logger: logger) { url, _ in
            var configuration = MigrationRunner.Configuration()
            configuration.lockWait = lockWait.value
            configuration.lockTimeout = lockTimeout.value
            configuration.statementTimeout = statementTimeout.value
            configuration.lockRetries = lockRetries
            configuration.allowOutOfOrder = allowOutOfOrder
            configuration.trackingSchema = trackingSchema
            let runner = MigrationRunner(
                migrations: migrations,
                connection: try url.connectionConfiguration(applicationName: "sqlstore migrate"),
                configuration: configuration, logger: logger)
            return try await body(runner)
        }
    }
}

extension MigrationOptions {
    /// `--database-url`, else `MIGRATE_DATABASE_URL`, else `DATABASE_URL` unless that names a
    /// transaction pooler: the runner's advisory lock and `CREATE INDEX CONCURRENTLY` need one
    /// session for the whole run, which a transaction pooler does not give, so the lock would
    /// guard nothing.
    func migrationURL(environment: EnvironmentSettings) throws(ConfigurationError) -> DatabaseURL? {
        if database.databaseURL != nil { return try database.url(environment: environment) }
        if let direct = try environment.databaseURL("MIGRATE_DATABASE_URL") { return direct }
        let pooler = try environment.choice("DATABASE_POOLER", as: DatabasePooler.self) ?? .none
        if !pooler.keepsSessions, environment.string("DATABASE_URL") != nil {
            throw ConfigurationError(
                setting: "MIGRATE_DATABASE_URL",
                reason: "DATABASE_POOLER=\(pooler.rawValue) says DATABASE_URL reaches PostgreSQL through a transaction pooler, where the migration lock would not hold: give MIGRATE_DATABASE_URL (or --database-url) a direct connection to PostgreSQL")
        }
        return try environment.databaseURL("DATABASE_URL")
    }
}

func cliLogger() -> Logger {
    var logger = Logger(label: "sqlstore") { StreamLogHandler.standardError(label: $0) }
    logger.logLevel = ProcessInfo.processInfo.environment["LOG_LEVEL"].flatMap(Logger.Level.init(rawValue:)) ?? .warning
    return logger
}

/// Prints a failure as `error: …` and exits 1; the message names what failed and why.
func reportingFailures(_ body: () async throws -> Void) async throws {
    do {
        try await body()
    } catch let error as ExitCode {
        throw error
    } catch {
        printError("error: \(describe(error))")
        throw ExitCode.failure
    }
}

func describe(_ error: any Error) -> String {
    switch error {
    case let error as MigrationError: return error.description
    case let error as MigrationPlanError: return error.description
    case let error as MigrationFolderError: return error.description
    case let error as MigrationAdoptError: return error.description
    case let error as MigrationSourceError: return error.description
    case let error as DatabaseURLError: return error.description
    case let error as ConfigurationError: return error.description
    case let error as SchemaBehindError: return error.description
    case let error as EmbeddedPostgresError: return error.description
    case let error as ValidationError: return error.message
    // PostgresNIO's own description is deliberately generic; the reflection carries the details.
    default: return String(reflecting: error)
    }
}

extension MigrateCommand {
    struct Up: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Apply pending migrations.")
        @OptionGroup var options: MigrationOptions
        @Option(help: "Stop after applying this version.") var to: Int64?
        @Flag(help: "Print the plan and its SQL; change nothing.") var dryRun = false

        func run() async throws {
            try await reportingFailures {
                try await options.withRunner { runner in
                    if dryRun {
                        printPlan(try await runner.plan(.up(to: to)), runner: runner)
                        return
                    }
                    let steps = try await runner.up(to: to, progress: printProgress)
                    try await printSummary(runner: runner, changed: steps.count)
                }
            }
        }
    }

    struct Down: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Revert applied migrations, newest first.")
        @OptionGroup var options: MigrationOptions
        @Argument(help: "How many migrations to revert (default 1).") var count: Int?
        @Option(help: "Revert every migration above this version (0: all).") var to: Int64?
        @Flag(help: "Print the plan and its SQL; change nothing.") var dryRun = false

        func validate() throws {
            if count != nil && to != nil { throw ValidationError("give a count or --to, not both") }
            if let count, count < 1 { throw ValidationError("the count must be at least 1") }
            if let to, to < 0 { throw ValidationError("--to must be 0 or a version") }
        }

        func run() async throws {
            try await reportingFailures {
                try await options.withRunner { runner in
                    if dryRun {
                        printPlan(try await runner.plan(.down(steps: count, to: to)), runner: runner)
                        return
                    }
                    let steps = try await runner.down(steps: count, to: to, progress: printProgress)
                    try await printSummary(runner: runner, changed: steps.count)
                }
            }
        }
    }

    struct Redo: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Revert the newest migration and apply it again.")
        @OptionGroup var options: MigrationOptions
        @Flag(help: "Print the plan and its SQL; change nothing.") var dryRun = false

        func run() async throws {
            try await reportingFailures {
                try await options.withRunner { runner in
                    if dryRun {
                        printPlan(try await runner.plan(.redo), runner: runner)
                        return
                    }
                    let steps = try await runner.redo(progress: printProgress)
                    try await printSummary(runner: runner, changed: steps.count)
                }
            }
        }
    }

    struct Status: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show every migration and its state.")
        @OptionGroup var options: MigrationOptions
        @Flag(help: "Print JSON instead of a table.") var json = false

        func run() async throws {
            try await reportingFailures {
                try await options.withRunner { runner in
                    let status = try await runner.status()
                    print(json ? try statusJSON(status) : statusTable(status))
                }
            }
        }
    }

    struct Verify: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Check checksums, pending and failed steps, and the live schema against schema.snapshot.")
        @OptionGroup var options: MigrationOptions

        func run() async throws {
            try await reportingFailures {
                try await options.withRunner { runner in
                    let expected = try MigrationSource.expectedSnapshot(directory: try options.migrationsDirectory())
                    let report = try await runner.verify(expected: expected)
                    for problem in report.problems { print("problem: \(problem)") }
                    if !report.schemaDifferences.isEmpty {
                        print("the live schema differs from \(MigrationSource.snapshotFileName) (- expected, + live):")
                        for line in report.schemaDifferences { print("  " + line.replacingOccurrences(of: "\n", with: "\n    ")) }
                    }
                    guard report.isClean else { throw ExitCode.failure }
                    let checked = report.checkedSchema
                        ? "the live schema matches \(MigrationSource.snapshotFileName)"
                        : "no \(MigrationSource.snapshotFileName) to compare the schema with"
                    print("verified: \(runner.migrations.count) migrations applied, checksums match, \(checked)")
                }
            }
        }
    }

    struct Baseline: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Record migrations up to VERSION as applied without running them (adopt an existing database).")
        @OptionGroup var options: MigrationOptions
        @Argument(help: "The newest version the database already has.") var version: Int64
        @Flag(help: "Print what would be recorded; change nothing.") var dryRun = false

        func run() async throws {
            try await reportingFailures {
                try await options.withRunner { runner in
                    let adopted = try await runner.baseline(version: version, dryRun: dryRun, progress: printProgress)
                    for migration in adopted { print("\(dryRun ? "would record" : "recorded") \(migration.id) as applied") }
                    if dryRun { print("dry run: nothing was changed") }
                }
            }
        }
    }

    struct Adopt: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Take over another tool's history: record what it applied as applied here, without running it.",
            discussion: """
                Reads golang-migrate's schema_migrations, goose's goose_db_version, Flyway's \
                flyway_schema_history, dbmate's schema_migrations, sqitch.changes or diesel's \
                __diesel_schema_migrations, and records the same \
                migrations of --dir (read as they are; see --format) in SQLStore's tracking table. golang-migrate \
                and dbmate also call their table schema_migrations: pass --tracking-schema.
                """)
        @OptionGroup var options: MigrationOptions
        @Option(help: "The tool whose history to take over: golang-migrate, goose, flyway, dbmate, sqitch or diesel.")
        var from: String
        @Flag(help: "Print what would be recorded; change nothing.") var dryRun = false

        func run() async throws {
            try await reportingFailures {
                guard let tool = ForeignTool(name: from) else {
                    throw ValidationError(
                        "unknown --from '\(from)'; known: " + ForeignTool.allCases.map(\.name).joined(separator: ", "))
                }
                try await options.withRunner { runner in
                    let adopted = try await runner.adopt(from: tool, dryRun: dryRun, progress: printProgress)
                    for migration in adopted {
                        print("\(dryRun ? "would record" : "recorded") \(migration.id) as applied (from \(tool))")
                    }
                    if dryRun {
                        print("dry run: nothing was changed")
                    } else {
                        try await printSummary(runner: runner, changed: adopted.count)
                    }
                }
            }
        }
    }

    struct Repair: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Resolve a failed or interrupted non-transactional migration.",
            aliases: ["force"])
        @OptionGroup var options: MigrationOptions
        @Argument(help: "The version to resolve.") var version: Int64
        @Flag(help: "Its effects are complete: record it as applied.") var applied = false
        @Flag(help: "Its effects are undone: forget it so that up runs it again.") var pending = false

        func validate() throws {
            guard applied != pending else { throw ValidationError("say what the migration is now: --applied or --pending") }
        }

        func run() async throws {
            try await reportingFailures {
                try await options.withRunner { runner in
                    let row = try await runner.repair(version: version, as: applied ? .applied : .pending)
                    print("\(row.id) was \(row.state.rawValue); now \(applied ? "recorded as applied" : "pending")")
                }
            }
        }
    }

    struct Snapshot: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print the live schema in schema.snapshot form, or write it beside the migrations.")
        @OptionGroup var options: MigrationOptions
        @Flag(help: "Write it to <dir>/schema.snapshot (default dir: Sources/SQLStore/Migrations).") var write = false

        func run() async throws {
            try await reportingFailures {
                try await options.withRunner { runner in
                    let snapshot = try await runner.snapshot()
                    guard write else {
                        print(snapshot.text, terminator: "")
                        return
                    }
                    let url = try sourceDirectory(options.dir).appendingPathComponent(MigrationSource.snapshotFileName)
                    try snapshot.text.write(to: url, atomically: true, encoding: .utf8)
                    print("wrote \(url.path) (\(snapshot.entries.count) entries)")
                }
            }
        }
    }
}

/// The folder migrations are written to: `--dir`, else the store's source folder.
func sourceDirectory(_ dir: String?) throws -> URL {
    if let dir { return URL(fileURLWithPath: dir) }
    let source = URL(fileURLWithPath: FileManager.default.currentDirectoryPath)
        .appendingPathComponent("Sources/SQLStore/Migrations")
    guard FileManager.default.fileExists(atPath: source.path) else {
        throw ValidationError("pass --dir: there is no Sources/SQLStore/Migrations here to write to")
    }
    return source
}
