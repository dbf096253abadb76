import Foundation
import PostgresNIO
import SQLStoreMigrations
import SQLStoreSupport

#if canImport(Glibc)
import Glibc
#endif

/// A PostgreSQL cluster of a test's own, for faults that would hurt every other test on the
/// shared cluster `scripts/test` starts: stopping PostgreSQL, changing server-wide settings.
///
/// It is created with `initdb` in a fresh folder under /tmp, listens only on a Unix socket in
/// that folder (no TCP port to collide with), and runs as the `postgres` OS user when the tests
/// run as root (PostgreSQL refuses root). `stop` and `start` it at will; `withCluster` removes it.
/// fsync is off for speed, but `synchronous_commit` keeps its default (`on`): with it off, an
/// immediate stop could lose commits PostgreSQL had already acknowledged, and the fault tests
/// would blame the service for PostgreSQL's configured behaviour.
public final class ThrowawayCluster: @unchecked Sendable {
    public let root: URL
    let binDirectory: String
    var dataDirectory: String { root.appendingPathComponent("data").path }
    var logFile: String { root.appendingPathComponent("postgres.log").path }

    /// The folder holding the socket; `host` in URLs.
    public var socketDirectory: String { root.path }
    /// The cluster's administrative URL (user postgres, database postgres).
    public var adminURL: DatabaseURL {
        get throws { try DatabaseURL("postgres://postgres@/postgres?host=\(socketDirectory)") }
    }
    private let lock = NSLock()
    private var running = false

    init() throws {
        binDirectory = try Self.locateBinaries()
        // Short: a socket path is limited to 107 bytes.
        root = URL(fileURLWithPath: "/tmp/sqlstore-pg-\(UUID().uuidString.prefix(8).lowercased())")
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        chmod(root.path, 0o755)
        if geteuid() == 0 {
            guard let entry = getpwnam("postgres") else {
                throw TestSetupError("running as root needs a 'postgres' OS user to run PostgreSQL (apt-get install postgresql)")
            }
            chown(root.path, entry.pointee.pw_uid, entry.pointee.pw_gid)
        }
    }

    /// Creates and starts a cluster, runs `body` with it, then stops it and removes its folder.
    public static func withCluster<Result: Sendable>(
        _ body: (ThrowawayCluster) async throws -> Result
    ) async throws -> Result {
        let cluster = try ThrowawayCluster()
        do {
            try await cluster.pg("initdb", ["-D", cluster.dataDirectory, "-U", "postgres", "-A", "trust", "-E", "UTF8",
                "--no-locale", "--no-instructions"])
            try await cluster.start()
            let result = try await body(cluster)
            await cluster.remove()
            return result
        } catch {
            if let log = try? String(contentsOfFile: cluster.logFile, encoding: .utf8), !log.isEmpty {
                print("[ThrowawayCluster] postgres.log:\n\(log.suffix(4000))")
            }
            await cluster.remove()
            throw error
        }
    }

    /// Starts PostgreSQL and waits until it accepts connections.
    public func start() async throws {
        let options = "-c listen_addresses='' -k '\(socketDirectory)' -c fsync=off -c full_page_writes=off -c max_connections=100"
        try await pg("pg_ctl", ["-D", dataDirectory, "-l", logFile, "-w", "-t", "60", "-o", options, "start"])
        setRunning(true)
    }

    public enum StopMode: String, Sendable {
        /// Ends every session (rolling back its transaction) and shuts down cleanly.
        case fast
        /// Kills every process at once, like a crash; the next start runs crash recovery.
        case immediate
    }

    /// Stops PostgreSQL and waits until it is gone.
    public func stop(_ mode: StopMode = .fast) async throws {
        try await pg("pg_ctl", ["-D", dataDirectory, "-m", mode.rawValue, "-w", "-t", "60", "stop"])
        setRunning(false)
    }

    /// Creates a fresh database on this cluster with the store's whole schema applied.
    public func migratedDatabase() async throws -> TestDatabase {
        let name = "f_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased().prefix(20)
        _ = try await TestDatabase.withConnection(to: try adminURL) { connection in
            try await connection.query("CREATE DATABASE \(unescaped: name)", logger: TestDatabase.logger)
        }
        var url = try adminURL
        url.database = name
        let database = TestDatabase(name: name, url: url)
        try await database.schemaRunner().up()
        return database
    }

    /// Runs `sql` on the administrative database (server-wide settings such as `ALTER SYSTEM`).
    public func admin(_ sql: String) async throws {
        try await TestDatabase.withConnection(to: try adminURL) { connection in
            for try await _ in try await connection.query(PostgresQuery(unsafeSQL: sql), logger: TestDatabase.logger) {}
        }
    }

    private func setRunning(_ value: Bool) {
        lock.lock()
        running = value
        lock.unlock()
    }

    private var isRunning: Bool {
        lock.lock()
        defer { lock.unlock() }
        return running
    }

    private func remove() async {
        if isRunning || FileManager.default.fileExists(atPath: dataDirectory + "/postmaster.pid") {
            try? await pg("pg_ctl", ["-D", dataDirectory, "-m", "immediate", "-w", "stop"])
            setRunning(false)
        }
        try? FileManager.default.removeItem(at: root)
    }

    /// Runs one of PostgreSQL's programs, as the postgres user when we are root.
    func pg(_ program: String, _ arguments: [String]) async throws {
        let path = "\(binDirectory)/\(program)"
        let process = geteuid() == 0
            ? try ChildProcess("/usr/sbin/runuser", ["-u", "postgres", "--", path] + arguments)
            : try ChildProcess(path, arguments)
        let status = try await process.wait(timeout: .seconds(90))
        guard status == 0 else {
            throw TestSetupError("\(program) \(arguments.joined(separator: " ")) exited \(status):\n\(process.output)")
        }
    }

    /// `SQLSTORE_PG_BIN` (set by scripts/test), else the newest `/usr/lib/postgresql/N/bin`.
    static func locateBinaries() throws -> String {
        var candidates: [String] = []
        if let configured = ProcessInfo.processInfo.environment["SQLSTORE_PG_BIN"] { candidates.append(configured) }
        let versions = ((try? FileManager.default.contentsOfDirectory(atPath: "/usr/lib/postgresql")) ?? [])
            .compactMap(Int.init).sorted(by: >)
        candidates += versions.map { "/usr/lib/postgresql/\($0)/bin" }
        for directory in candidates where FileManager.default.isExecutableFile(atPath: "\(directory)/pg_ctl") {
            return directory
        }
        throw TestSetupError("PostgreSQL's initdb and pg_ctl were not found: set SQLSTORE_PG_BIN")
    }

    deinit {
        // withCluster removes the cluster; this is the last resort if a test crashed past it.
        if isRunning {
            let path = "\(binDirectory)/pg_ctl"
            let arguments = ["-D", dataDirectory, "-m", "immediate", "stop"]
            if let process = geteuid() == 0
                ? try? ChildProcess("/usr/sbin/runuser", ["-u", "postgres", "--", path] + arguments)
                : try? ChildProcess(path, arguments)
            {
                var status: Int32 = 0
                waitpid(process.pid, &status, 0)
            }
        }
    }
}
