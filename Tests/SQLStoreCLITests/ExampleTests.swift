import Foundation
import PostgresNIO
import Testing
import TestSupport

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
#if canImport(Glibc)
import Glibc
#endif

/// Examples/hummingbird-todos, the migrations library as another project adopts it: a
/// Hummingbird app, built as a package of its own that depends on this one by path, migrates its
/// schema with `MigrationService` and serves from it. Run as a process against a fresh database.
@Suite("Examples/hummingbird-todos (processes)")
struct ExampleTests {
    struct Todo: Codable, Equatable {
        let id: Int64
        let title: String
        let done: Bool
    }

    /// The example's executable: `SQLSTORE_EXAMPLE_BIN`, which scripts/test sets after building it.
    static func executable() throws -> String {
        guard let path = ProcessInfo.processInfo.environment["SQLSTORE_EXAMPLE_BIN"],
            FileManager.default.isExecutableFile(atPath: path)
        else {
            throw TestSetupError(
                "SQLSTORE_EXAMPLE_BIN names no executable: run scripts/test, which builds Examples/hummingbird-todos")
        }
        return path
    }

    /// Starts the example on a free port against `database`, and returns it with its base URL
    /// once it listens (which it does only after migrating).
    func start(_ database: TestDatabase) async throws -> (ChildProcess, URL) {
        let url = database.url
        let process = try ChildProcess(
            try Self.executable(), [],
            environment: [
                "TODOS_DB_HOST": url.socketDirectory ?? url.host, "TODOS_DB_PORT": "\(url.port)",
                "TODOS_DB_USER": url.username, "TODOS_DB_PASSWORD": url.password, "TODOS_DB_NAME": url.database,
                "TODOS_PORT": "0",
            ])
        let deadline = ContinuousClock.now + .seconds(60)
        while ContinuousClock.now < deadline {
            if let line = process.output.split(separator: "\n").first(where: { $0.hasPrefix("listening on port ") }),
                let port = Int(line.dropFirst("listening on port ".count)),
                let base = URL(string: "http://127.0.0.1:\(port)")
            {
                return (process, base)
            }
            var status: Int32 = 0
            if waitpid(process.pid, &status, WNOHANG) == process.pid {
                throw TestSetupError("the example exited before listening:\n\(process.outputTail())")
            }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw TestSetupError("the example did not listen within 60 s:\n\(process.outputTail())")
    }

    func send(_ method: String, _ path: String, to base: URL, json: String? = nil) async throws -> (Int, Data) {
        guard let url = URL(string: path, relativeTo: base) else { throw TestSetupError("bad path \(path)") }
        var request = URLRequest(url: url)
        request.httpMethod = method
        if let json {
            request.httpBody = Data(json.utf8)
            request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        }
        let (data, response) = try await URLSession.shared.data(for: request)
        return ((response as? HTTPURLResponse)?.statusCode ?? 0, data)
    }

    func appliedAt(_ database: TestDatabase) async throws -> [String] {
        try await database.withConnection { connection in
            try await connection.query(
                "SELECT version || ' ' || applied_at::text FROM schema_migrations ORDER BY version",
                logger: TestDatabase.logger
            ).decode(String.self).reduce(into: []) { $0.append($1) }
        }
    }

    @Test("the example migrates its own schema before serving, serves from it, and a restart migrates nothing again")
    func migratesAndServes() async throws {
        try await TestDatabase.withFresh { database in
            let (first, base) = try await start(database)
            // Listening means migrated: the server waits for MigrationService before it starts.
            #expect(try await database.tableExists("todos"), "\(first.outputTail())")
            let valid = try await database.scalar(
                "SELECT indisvalid FROM pg_index WHERE indexrelid = 'idx_todos_open'::regclass", as: Bool.self)
            #expect(valid == true, "002 built its index CONCURRENTLY")
            #expect(try await send("GET", "/health/ready", to: base).0 == 200)

            let (created, body) = try await send("POST", "/todos", to: base, json: #"{"title":" write the example "}"#)
            #expect(created == 201, "\(String(decoding: body, as: UTF8.self))")
            #expect(try JSONDecoder().decode(Todo.self, from: body) == Todo(id: 1, title: "write the example", done: false))
            #expect(try await send("POST", "/todos", to: base, json: #"{"title":""}"#).0 == 400)
            let (listed, list) = try await send("GET", "/todos", to: base)
            #expect(listed == 200)
            #expect(try JSONDecoder().decode([Todo].self, from: list).map(\.title) == ["write the example"])
            #expect(try await send("GET", "/todos/99", to: base).0 == 404)

            let recorded = try await appliedAt(database)
            #expect(recorded.count == 2, "\(recorded)")
            first.signal(SIGTERM)
            #expect(try await first.wait(timeout: .seconds(30)) == 0, "\(first.outputTail())")

            let (second, again) = try await start(database)
            #expect(try await appliedAt(database) == recorded, "nothing is migrated twice")
            #expect(try await send("GET", "/todos/1", to: again).0 == 200)
            second.signal(SIGTERM)
            #expect(try await second.wait(timeout: .seconds(30)) == 0, "\(second.outputTail())")
        }
    }

    @Test("a migration that fails stops the example before it serves, with the runner's error")
    func failedMigrationStopsTheApp() async throws {
        try await TestDatabase.withFresh { database in
            // A table of the same name makes 001 fail (42P07) inside its transaction.
            try await database.execute("CREATE TABLE todos (id int)")
            let process = try ChildProcess(
                try Self.executable(), [],
                environment: [
                    "TODOS_DB_HOST": database.url.socketDirectory ?? database.url.host,
                    "TODOS_DB_PORT": "\(database.url.port)", "TODOS_DB_USER": database.url.username,
                    "TODOS_DB_PASSWORD": database.url.password, "TODOS_DB_NAME": database.url.database,
                    "TODOS_PORT": "0",
                ])
            let status = try await process.wait(timeout: .seconds(60))
            #expect(status != 0, "\(process.outputTail())")
            #expect(!process.output.contains("listening on port"), "it never served")
            #expect(process.output.contains("42P07"), "\(process.outputTail())")
        }
    }
}
