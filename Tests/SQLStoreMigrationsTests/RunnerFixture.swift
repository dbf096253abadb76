import SQLStoreMigrations
import TestSupport

/// A runner over `folder`'s migrations on `database`, configured by `configure`: what every
/// runner test starts from.
func runner(
    _ folder: MigrationFolder, _ database: TestDatabase, configure: (inout MigrationRunner.Configuration) -> Void = { _ in }
) throws -> MigrationRunner {
    var configuration = MigrationRunner.Configuration()
    configure(&configuration)
    return MigrationRunner(
        migrations: try folder.migrations(), connection: try database.connectionConfiguration,
        configuration: configuration, logger: TestDatabase.logger)
}
