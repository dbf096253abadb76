import ArgumentParser

@main
struct SQLStoreCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sqlstore",
        abstract: "An order store for online shops on PostgreSQL, and its schema migration runner.",
        discussion: """
            With no DATABASE_URL, commands use an embedded PostgreSQL cluster kept in .sqlstore/ \
            (or $SQLSTORE_HOME), created on first use and started and stopped as needed.
            """,
        subcommands: [ServeCommand.self, WorkerCommand.self, MigrateCommand.self, RolesCommand.self, TokensCommand.self]
    )
}
