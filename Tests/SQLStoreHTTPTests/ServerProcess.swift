import Foundation
import SQLStore
import SQLStoreMigrations
import TestSupport

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
#if canImport(Glibc)
import Glibc
#endif

/// `sqlstore serve` as a separate process on a free loopback port, over a fresh migrated
/// database: the API tests speak real HTTP to the real server.
final class ServerProcess: Sendable {
    let process: ChildProcess
    let baseURL: URL
    let database: TestDatabase
    /// An admin token made with `sqlstore tokens create --role admin` before the server started:
    /// ``request(_:_:json:raw:headers:token:)`` sends it unless told otherwise.
    let adminToken: String

    static func withServer<Result: Sendable>(
        arguments: [String] = [], logLevel: String = "warning", _ body: (ServerProcess) async throws -> Result
    ) async throws -> Result {
        try await TestDatabase.withMigrated { database in
            let server = try await ServerProcess(database: database, arguments: arguments, logLevel: logLevel)
            do {
                let result = try await body(server)
                try await server.stop()
                return result
            } catch {
                server.process.signal(SIGKILL)
                throw error
            }
        }
    }

    /// - Parameter url: connect as someone else than the test database's owner.
    init(database: TestDatabase, url: DatabaseURL? = nil, arguments: [String], logLevel: String = "warning") async throws {
        let port = try Self.freePort()
        self.database = database
        self.baseURL = URL(string: "http://127.0.0.1:\(port)")!
        adminToken = try await Self.createToken(database: database, ["--role", "admin", "--name", "tests"])
        process = try ChildProcess(
            try sqlstoreExecutable(),
            ["serve", "--host", "127.0.0.1", "--port", "\(port)", "--database-url", (url ?? database.url).urlString] + arguments,
            environment: [
                "LOG_LEVEL": logLevel, "SQLSTORE_CURSOR_SECRET": Self.cursorSecret,
                // Tests flood the server on purpose; the rate-limit tests pass --rate-limit.
                "SQLSTORE_RATE_LIMIT": "0",
            ])
        for _ in 0..<300 {
            if let response = try? await request("GET", "/health/live"), response.status == 200 { return }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw TestSetupError("the server did not start:\n\(process.output)")
    }

    /// Runs `sqlstore tokens create` on `database` with `arguments` and returns the token it prints.
    static func createToken(database: TestDatabase, _ arguments: [String]) async throws -> String {
        let create = try ChildProcess(
            try sqlstoreExecutable(), ["tokens", "create", "--database-url", database.url.urlString] + arguments,
            environment: ["LOG_LEVEL": "warning"])
        let status = try await create.wait(timeout: .seconds(60))
        guard status == 0, let token = create.output.firstMatch(of: /sqls_[A-Za-z0-9_-]{43}/) else {
            throw TestSetupError("sqlstore tokens create failed (\(status)):\n\(create.output)")
        }
        return String(token.output)
    }

    /// What every test server signs its cursors with (a real deployment's comes from its secrets).
    static let cursorSecret = "test-cursor-secret-0123456789abcdef"

    /// SIGTERM, then the exit status must be 0 (graceful shutdown).
    func stop() async throws {
        process.signal(SIGTERM)
        let status = try await process.wait(timeout: .seconds(30))
        guard status == 0 else { throw TestSetupError("serve exited \(status):\n\(process.output)") }
    }

    struct Reply: Sendable {
        let status: Int
        let headers: [String: String]
        let body: Data

        var json: [String: Any] { (try? JSONSerialization.jsonObject(with: body)) as? [String: Any] ?? [:] }
        var code: String? { json["code"] as? String }
        func header(_ name: String) -> String? {
            headers.first { $0.key.lowercased() == name.lowercased() }?.value
        }
    }

    /// Which token a request carries.
    enum Credential: Sendable {
        /// The server's ``adminToken``.
        case admin
        /// No `Authorization` header.
        case anonymous
        /// `Authorization: Bearer <token>`.
        case bearer(String)
    }

    func request(
        _ method: String, _ path: String, json: Any? = nil, raw: Data? = nil, headers: [String: String] = [:],
        as credential: Credential = .admin, session: URLSession = .shared
    ) async throws -> Reply {
        var request = URLRequest(url: URL(string: path, relativeTo: baseURL)!)
        request.httpMethod = method
        switch credential {
        case .admin: request.setValue("Bearer \(adminToken)", forHTTPHeaderField: "Authorization")
        case .bearer(let token): request.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization")
        case .anonymous: break
        }
        if let json { request.httpBody = try JSONSerialization.data(withJSONObject: json) }
        if let raw { request.httpBody = raw }
        if request.httpBody != nil { request.setValue("application/json", forHTTPHeaderField: "Content-Type") }
        for (name, value) in headers { request.setValue(value, forHTTPHeaderField: name) }
        let (data, response) = try await session.data(for: request)
        let http = response as! HTTPURLResponse
        var fields: [String: String] = [:]
        for (name, value) in http.allHeaderFields { fields["\(name)"] = "\(value)" }
        return Reply(status: http.statusCode, headers: fields, body: data)
    }

    static func freePort() throws -> Int {
        let socket = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(socket) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(socket, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0 else { throw TestSetupError("cannot bind a port") }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { _ = getsockname(socket, $0, &length) }
        }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}
