/// The state of every migration: known files joined with the tracking table.
public struct MigrationStatus: Sendable, Codable {
    public enum State: String, Sendable, Codable {
        case applied, pending, failed, running
        case checksumMismatch = "checksum-mismatch"
        case missingFile = "missing-file"
    }

    public struct Entry: Sendable, Codable {
        public let version: Int64
        public let name: String
        public let state: State
        public let appliedAt: String?
        public let durationMilliseconds: Double?
        public let appliedBy: String?
        public let transactional: Bool?
        /// Whether the up script has its own `BEGIN; … COMMIT;` wrapper, which the runner's
        /// transaction replaces (nil when its file is missing).
        public let ownTransactionWrapper: Bool?

        public var id: String { "\(Migration.format(version))_\(name)" }

        enum CodingKeys: String, CodingKey {
            case version, name, state, transactional
            case appliedAt = "applied_at"
            case durationMilliseconds = "duration_ms"
            case appliedBy = "applied_by"
            case ownTransactionWrapper = "own_begin_commit"
        }
    }

    public let entries: [Entry]

    /// The newest applied version, or nil when nothing is applied.
    public var currentVersion: Int64? { entries.filter { $0.state == .applied }.map(\.version).max() }
    public var pending: [Entry] { entries.filter { $0.state == .pending } }
    /// True when every known migration is applied cleanly: the schema is what this code expects.
    public var isUpToDate: Bool { entries.allSatisfy { $0.state == .applied || $0.state == .missingFile } }

    public init(migrations: [Migration], applied: [AppliedMigration]) {
        let rows = Dictionary(uniqueKeysWithValues: applied.map { ($0.version, $0) })
        var entries = migrations.map { migration -> Entry in
            guard let row = rows[migration.version] else {
                return Entry(
                    version: migration.version, name: migration.name, state: .pending, appliedAt: nil,
                    durationMilliseconds: nil, appliedBy: nil, transactional: migration.up.directives.transactional,
                    ownTransactionWrapper: migration.up.wrapper != nil)
            }
            let state: State
            switch row.state {
            case .applied: state = migration.up.matches(recorded: row.checksum) ? .applied : .checksumMismatch
            case .failed: state = .failed
            case .running: state = .running
            }
            return Entry(
                version: row.version, name: migration.name, state: state, appliedAt: row.appliedAt,
                durationMilliseconds: row.durationMilliseconds, appliedBy: row.appliedBy,
                transactional: row.transactional, ownTransactionWrapper: migration.up.wrapper != nil)
        }
        let known = Set(migrations.map(\.version))
        for row in applied where !known.contains(row.version) {
            entries.append(
                Entry(
                    version: row.version, name: row.name, state: .missingFile, appliedAt: row.appliedAt,
                    durationMilliseconds: row.durationMilliseconds, appliedBy: row.appliedBy,
                    transactional: row.transactional, ownTransactionWrapper: nil))
        }
        self.entries = entries.sorted { $0.version < $1.version }
    }
}
