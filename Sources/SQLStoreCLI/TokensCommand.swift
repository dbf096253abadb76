import ArgumentParser
import Foundation
import Logging
import PostgresNIO
import SQLStore
import SQLStoreHTTP
import SQLStoreMigrations
import SQLStoreSupport

struct TokensCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tokens",
        abstract: "Create, list and revoke the API's bearer tokens (on the configured database).",
        discussion: """
            A token is shown once, when it is created; the database keeps only its SHA-256. A revoked \
            token stops working on every server within SQLSTORE_TOKEN_CACHE_TTL (10s). See docs/security.md.
            """,
        subcommands: [Create.self, List.self, Revoke.self, Check.self])

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create a token and print it (only it) on standard output.")

        @OptionGroup var database: DatabaseOptions
        @Option(help: "admin (everything) or customer (one user's; needs --user).") var role: TokenRole?
        @Option(help: "The user a customer token is bound to (implies --role customer).") var user: Int64?
        @Option(help: "A name to recognise the token by in `tokens list`.") var name: String?
        @Option(help: "Expire after this long, at most 10 years: 90d, 12h, 30m (default: never).")
        var expires: TokenLifetime?

        func run() async throws {
            try await reportingFailures {
                let role = role ?? (user == nil ? nil : .customer)
                guard let role else { throw ValidationError("give --role admin, or --user ID for a customer token") }
                let issued = try await withTokenStore(database) { store in
                    try await store.createToken(
                        role: role, userId: user, name: name ?? (role == .admin ? "admin" : "customer \(user ?? 0)"),
                        expiresIn: expires?.value)
                }
                printError("created token \(issued.token.id) (\(issued.token.role.rawValue)); it is shown only now")
                print(issued.secret)
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the tokens (never their secrets).")

        @OptionGroup var database: DatabaseOptions
        @Flag(help: "One JSON array instead of a table.") var json = false

        func run() async throws {
            try await reportingFailures {
                let tokens = try await withTokenStore(database) { try await $0.tokens() }
                if json {
                    let objects: [[String: Any]] = tokens.map { token in
                        [
                            "id": token.id, "name": token.name, "role": token.role.rawValue,
                            "user_id": token.userId.map { $0 as Any } ?? NSNull(),
                            "created_at": Self.text(token.createdAt), "expires_at": Self.text(token.expiresAt),
                            "last_used_at": Self.text(token.lastUsedAt), "revoked_at": Self.text(token.revokedAt),
                        ]
                    }
                    let data = try JSONSerialization.data(withJSONObject: objects, options: [.sortedKeys, .prettyPrinted])
                    print(String(decoding: data, as: UTF8.self))
                    return
                }
                print("ID\tROLE\tUSER\tNAME\tCREATED\tEXPIRES\tLAST USED\tREVOKED")
                for token in tokens {
                    let user = token.userId.map(String.init) ?? "-"
                    print(
                        "\(token.id)\t\(token.role.rawValue)\t\(user)\t\(token.name)\t\(Self.text(token.createdAt))\t"
                            + "\(Self.text(token.expiresAt, or: "-"))\t\(Self.text(token.lastUsedAt, or: "-"))\t"
                            + "\(Self.text(token.revokedAt, or: "-"))")
                }
            }
        }

        static func text(_ date: Date) -> String {
            date.formatted(.iso8601)
        }

        static func text(_ date: Date?) -> Any {
            date.map { $0.formatted(.iso8601) as Any } ?? NSNull()
        }

        static func text(_ date: Date?, or none: String) -> String {
            date.map { $0.formatted(.iso8601) } ?? none
        }
    }

    struct Revoke: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Revoke a token: every server refuses it within SQLSTORE_TOKEN_CACHE_TTL.")

        @OptionGroup var database: DatabaseOptions
        @Argument(help: "The token's id (from `tokens list`).") var id: Int64

        func run() async throws {
            try await reportingFailures {
                try await withTokenStore(database) { try await $0.revokeToken(id: id) }
                printError("revoked token \(id)")
            }
        }
    }

    struct Check: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Read a token on standard input; exit 0 if it is live on the configured database, else 1.",
            discussion: """
                For scripts that keep a token, e.g. `sqlstore tokens check --role admin < .sqlstore/admin-token`: \
                a token that is unknown there (the database was reset, or it belongs to another one), expired \
                or revoked exits 1. The token is read from standard input, never from an argument, so that it \
                does not show in the process list. A live token's last-used time is updated, as by a request.
                """)

        @OptionGroup var database: DatabaseOptions
        @Option(help: "Require this role too (admin or customer).") var role: TokenRole?

        func run() async throws {
            try await reportingFailures {
                let secret = (readLine(strippingNewline: true) ?? "").trimmingCharacters(in: .whitespaces)
                var token: APIToken?
                if TokenSecret.isWellFormed(Substring(secret)) {
                    token = try await withTokenStore(database) { try await $0.verifyToken(hash: TokenSecret.hash(secret)) }
                }
                guard let token, role == nil || token.role == role else {
                    printError("not a live \(role.map { "\($0.rawValue) " } ?? "")token on this database")
                    throw ExitCode.failure
                }
                printError("token \(token.id) (\(token.role.rawValue), \(token.name)) is live")
            }
        }
    }
}

/// `90d`, `12h`, `30m`, `45s`, or any Go-style duration, up to ``OrderStore/maximumTokenLifetime``.
struct TokenLifetime: ExpressibleByArgument, Sendable {
    let value: Duration

    init?(argument: String) {
        let parsed: Duration?
        if argument.hasSuffix("d"), let days = Int64(argument.dropLast()) {
            let (seconds, overflow) = days.multipliedReportingOverflow(by: 86_400)
            parsed = overflow ? nil : .seconds(seconds)
        } else {
            parsed = Duration(goStyle: argument)
        }
        guard let parsed, parsed > .zero, parsed <= OrderStore.maximumTokenLifetime else { return nil }
        value = parsed
    }
}

extension TokenRole: ExpressibleByArgument {}

/// Runs `body` with a store on the configured database, with a pool of one connection. The
/// embedded database is migrated first, as `serve` would, so that a token can be made before the
/// first start.
func withTokenStore<Result: Sendable>(
    _ database: DatabaseOptions, _ body: @escaping @Sendable (OrderStore) async throws -> Result
) async throws -> Result {
    var logger = Logger(label: "sqlstore.tokens")
    logger.logLevel = .warning
    return try await withDatabase(try database.url(environment: .process), logger: logger) { url, embedded in
        if embedded != nil {
            let runner = MigrationRunner(
                migrations: try SchemaMigrations.load(),
                connection: try url.connectionConfiguration(applicationName: "sqlstore migrate"), logger: logger)
            _ = try await runner.up()
        }
        var settings = try Configuration(environment: .process).database
        settings.url = url
        settings.maxOpenConnections = 1
        settings.maxIdleConnections = 1
        let client = PostgresClient(configuration: try settings.clientConfiguration(), backgroundLogger: logger)
        let store = OrderStore(
            client: client, cursorSecret: CursorSecret.random().text, connectionMaxLifetime: settings.connectionMaxLifetime,
            pooler: settings.pooler, logger: logger)
        return try await withThrowingTaskGroup(of: Result?.self) { group in
            group.addTask {
                await client.run()
                return nil
            }
            group.addTask { try await body(store) }
            defer { group.cancelAll() }
            while let result = try await group.next() {
                if let result { return result }
            }
            throw CancellationError()
        }
    }
}
