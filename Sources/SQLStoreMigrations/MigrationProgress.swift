/// What the runner reports while it works, so a command line can print a line per step.
public enum MigrationProgress: Sendable {
    case waitingForLock(holders: [LockHolder])
    case lockAcquired(waited: Duration)
    case started(Migration, MigrationDirection)
    case retrying(Migration, attempt: Int, after: Duration, reason: String)
    case finished(Migration, MigrationDirection, duration: Duration)
}

public enum MigrationDirection: String, Sendable, Codable {
    case up, down
}

/// One step of a plan: which script runs, in which direction.
public struct MigrationStep: Sendable {
    public let migration: Migration
    public let direction: MigrationDirection

    /// The script this step executes.
    public var script: MigrationScript? { direction == .up ? migration.up : migration.down }
}
