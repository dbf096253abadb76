import PostgresNIO
import SQLStoreMigrations

extension OrderStore {
    /// Whether the database has every migration this build expects, applied cleanly (none
    /// pending, failed or edited since it ran); and if not, why. Read through the pool with the
    /// migrations library's own state query (``MigrationStatus/read(for:configuration:on:logger:)``),
    /// so it looks where `tracking` says the runner keeps its records and compares checksums.
    /// For readiness checks, which must answer within `timeout` even while PostgreSQL is
    /// unreachable.
    public func schemaStatus(
        expected migrations: [Migration], tracking: MigrationRunner.Configuration = .init(),
        timeout: Duration = .seconds(2)
    ) async -> (current: Bool, reason: String) {
        var probe = self
        probe.retry.deadline = min(retry.deadline, timeout)
        do {
            let status = try await probe.retrying { [probe] in
                try await probe.withConnection { connection in
                    try await MigrationStatus.read(
                        for: migrations, configuration: tracking, on: connection, logger: probe.logger)
                }
            }
            if status.isUpToDate { return (true, "schema current") }
            let behind = status.entries.filter { $0.state != .applied && $0.state != .missingFile }
                .map { $0.state == .pending ? $0.id : "\($0.id) (\($0.state.rawValue))" }
            return (false, "schema is behind: \(behind.joined(separator: ", "))")
        } catch StoreError.unavailable(let reason) {
            return (false, "database unavailable: \(reason)")
        } catch {
            return (false, "cannot read the schema's migrations (run `sqlstore migrate up`)")
        }
    }
}
