import Foundation
import NIOSSL
import PostgresNIO

/// A libpq-style connection URL: `postgres://user:password@host:5432/database?sslmode=require`.
///
/// Unix-domain sockets are written as libpq writes them, with the socket's directory in the
/// `host` query parameter: `postgres://user@/database?host=/var/run/postgresql`.
/// Supported parameters: `host`, `port`, `sslmode` (`disable`, `prefer`, `require`,
/// `verify-ca`, `verify-full`) and `application_name`.
public struct DatabaseURL: Sendable, Hashable, CustomStringConvertible {
    public enum SSLMode: String, Sendable, Hashable {
        case disable, allow, prefer, require, verifyCA = "verify-ca", verifyFull = "verify-full"
    }

    public var host: String
    public var port: Int
    /// The directory holding the server's socket, when connecting over a Unix-domain socket.
    public var socketDirectory: String?
    public var username: String
    public var password: String?
    public var database: String
    public var sslMode: SSLMode
    public var applicationName: String?

    public init(
        host: String = "localhost", port: Int = 5432, socketDirectory: String? = nil, username: String,
        password: String? = nil, database: String, sslMode: SSLMode = .prefer, applicationName: String? = nil
    ) {
        self.host = host
        self.port = port
        self.socketDirectory = socketDirectory
        self.username = username
        self.password = password
        self.database = database
        self.sslMode = sslMode
        self.applicationName = applicationName
    }

    /// Parses a URL; the error says which part is wrong, never echoing the password.
    public init(_ string: String) throws(DatabaseURLError) {
        guard let components = URLComponents(string: string),
            let scheme = components.scheme, ["postgres", "postgresql"].contains(scheme)
        else {
            throw DatabaseURLError("a database URL looks like postgres://user:password@host:5432/database")
        }
        var query: [String: String] = [:]
        for item in components.queryItems ?? [] { query[item.name] = item.value ?? "" }

        self.host = components.host.flatMap { $0.isEmpty ? nil : $0 } ?? "localhost"
        self.socketDirectory = nil
        if let hostParameter = query["host"], !hostParameter.isEmpty {
            if hostParameter.hasPrefix("/") { self.socketDirectory = hostParameter } else { self.host = hostParameter }
        }
        if let portParameter = query["port"] {
            guard let port = Int(portParameter), (1...65535).contains(port) else {
                throw DatabaseURLError("the port must be a number from 1 to 65535")
            }
            self.port = port
        } else {
            self.port = components.port ?? 5432
        }
        // Decoded exactly once, from the encoded parts (`user`, `password` and `path` are decoded
        // already): a password that is literally `ab%41`, written `ab%2541`, stays `ab%41`.
        func decoded(_ text: String) -> String { text.removingPercentEncoding ?? text }
        guard let user = components.percentEncodedUser.map(decoded), !user.isEmpty else {
            throw DatabaseURLError("the database URL names no user (postgres://USER@host/database)")
        }
        self.username = user
        self.password = components.percentEncodedPassword.map(decoded)
        let path = components.percentEncodedPath
        let database = decoded(path.hasPrefix("/") ? String(path.dropFirst()) : path)
        guard !database.isEmpty else {
            throw DatabaseURLError("the database URL names no database (postgres://user@host/DATABASE)")
        }
        self.database = database
        if let mode = query["sslmode"] {
            guard let parsed = SSLMode(rawValue: mode) else {
                throw DatabaseURLError(
                    "sslmode '\(mode)' is not one of disable, allow, prefer, require, verify-ca, verify-full")
            }
            self.sslMode = parsed
        } else {
            self.sslMode = .prefer
        }
        self.applicationName = query["application_name"]
    }

    /// The URL with its password masked, fit for logs and error messages.
    public var description: String {
        let credentials = password == nil ? username : "\(username):***"
        let hostPart = socketDirectory == nil ? "\(host):\(port)" : ""
        let socketPart = socketDirectory.map { "?host=\($0)" } ?? ""
        return "postgres://\(credentials)@\(hostPart)/\(database)\(socketPart)"
    }

    /// The URL written out again, password included (for handing to another process).
    public var urlString: String {
        var components = URLComponents()
        components.scheme = "postgres"
        components.user = username
        components.password = password
        components.host = socketDirectory == nil ? host : ""
        components.port = socketDirectory == nil ? port : nil
        components.path = "/" + database
        var items: [URLQueryItem] = []
        if let socketDirectory {
            items.append(URLQueryItem(name: "host", value: socketDirectory))
            if port != 5432 { items.append(URLQueryItem(name: "port", value: String(port))) }
        }
        if sslMode != .prefer { items.append(URLQueryItem(name: "sslmode", value: sslMode.rawValue)) }
        if let applicationName { items.append(URLQueryItem(name: "application_name", value: applicationName)) }
        components.queryItems = items.isEmpty ? nil : items
        return components.string ?? description
    }

    /// The configuration of a single connection (the migration runner's).
    public func connectionConfiguration(applicationName fallback: String) throws -> PostgresConnection.Configuration {
        var configuration: PostgresConnection.Configuration
        if let socketDirectory {
            configuration = .init(
                unixSocketPath: "\(socketDirectory)/.s.PGSQL.\(port)", username: username, password: password,
                database: database)
        } else {
            configuration = .init(
                host: host, port: port, username: username, password: password, database: database,
                tls: try connectionTLS())
        }
        configuration.options.additionalStartupParameters = [("application_name", applicationName ?? fallback)]
        return configuration
    }

    /// The configuration of a connection pool (the store's).
    public func clientConfiguration(applicationName fallback: String) throws -> PostgresClient.Configuration {
        var configuration: PostgresClient.Configuration
        if let socketDirectory {
            configuration = .init(
                unixSocketPath: "\(socketDirectory)/.s.PGSQL.\(port)", username: username, password: password,
                database: database)
        } else {
            configuration = .init(
                host: host, port: port, username: username, password: password, database: database,
                tls: try clientTLS())
        }
        configuration.options.additionalStartupParameters = [("application_name", applicationName ?? fallback)]
        return configuration
    }

    private func tlsConfiguration() -> TLSConfiguration {
        var tls = TLSConfiguration.makeClientConfiguration()
        switch sslMode {
        case .verifyFull: break
        case .verifyCA: tls.certificateVerification = .noHostnameVerification
        // libpq's allow/prefer/require encrypt without checking the certificate.
        case .disable, .allow, .prefer, .require: tls.certificateVerification = .none
        }
        return tls
    }

    private func connectionTLS() throws -> PostgresConnection.Configuration.TLS {
        switch sslMode {
        case .disable: return .disable
        case .allow, .prefer: return .prefer(try NIOSSLContext(configuration: tlsConfiguration()))
        case .require, .verifyCA, .verifyFull: return .require(try NIOSSLContext(configuration: tlsConfiguration()))
        }
    }

    private func clientTLS() throws -> PostgresClient.Configuration.TLS {
        switch sslMode {
        case .disable: return .disable
        case .allow, .prefer: return .prefer(tlsConfiguration())
        case .require, .verifyCA, .verifyFull: return .require(tlsConfiguration())
        }
    }
}

public struct DatabaseURLError: Error, CustomStringConvertible, Sendable {
    public let description: String
    init(_ description: String) { self.description = "invalid database URL: \(description)" }
}
