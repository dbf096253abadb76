public import Logging
public import PostgresNIO

extension MigrationStatus {
    /// Reads the state of `migrations` from the tracking table that `configuration` names, on a
    /// connection the caller holds, as GRDB's `DatabaseMigrator.hasCompletedMigrations(_:)`
    /// does: an application checks its schema without opening a connection of its own and
    /// without knowing where the runner keeps its records.
    ///
    /// Guarantees: read-only, and it leaves the session as it found it (no settings, no lock,
    /// no transaction), so a pooled connection can go straight back to its pool. It sends at
    /// most three queries (where the tracking table is, whether it is SQLStore's, its rows). A
    /// database without the tracking table has every migration pending. An applied migration
    /// whose file has changed since is ``MigrationStatus/State/checksumMismatch``, and one that
    /// failed midway is ``MigrationStatus/State/failed`` or ``MigrationStatus/State/running``:
    /// neither counts as up to date.
    ///
    /// - Throws: ``MigrationAdoptError`` (``MigrationAdoptError/Code/trackingInUse``) when a table
    ///   of that name belongs to another tool; PostgresNIO's `PSQLError` when a query fails (the
    ///   connection is closed, or the role may not read the table).
    public static func read(
        for migrations: [Migration], configuration: MigrationRunner.Configuration = .init(),
        on connection: PostgresConnection, logger: Logger
    ) async throws -> MigrationStatus {
        let tracking = try await TrackingTable(
            schema: configuration.trackingSchema ?? configuration.schema, table: configuration.trackingTable
        ).resolved(on: connection, logger: logger)
        return MigrationStatus(
            migrations: migrations.sorted { $0.version < $1.version },
            applied: try await tracking.applied(on: connection, logger: logger))
    }
}

extension MigrationRunner {
    /// The state of every migration, read on `connection`, a connection the caller holds
    /// (``status()`` opens one of its own). See
    /// ``MigrationStatus/read(for:configuration:on:logger:)`` for what it guarantees.
    ///
    /// - Throws: ``MigrationAdoptError`` when the tracking table is another tool's; `PSQLError`
    ///   when a query fails.
    public func status(on connection: PostgresConnection) async throws -> MigrationStatus {
        try await MigrationStatus.read(for: migrations, configuration: configuration, on: connection, logger: logger)
    }

    /// ``status(on:)`` on a connection leased from `client`, which must be running. The lease
    /// lasts for the three queries only.
    ///
    /// - Throws: as ``status(on:)``, and whatever the pool throws when no connection can be had.
    public func status(on client: PostgresClient) async throws -> MigrationStatus {
        try await client.withConnection { try await status(on: $0) }
    }

    /// True when every migration of this runner is applied, unedited, and none has failed: the
    /// schema is the one this code expects. Read on a connection the caller holds; see
    /// ``MigrationStatus/read(for:configuration:on:logger:)``.
    ///
    /// - Throws: as ``status(on:)``.
    public func isUpToDate(on connection: PostgresConnection) async throws -> Bool {
        try await status(on: connection).isUpToDate
    }

    /// ``isUpToDate(on:)`` on a connection leased from `client`, which must be running.
    ///
    /// - Throws: as ``status(on:)``, and whatever the pool throws when no connection can be had.
    public func isUpToDate(on client: PostgresClient) async throws -> Bool {
        try await status(on: client).isUpToDate
    }
}
