import Logging
import NIOCore
import PostgresNIO
import SQLStore
import SQLStoreHTTP
import SQLStoreMigrations
import SQLStoreSupport
import Testing

@Suite("configuration: read once, from the environment")
struct ConfigurationTests {
    @Test("with an empty environment every setting has the reference service's default")
    func defaults() throws {
        let configuration = try Configuration(environment: EnvironmentSettings([:]))
        #expect(configuration.database.url == nil)
        #expect(configuration.database.pooler == .none)
        #expect(configuration.database.maxOpenConnections == 25)
        #expect(configuration.database.maxIdleConnections == 5)
        #expect(configuration.database.maxOrderConnections == 16)
        #expect(configuration.database.connectionMaxLifetime == .seconds(300))
        #expect(configuration.database.spareIdleTimeout == .seconds(10))
        #expect(configuration.server.port == 8080)
        #expect(configuration.server.readTimeout == .seconds(10))
        #expect(configuration.server.writeTimeout == .seconds(10))
        #expect(configuration.cursorSecret == nil)
    }

    @Test("every environment variable reaches its setting")
    func environmentIsRead() throws {
        let configuration = try Configuration(
            environment: EnvironmentSettings([
                "DATABASE_URL": "postgres://app@db.internal:6432/shop", "DATABASE_POOLER": "pgbouncer",
                "DATABASE_MAX_OPEN_CONNS": "40", "DATABASE_MAX_IDLE_CONNS": "7", "DATABASE_CONN_MAX_LIFETIME": "90s",
                "DATABASE_MAX_ORDER_CONNS": "6", "DATABASE_CONN_MAX_IDLE_TIME": "2500ms",
                "SERVER_HOST": "0.0.0.0", "SERVER_PORT": "9090", "SERVER_READ_TIMEOUT": "3s", "SERVER_WRITE_TIMEOUT": "4s",
                "SQLSTORE_CURSOR_SECRET": String(repeating: "k", count: 32), "LOG_LEVEL": "debug",
            ]))
        #expect(configuration.database.url?.host == "db.internal")
        #expect(configuration.database.url?.port == 6432)
        #expect(configuration.database.pooler == .pgbouncer)
        #expect(configuration.database.maxOpenConnections == 40)
        #expect(configuration.database.maxIdleConnections == 7)
        #expect(configuration.database.maxOrderConnections == 6)
        #expect(configuration.database.connectionMaxLifetime == .seconds(90))
        #expect(configuration.database.spareIdleTimeout == .milliseconds(2500))
        #expect(configuration.server.host == "0.0.0.0")
        #expect(configuration.server.port == 9090)
        #expect(configuration.server.readTimeout == .seconds(3))
        #expect(configuration.server.writeTimeout == .seconds(4))
        #expect(configuration.cursorSecret?.text == String(repeating: "k", count: 32))
        #expect(configuration.logLevel == .debug)
    }

    @Test("a read timeout under a second keeps its milliseconds all the way to the server's idle timer")
    func subsecondReadTimeout() throws {
        let configuration = try Configuration(environment: EnvironmentSettings(["SERVER_READ_TIMEOUT": "500ms"]))
        #expect(configuration.server.readTimeout == .milliseconds(500))
        #expect(TimeAmount(configuration.server.readTimeout) == .milliseconds(500))
    }

    @Test(
        "a value that cannot be used is refused with an error naming its variable",
        arguments: [
            ("DATABASE_URL", "mysql://x@y/z"), ("DATABASE_POOLER", "pgpool"), ("DATABASE_MAX_OPEN_CONNS", "0"),
            ("DATABASE_MAX_IDLE_CONNS", "many"), ("DATABASE_MAX_ORDER_CONNS", "0"), ("DATABASE_CONN_MAX_LIFETIME", "5 minutes"),
            ("DATABASE_CONN_MAX_IDLE_TIME", "0"), ("SERVER_PORT", "70000"),
            ("SERVER_READ_TIMEOUT", "0"), ("SERVER_WRITE_TIMEOUT", "-1s"), ("SQLSTORE_CURSOR_SECRET", "short"),
            // Beyond Int64 nanoseconds (about 292 years).
            ("SERVER_READ_TIMEOUT", "3000000h"), ("SQLSTORE_TOKEN_CACHE_TTL", "9999999999s"),
            ("LOG_LEVEL", "loud"),
        ])
    func refusesUnusableValues(name: String, value: String) {
        #expect(throws: ConfigurationError.self) {
            try Configuration(environment: EnvironmentSettings([name: value]))
        }
        do {
            _ = try Configuration(environment: EnvironmentSettings([name: value]))
        } catch {
            #expect(error.setting == name)
        }
    }

    @Test("a cursor secret never shows itself in a description")
    func secretIsNotPrinted() throws {
        let secret = try CursorSecret(String(repeating: "s3cr3t", count: 6))
        #expect(!"\(secret)".contains("s3cr3t"))
        #expect(!String(reflecting: secret).contains("s3cr3t"))
    }

    @Test("a database URL's user, password and database are percent-decoded once, and urlString spells them back")
    func databaseURLDecodesOnce() throws {
        let url = try DatabaseURL("postgres://shop%40eu:ab%2541%3A%2F@db.internal:6432/orders%2541?sslmode=disable")
        #expect(url.username == "shop@eu")
        #expect(url.password == "ab%41:/")
        #expect(url.database == "orders%41")
        #expect(url.host == "db.internal" && url.port == 6432)
        #expect(try DatabaseURL(url.urlString) == url)
        #expect(!url.description.contains("ab%"), "the password stays masked")
    }

    @Test("behind PgBouncer the startup packet carries only application_name, which PgBouncer tracks")
    func poolerStartupParameters() throws {
        var settings = DatabaseSettings(url: try DatabaseURL("postgres://app@127.0.0.1:6432/shop"))
        let direct = try settings.clientConfiguration().options.additionalStartupParameters.map(\.0)
        #expect(direct.contains("statement_timeout"))
        settings.pooler = .pgbouncer
        let pooled = try settings.clientConfiguration().options.additionalStartupParameters.map(\.0)
        #expect(pooled == ["application_name"])
    }
}
