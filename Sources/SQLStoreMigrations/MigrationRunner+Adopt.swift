import Logging
import PostgresNIO

extension MigrationRunner {
    /// Takes over another tool's history: reads what `tool` recorded as applied and records the
    /// same migrations as applied in SQLStore's tracking table (operation `baseline`, with the
    /// checksums of the files as they are now), without running them.
    ///
    /// Refuses, changing nothing, when SQLStore's tracking table already records migrations or
    /// is the other tool's table (golang-migrate and dbmate also use `schema_migrations`: give
    /// SQLStore's tables a schema of their own with ``Configuration/trackingSchema``), when the
    /// other tool's table is missing or not of its shape, when its history says a migration is
    /// dirty (golang-migrate) or failed (Flyway), and when it names a migration no file has.
    ///
    /// - Returns: the migrations recorded (or, with `dryRun`, that would be), oldest first.
    /// - Throws: ``MigrationAdoptError``; ``MigrationError`` with ``MigrationError/Code/duplicateVersion``
    ///   for a list with two migrations of one version (before connecting); or the server's error.
    @discardableResult
    public func adopt(
        from tool: ForeignTool, dryRun: Bool = false, progress: @Sendable (MigrationProgress) -> Void = { _ in }
    ) async throws -> [Migration] {
        try checkVersionsAreUnique()
        if dryRun {
            return try await withConnection { connection, tracking in
                try await adoptable(from: tool, tracking: tracking, on: connection)
            }
        }
        return try await withLockedSession(progress: progress) { session in
            let adopted = try await adoptable(from: tool, tracking: session.tracking, on: session.connection)
            try await session.recordWithoutRunning(adopted, operation: "adopt \(tool)")
            return adopted
        }
    }

    private func adoptable(
        from tool: ForeignTool, tracking: TrackingTable, on connection: PostgresConnection
    ) async throws -> [Migration] {
        let applied = try await tracking.applied(on: connection, logger: logger)
        guard applied.isEmpty else {
            throw MigrationAdoptError(
                code: .trackingInUse,
                message: "\(tracking.qualified) already records \(applied.count) migration(s); adopt takes over another "
                    + "tool's history only into an empty one")
        }
        let history = try await tool.readHistory(on: connection, logger: logger)
        if !history.unfinished.isEmpty {
            throw MigrationAdoptError(
                code: .unfinished,
                message: "\(tool)'s history has an unfinished migration; resolve it with \(tool) first:\n  "
                    + history.unfinished.joined(separator: "\n  "))
        }
        var problems = history.problems
        let byVersion = Dictionary(uniqueKeysWithValues: migrations.map { ($0.version, $0) })
        var adopted: Set<Int64> = []
        switch tool {
        case .golangMigrate:
            // golang-migrate keeps only its current version: everything up to it is applied.
            if let current = history.versions.max() {
                if byVersion[current] == nil { problems.append("its current version \(current) has no migration file here") }
                adopted = Set(migrations.map(\.version).filter { $0 <= current })
            }
        case .sqitch:
            let byName = Dictionary(migrations.map { ($0.name, $0.version) }, uniquingKeysWith: { first, _ in first })
            for change in history.names.sorted() {
                guard let version = byName[change] else {
                    problems.append("change '\(change)' is deployed, and sqitch.plan here has no such change")
                    continue
                }
                adopted.insert(version)
            }
        default:
            for version in history.versions.sorted() {
                guard byVersion[version] != nil else {
                    problems.append("version \(version) is applied, and no migration file here has it")
                    continue
                }
                adopted.insert(version)
            }
            for baseline in history.names where baseline.hasPrefix("baseline:") {
                if let version = Int64(baseline.dropFirst("baseline:".count)) {
                    adopted.formUnion(migrations.map(\.version).filter { $0 <= version })
                }
            }
        }
        guard problems.isEmpty else {
            throw MigrationAdoptError(
                code: .disagrees,
                message: "\(tool)'s history and the migration files disagree; nothing was recorded:\n  "
                    + problems.joined(separator: "\n  "))
        }
        return migrations.filter { adopted.contains($0.version) }
    }
}
