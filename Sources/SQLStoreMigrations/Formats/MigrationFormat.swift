import Foundation

/// A folder layout of migration files: SQLStore's own, or another tool's, read as it is.
///
/// ``MigrationSource/load(directory:format:)`` detects the layout unless one is given. Each
/// tool's no-transaction marker makes a migration non-transactional here:
///
/// | format | files | no-transaction marker |
/// | --- | --- | --- |
/// | ``sqlstore`` | `NNN_name.up.sql`, `.down.sql`, `.verify.sql` | `-- sqlstore:no-transaction` |
/// | ``golangMigrate`` | `N_name.up.sql`, `N_name.down.sql` (any name; `.postgres.` dialect files) | none (`-- sqlstore:no-transaction`) |
/// | ``goose`` | `N_name.sql` with `-- +goose Up` / `-- +goose Down` | `-- +goose NO TRANSACTION` |
/// | ``dbmate`` | `N_name.sql` with `-- migrate:up` / `-- migrate:down` | `transaction:false` on the marker line |
/// | ``flyway`` | `V1__name.sql`, `U1__name.sql` | `executeInTransaction=false` in `V1__name.sql.conf` |
/// | ``sqitch`` | `sqitch.plan`, `deploy/`, `revert/`, `verify/` | none (a script without `BEGIN`/`COMMIT`) |
/// | ``diesel`` | `<version>_name/up.sql`, `down.sql` | `run_in_transaction = false` in `metadata.toml` |
public struct MigrationFormat: Sendable, Hashable, CustomStringConvertible, CaseIterable {
    /// The name `--format` takes.
    public let name: String
    private init(_ name: String) { self.name = name }

    public static let sqlstore = MigrationFormat("sqlstore")
    public static let golangMigrate = MigrationFormat("golang-migrate")
    public static let goose = MigrationFormat("goose")
    public static let dbmate = MigrationFormat("dbmate")
    public static let flyway = MigrationFormat("flyway")
    public static let sqitch = MigrationFormat("sqitch")
    public static let diesel = MigrationFormat("diesel")

    public static let allCases: [MigrationFormat] = [.sqlstore, .golangMigrate, .goose, .dbmate, .flyway, .sqitch, .diesel]

    /// The format of that name (`golang-migrate`, `goose`, …), or nil.
    public init?(name: String) {
        guard let format = Self.allCases.first(where: { $0.name == name.lowercased() }) else { return nil }
        self = format
    }

    public var description: String { name }

    /// What a folder of this format looks like, for messages.
    var expectation: String {
        switch self {
        case .sqlstore: return "sqlstore: NNN_name.up.sql / .down.sql / .verify.sql"
        case .golangMigrate: return "golang-migrate: N_name.up.sql / N_name.down.sql"
        case .goose: return "goose: N_name.sql with -- +goose Up / -- +goose Down"
        case .dbmate: return "dbmate: N_name.sql with -- migrate:up / -- migrate:down"
        case .flyway: return "Flyway: V1__name.sql / U1__name.sql"
        case .sqitch: return "sqitch: sqitch.plan with deploy/, revert/ and verify/"
        default: return "diesel: <version>_name/up.sql and down.sql, a folder per migration"
        }
    }

    /// The layout of `directory`, judged by its names (and, for single-file layouts, the
    /// markers inside); nil when nothing in it is recognised.
    static func detect(in directory: URL) throws -> MigrationFormat? {
        let fileManager = FileManager.default
        let entries = try fileManager.contentsOfDirectory(atPath: directory.path)
        if entries.contains("sqitch.plan") { return .sqitch }
        let hasFolderMigration = entries.contains { entry in
            fileManager.fileExists(atPath: directory.appendingPathComponent(entry).appendingPathComponent("up.sql").path)
        }
        if hasFolderMigration { return .diesel }
        let sql = entries.filter { $0.hasSuffix(".sql") }
        if sql.contains(where: { FlywayName($0) != nil }) { return .flyway }
        if sql.contains(where: { $0.hasSuffix(".up.sql") || $0.hasSuffix(".down.sql") || $0.hasSuffix(".verify.sql") }) {
            let native = sql.allSatisfy { MigrationSource.parse(fileName: $0) != nil }
            return native ? .sqlstore : .golangMigrate
        }
        for name in sql.sorted() {
            let text = (try? String(contentsOf: directory.appendingPathComponent(name), encoding: .utf8)) ?? ""
            if text.contains("-- +goose") || text.contains("--+goose") { return .goose }
            if text.contains("-- migrate:up") || text.contains("--migrate:up") { return .dbmate }
        }
        return nil
    }
}

/// One migration as a layout describes it, before its scripts are parsed.
struct FoundMigration {
    struct Script {
        var fileName: String
        var sql: String
        var noTransaction = false
        /// The tool runs a script without a transaction when it holds a statement that cannot
        /// run in one (golang-migrate's single statement, Flyway's detection, sqitch's psql).
        var noTransactionWhenNeeded = false
        /// What earlier versions of SQLStore read as this script's text, when that was different
        /// (goose and dbmate sections; ``MigrationScript/earlierChecksum``).
        var earlierSQL: String?
    }

    var version: Int64
    var name: String
    var up: Script?
    var down: Script?
    var verify: Script?
}

/// Statements PostgreSQL refuses inside a transaction block.
func cannotRunInTransaction(_ statement: SQLStatement) -> Bool {
    let skeleton = statement.skeleton
    let prefixes = [
        "CREATE INDEX CONCURRENTLY", "CREATE UNIQUE INDEX CONCURRENTLY", "DROP INDEX CONCURRENTLY", "VACUUM",
        "CREATE DATABASE", "DROP DATABASE", "ALTER SYSTEM", "CREATE TABLESPACE", "DROP TABLESPACE",
    ]
    if prefixes.contains(where: { skeleton.hasPrefix($0) }) { return true }
    if skeleton.hasPrefix("REINDEX"), skeleton.contains(" CONCURRENTLY") { return true }
    return skeleton.hasPrefix("ALTER TABLE") && skeleton.contains(" DETACH PARTITION") && skeleton.hasSuffix(" CONCURRENTLY")
}

/// The version in a file name: digits, at least 1, at most `Int64.max` (the tracking table's
/// `BIGINT`). Leading zeros are ignored.
func parseVersion(_ digits: Substring, file: String) -> Result<Int64, MigrationSourceError> {
    guard !digits.isEmpty, digits.allSatisfy({ $0.isASCII && $0.isNumber }) else {
        return .failure(MigrationSourceError(file: file, message: "the name starts with no version number"))
    }
    guard let version = Int64(digits) else {
        return .failure(
            MigrationSourceError(
                file: file,
                message: "version \(digits) is beyond 2^63-1 (9223372036854775807), the largest the tracking table's BIGINT holds"))
    }
    guard version > 0 else {
        return .failure(MigrationSourceError(file: file, message: "version \(digits) is 0; versions start at 1"))
    }
    return .success(version)
}

/// `V1__name.sql` (versioned), `U1__name.sql` (undo) or `R__name.sql` (repeatable).
struct FlywayName {
    let prefix: Character
    let version: Substring
    let description: Substring

    init?(_ fileName: String) {
        guard fileName.hasSuffix(".sql"), let prefix = fileName.first, "VUR".contains(prefix),
            let separator = fileName.range(of: "__")
        else { return nil }
        let version = fileName[fileName.index(after: fileName.startIndex)..<separator.lowerBound]
        guard prefix == "R" || version.first?.isNumber == true else { return nil }
        self.prefix = prefix
        self.version = version
        self.description = fileName[separator.upperBound...].dropLast(".sql".count)
    }
}
