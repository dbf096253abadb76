/// A row of the tracking table: a migration the database has recorded.
public struct AppliedMigration: Sendable, Hashable, Codable {
    public enum State: String, Sendable, Codable {
        /// Completed; its effects are in the schema.
        case applied
        /// A non-transactional step started and never finished: its runner died.
        case running
        /// A non-transactional step failed part-way; some statements may have run.
        case failed
    }

    public let version: Int64
    public let name: String
    public let checksum: String
    public let state: State
    /// `up` or `down`: what was being done when the row was last written.
    public let operation: String
    public let transactional: Bool
    public let appliedAt: String
    public let durationMilliseconds: Double?
    public let appliedBy: String
    public let statementsDone: Int
    public let error: String?

    public var id: String { "\(Migration.format(version))_\(name)" }
}
