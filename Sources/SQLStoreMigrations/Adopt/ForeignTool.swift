import Logging
import PostgresNIO

/// Another migration tool whose history ``MigrationRunner/adopt(from:dryRun:progress:)`` takes over.
public struct ForeignTool: Sendable, Hashable, CustomStringConvertible, CaseIterable {
    /// The name `adopt --from` takes.
    public let name: String
    /// Where the tool keeps its history, as found through the connection's `search_path`.
    public let table: String
    private init(_ name: String, table: String) {
        self.name = name
        self.table = table
    }

    /// `schema_migrations(version bigint, dirty boolean)`: one row, the current version.
    public static let golangMigrate = ForeignTool("golang-migrate", table: "schema_migrations")
    /// `goose_db_version(id, version_id, is_applied, tstamp)`: the newest row of a version decides.
    public static let goose = ForeignTool("goose", table: "goose_db_version")
    /// `flyway_schema_history`: versioned, baseline and undo rows, with `success`.
    public static let flyway = ForeignTool("flyway", table: "flyway_schema_history")
    /// `schema_migrations(version varchar)`: one row per applied migration.
    public static let dbmate = ForeignTool("dbmate", table: "schema_migrations")
    /// `sqitch.changes`: one row per deployed change, by name.
    public static let sqitch = ForeignTool("sqitch", table: "sqitch.changes")
    /// `__diesel_schema_migrations(version, run_on)`: one row per applied migration folder.
    public static let diesel = ForeignTool("diesel", table: "__diesel_schema_migrations")

    public static let allCases: [ForeignTool] = [.golangMigrate, .goose, .flyway, .dbmate, .sqitch, .diesel]

    public init?(name: String) {
        guard let tool = Self.allCases.first(where: { $0.name == name.lowercased() }) else { return nil }
        self = tool
    }

    public var description: String { name }
}

/// Why `adopt` refused, identified by ``code`` (compare with the static members of ``Code``).
public struct MigrationAdoptError: Error, CustomStringConvertible, Sendable {
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        private let name: String
        private init(_ name: String) { self.name = name }

        /// The other tool's table is missing, or does not have that tool's shape.
        public static let noHistory = Code("no history")
        /// Its history says a migration is dirty (golang-migrate) or failed (Flyway).
        public static let unfinished = Code("unfinished migration")
        /// Its history names migrations that no file here has, or cannot be read as versions.
        public static let disagrees = Code("history and files disagree")
        /// SQLStore's tracking table already records migrations, or is the other tool's table.
        public static let trackingInUse = Code("tracking table in use")

        public var description: String { name }
    }

    public let code: Code
    public let message: String
    public var description: String { message }
}

/// What the other tool's history says is applied.
struct ForeignHistory {
    var versions: Set<Int64> = []
    var names: Set<String> = []
    var problems: [String] = []
    var unfinished: [String] = []
}

extension ForeignTool {
    /// Reads the tool's history on `connection`, checking that its table has the tool's shape.
    func readHistory(on connection: PostgresConnection, logger: Logger) async throws -> ForeignHistory {
        let columns = try await self.columns(on: connection, logger: logger)
        func require(_ needed: [String]) throws {
            guard !columns.isEmpty else {
                throw MigrationAdoptError(
                    code: .noHistory, message: "\(name)'s history table \(table) is not in this database (searched the search_path)")
            }
            let missing = needed.filter { !columns.contains($0) }
            guard missing.isEmpty else {
                throw MigrationAdoptError(
                    code: .noHistory,
                    message: "\(table) is not \(name)'s history: it lacks \(missing.joined(separator: ", ")) "
                        + "(its columns: \(columns.sorted().joined(separator: ", ")))")
            }
        }
        var history = ForeignHistory()
        switch self {
        case .golangMigrate:
            try require(["version", "dirty"])
            for try await (version, dirty) in try await connection.query(
                "SELECT version::bigint, dirty FROM \(unescaped: table)", logger: logger
            ).decode((Int64, Bool).self) {
                if dirty { history.unfinished.append("version \(version) is dirty: it failed part-way; fix it and `migrate force` it first") }
                history.versions.insert(version)
            }
            if history.versions.count > 1 { history.problems.append("\(table) has \(history.versions.count) rows; golang-migrate keeps one") }
        case .goose:
            try require(["version_id", "is_applied"])
            var state: [Int64: Bool] = [:]
            for try await (version, applied) in try await connection.query(
                "SELECT version_id, is_applied FROM \(unescaped: table) ORDER BY id", logger: logger
            ).decode((Int64, Bool).self) where version != 0 {
                state[version] = applied
            }
            history.versions = Set(state.filter(\.value).keys)
        case .flyway:
            try require(["version", "type", "success", "installed_rank"])
            for try await (version, type, success) in try await connection.query(
                "SELECT version, type, success FROM \(unescaped: table) ORDER BY installed_rank", logger: logger
            ).decode((String?, String, Bool).self) {
                guard let version, type != "SCHEMA" else { continue }
                guard let number = Int64(version) else {
                    history.problems.append("Flyway version \(version) is not a whole number")
                    continue
                }
                if !success { history.unfinished.append("version \(version) failed (success = false); run flyway repair first") }
                switch type {
                case "UNDO_SQL", "UNDO_JDBC": history.versions.remove(number)
                case "BASELINE": history.names.insert("baseline:\(number)")
                default: if success { history.versions.insert(number) }
                }
            }
        case .diesel:
            try require(["version", "run_on"])
            for try await version in try await connection.query(
                "SELECT version::text FROM \(unescaped: table)", logger: logger
            ).decode(String.self) {
                // diesel records the folder name's version part; its digits are the version here.
                guard let number = Int64(version.filter(\.isNumber)) else {
                    history.problems.append("diesel version \(version) is not a number")
                    continue
                }
                history.versions.insert(number)
            }
        case .dbmate:
            try require(["version"])
            if columns.contains("dirty") {
                throw MigrationAdoptError(code: .noHistory, message: "\(table) has golang-migrate's shape (version, dirty), not dbmate's")
            }
            for try await version in try await connection.query(
                "SELECT version::text FROM \(unescaped: table)", logger: logger
            ).decode(String.self) {
                guard let number = Int64(version) else {
                    history.problems.append("dbmate version \(version) is not a number")
                    continue
                }
                history.versions.insert(number)
            }
        default:
            try require(["change", "change_id"])
            for try await change in try await connection.query(
                "SELECT change FROM \(unescaped: table)", logger: logger
            ).decode(String.self) {
                history.names.insert(change)
            }
            // sqitch.events keeps every deploy and revert; a change whose last event is a failure
            // was left part-way (its script had no BEGIN/COMMIT of its own, or failed after it).
            let events = try await connection.query(
                "SELECT pg_catalog.to_regclass('sqitch.events') IS NOT NULL", logger: logger
            ).decode(Bool.self)
            var hasEvents = false
            for try await exists in events { hasEvents = exists }
            if hasEvents {
                for try await change in try await connection.query(
                    """
                    SELECT change FROM (
                        SELECT DISTINCT ON (change) change, event FROM sqitch.events ORDER BY change, committed_at DESC
                    ) last WHERE event IN ('deploy_fail', 'revert_fail')
                    """, logger: logger
                ).decode(String.self) {
                    history.unfinished.append("change '\(change)' failed in its last deploy or revert (sqitch.events)")
                }
            }
        }
        return history
    }

    private func columns(on connection: PostgresConnection, logger: Logger) async throws -> Set<String> {
        var columns: Set<String> = []
        for try await column in try await connection.query(
            """
            SELECT attname::text FROM pg_catalog.pg_attribute
            WHERE attrelid = pg_catalog.to_regclass(\(table)) AND attnum > 0 AND NOT attisdropped
            """, logger: logger
        ).decode(String.self) {
            columns.insert(column)
        }
        return columns
    }
}
