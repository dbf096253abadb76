import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import PostgresNIO
import SQLStore
import SQLStoreHTTP
import SQLStoreMigrations
import Testing
import TestSupport

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// The application `sqlstore serve` runs, built by ``buildApplication(configuration:logger:metrics:)``
/// over a fresh migrated database and run in the test's process, answering real HTTP on a
/// loopback port (Hummingbird's live test framework): every middleware, route and service is the
/// real one, and no `sqlstore` process is started.
struct TestApplication: Sendable {
    let client: any TestClientProtocol
    let database: TestDatabase
    /// An admin token, inserted before the application started; requests carry it unless told
    /// otherwise.
    let adminToken: String

    /// Builds the application on a fresh migrated database with `configure` applied, runs its
    /// services, and calls `body` with a client while they run.
    static func run<Result: Sendable>(
        _ configure: @Sendable (inout Configuration) -> Void = { _ in },
        _ body: @Sendable (TestApplication) async throws -> Result
    ) async throws -> Result {
        try await TestDatabase.withMigrated { database in
            let adminToken = TokenSecret.generate()
            try await database.execute(
                """
                INSERT INTO api_tokens (token_hash, name, role) VALUES (\(TokenSecret.hash(adminToken)), 'tests', 'admin')
                """)
            var configuration = Configuration(database: DatabaseSettings(url: database.url))
            configuration.cursorSecret = try CursorSecret(ServerProcess.cursorSecret)
            // Parallel suites share one cluster: a few connections each are plenty in-process.
            configuration.database.maxOpenConnections = 4
            configuration.database.maxIdleConnections = 1
            // Tests send bursts on purpose; the rate-limit tests set their own.
            configuration.auth.rateLimit = RateLimit(rate: 0, burst: 0)
            configure(&configuration)
            let app = try await buildApplication(configuration: configuration, logger: TestDatabase.logger)
            return try await app.test(.live) { client in
                try await body(TestApplication(client: client, database: database, adminToken: adminToken))
            }
        }
    }

    /// Which token a request carries.
    enum Credential: Sendable {
        case admin
        case anonymous
        case bearer(String)
    }

    /// Sends one request; `json` is the body's exact text, so that tests show the wire format.
    @discardableResult
    func request(
        _ method: HTTPRequest.Method, _ path: String, json: String? = nil, headers: HTTPFields = [:],
        as credential: Credential = .admin
    ) async throws -> TestResponse {
        var fields = headers
        switch credential {
        case .admin: fields[.authorization] = "Bearer \(adminToken)"
        case .bearer(let token): fields[.authorization] = "Bearer \(token)"
        case .anonymous: break
        }
        if json != nil { fields[.contentType] = "application/json" }
        return try await client.execute(
            uri: path, method: method, headers: fields, body: json.map { ByteBuffer(string: $0) })
    }

    /// Sends one request that must answer `status`, and decodes its body as `Body`.
    func request<Body: Decodable>(
        _ method: HTTPRequest.Method, _ path: String, json: String? = nil, headers: HTTPFields = [:],
        as credential: Credential = .admin, expecting status: HTTPResponse.Status, decoding type: Body.Type = Body.self
    ) async throws -> Body {
        let response = try await request(method, path, json: json, headers: headers, as: credential)
        guard response.status == status else {
            throw TestSetupError("\(method) \(path) answered \(response.status), not \(status): \(String(buffer: response.body))")
        }
        return try response.decode(Body.self)
    }
}

extension TestResponse {
    /// The body as `Body`, with the API's snake_case keys.
    func decode<Body: Decodable>(_ type: Body.Type = Body.self) throws -> Body {
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        return try decoder.decode(Body.self, from: Data(body.readableBytesView))
    }

    /// The error body's `code`, or nil for a body that is not an error.
    var errorCode: String? { (try? decode(ErrorBody.self))?.code }
}

extension TestApplication {
    func createUser(_ email: String = "ada@example.com", name: String = "Ada") async throws -> UserBody {
        try await request(.post, "/users", json: #"{"email": "\#(email)", "name": "\#(name)"}"#, expecting: .created)
    }

    func createProduct(_ sku: String, price: String = "1.00", stock: Int = 10) async throws -> ProductBody {
        try await request(
            .post, "/products", json: #"{"sku": "\#(sku)", "name": "\#(sku)", "price": "\#(price)", "stock": \#(stock)}"#,
            expecting: .created)
    }

    func createOrganization(_ slug: String) async throws -> OrganizationBody {
        try await request(.post, "/organizations", json: #"{"slug": "\#(slug)", "name": "\#(slug)"}"#, expecting: .created)
    }

    /// `POST /orders` for `userId` with `lines` of (product, quantity).
    @discardableResult
    func placeOrder(
        userId: Int64, _ lines: [(Int64, Int)], idempotencyKey: String? = nil, as credential: Credential = .admin
    ) async throws -> TestResponse {
        let items = lines.map { #"{"product_id": \#($0.0), "quantity": \#($0.1)}"# }.joined(separator: ", ")
        var headers = HTTPFields()
        if let idempotencyKey { headers[HTTPField.Name("Idempotency-Key")!] = idempotencyKey }
        return try await request(
            .post, "/orders", json: #"{"user_id": \#(userId), "items": [\#(items)]}"#, headers: headers, as: credential)
    }
}

extension TestApplication {
    /// Sends one request on a connection of its own (URLSession's pool), not on the test client's
    /// single keep-alive connection, which the server answers one request at a time: for tests
    /// whose point is requests running at the same time.
    func requestOnOwnConnection(_ method: HTTPRequest.Method, _ path: String, json: String) async throws -> HTTPResponse.Status {
        let port = try #require(client.port)
        var request = URLRequest(url: try #require(URL(string: "http://127.0.0.1:\(port)\(path)")))
        request.httpMethod = method.rawValue
        request.setValue("Bearer \(adminToken)", forHTTPHeaderField: "Authorization")
        request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        request.httpBody = Data(json.utf8)
        let (_, response) = try await URLSession.shared.data(for: request)
        return HTTPResponse.Status(code: try #require(response as? HTTPURLResponse).statusCode)
    }
}
