import Crypto
import Foundation

/// One versioned schema change: an up script and, ideally, the down script that reverses it.
///
/// Migrations are ordered by `version`. The up script's SHA-256 checksum is recorded when it is
/// applied, so a file edited afterwards is detected instead of silently diverging.
public struct Migration: Sendable, Hashable {
    public let version: Int64
    public let name: String
    public let up: MigrationScript
    public let down: MigrationScript?
    /// `NNN_name.verify.sql`: checks that run after `up` and in `verify` (see ``MigrationScript``).
    /// It fails the migration when a statement raises or returns a row with a `false` column.
    public let verify: MigrationScript?

    public init(
        version: Int64, name: String, up: MigrationScript, down: MigrationScript?, verify: MigrationScript? = nil
    ) {
        self.version = version
        self.name = name
        self.up = up
        self.down = down
        self.verify = verify
    }

    /// `008_add_active_org_tracking`: the file stem both scripts share.
    public var id: String { "\(Migration.format(version))_\(name)" }

    static func format(_ version: Int64) -> String {
        version < 1000 ? String(format: "%03lld", version) : String(version)
    }
}

/// The text of one migration file, split into statements, with its directives and checksum.
public struct MigrationScript: Sendable, Hashable {
    /// The file name, used in every message about the script (`003_create_orders.up.sql`).
    public let fileName: String
    public let sql: String
    /// Lower-case hex SHA-256 of the file's bytes (of its section, for goose and dbmate files).
    public let checksum: String
    /// The checksum that earlier versions of SQLStore recorded for a goose or dbmate section,
    /// whose text then kept an empty line for each line of the rest of the file (so that a longer
    /// Down section changed the Up section's checksum). Still accepted as the recorded checksum,
    /// so that an upgrade is not drift; `repair V --applied` records the current one.
    public let earlierChecksum: String?
    public let directives: MigrationDirectives
    /// Every statement of the file, a ``TransactionWrapper``'s included.
    public let statements: [SQLStatement]
    /// The file's own `BEGIN; … COMMIT;`, which the runner's transaction replaces.
    public let wrapper: TransactionWrapper?

    /// The statements the runner executes: ``statements`` without the wrapper.
    public var body: ArraySlice<SQLStatement> {
        wrapper == nil ? statements[...] : statements.dropFirst().dropLast()
    }

    /// Top-level transaction control that the runner cannot honour: anything but a wrapper,
    /// and a wrapper in a `-- sqlstore:no-transaction` file. Empty for a runnable script.
    public var transactionControlOffences: [SQLStatement] {
        if let wrapper, !directives.transactional { return [wrapper.begin, wrapper.commit] }
        return body.filter(\.isTransactionControl)
    }

    /// Parses directives and splits statements.
    ///
    /// - Throws: ``MigrationSourceError`` naming the file and line of anything it cannot accept:
    ///   an unknown or malformed directive, a script the splitter cannot split, psql-only syntax.
    public init(fileName: String, sql: String) throws {
        try self.init(fileName: fileName, sql: sql, noTransaction: false, isVerify: false)
    }

    /// `noTransaction`: another tool's no-transaction marker was found. `isVerify`: a verify
    /// script, whose wrapper may end in `ROLLBACK` (as sqitch's do).
    init(fileName: String, sql: String, noTransaction: Bool, isVerify: Bool, earlierSQL: String? = nil) throws {
        self.fileName = fileName
        self.sql = sql
        self.checksum = Self.checksum(sql)
        self.earlierChecksum = earlierSQL.map(Self.checksum)
        var directives = try MigrationDirectives(parsing: sql, fileName: fileName)
        if noTransaction { directives.transactional = false }
        self.directives = directives
        self.statements = try Self.split(sql, fileName: fileName)
        self.wrapper = TransactionWrapper(statements, closingWithRollback: isVerify)
    }

    /// Whether `recorded`, a tracking row's checksum, is this script's: its ``checksum`` or its
    /// ``earlierChecksum``.
    public func matches(recorded: String) -> Bool {
        recorded == checksum || recorded == earlierChecksum
    }

    private static func checksum(_ sql: String) -> String {
        SHA256.hash(data: Data(sql.utf8)).map { String(format: "%02x", $0) }.joined()
    }
}

extension MigrationScript {
    private static func split(_ sql: String, fileName: String) throws -> [SQLStatement] {
        let result = Result { try SQLSplitter.split(sql) }
        switch result {
        case .success(let statements):
            return statements
        case .failure(let error):
            let syntax = error as? SQLSyntaxError
            throw MigrationSourceError(file: fileName, line: syntax?.line, message: syntax?.message ?? "\(error)")
        }
    }
}

/// Per-file settings, written as comments so that `psql -1 -f` can still run the file:
///
/// ```sql
/// -- sqlstore:no-transaction
/// -- sqlstore:lock-timeout=10s
/// -- sqlstore:statement-timeout=30m
/// -- sqlstore:lint-ignore=index-without-concurrently
/// ```
public struct MigrationDirectives: Sendable, Hashable {
    /// False for `-- sqlstore:no-transaction`: statements run one by one, outside a transaction,
    /// as `CREATE INDEX CONCURRENTLY` requires.
    public var transactional = true
    /// Overrides the runner's `lock_timeout` for this file.
    public var lockTimeout: Duration?
    /// Overrides the runner's `statement_timeout` for this file (`0` disables it).
    public var statementTimeout: Duration?
    /// Lint rules acknowledged for this file, by rule identifier.
    public var lintIgnores: Set<String> = []

    public init() {}

    init(parsing sql: String, fileName: String) throws {
        for (index, rawLine) in sql.sourceLines.enumerated() {
            let line = rawLine.trimmingCharacters(in: .whitespaces)
            guard line.hasPrefix("--") else { continue }
            let comment = line.dropFirst(2).trimmingCharacters(in: .whitespaces)
            guard comment.hasPrefix("sqlstore:") else { continue }
            let directive = comment.dropFirst("sqlstore:".count)
            let parts = directive.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
                .map { $0.trimmingCharacters(in: .whitespaces) }
            func fail(_ message: String) -> MigrationSourceError {
                MigrationSourceError(file: fileName, line: index + 1, message: message)
            }
            guard let key = parts.first, !key.isEmpty else {
                throw fail("directive 'sqlstore:' names nothing; write e.g. 'sqlstore:no-transaction' or 'sqlstore:lock-timeout=5s'")
            }
            let value = parts.count > 1 ? parts[1] : nil
            func duration() throws -> Duration {
                guard let value, let parsed = Duration(goStyle: value) else {
                    throw fail("directive 'sqlstore:\(key)' needs a duration such as 500ms, 5s or 5m")
                }
                return parsed
            }
            switch key {
            case "no-transaction":
                guard value == nil else { throw fail("directive 'sqlstore:no-transaction' takes no value") }
                transactional = false
            case "lock-timeout":
                lockTimeout = try duration()
            case "statement-timeout":
                statementTimeout = try duration()
            case "lint-ignore":
                guard let value, !value.isEmpty else { throw fail("directive 'sqlstore:lint-ignore' needs rule names") }
                lintIgnores.formUnion(value.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) })
            default:
                throw fail(
                    "unknown directive 'sqlstore:\(key)' (known: no-transaction, lock-timeout, statement-timeout, lint-ignore)"
                )
            }
        }
    }
}

/// A migration file that cannot be used as written.
public struct MigrationSourceError: Error, CustomStringConvertible, Sendable {
    public let file: String
    public let line: Int?
    public let message: String

    public init(file: String, line: Int? = nil, message: String) {
        self.file = file
        self.line = line
        self.message = message
    }

    public var description: String {
        if let line { return "\(file):\(line): \(message)" }
        return "\(file): \(message)"
    }
}
