import Foundation
import SQLStoreMigrations
import TestSupport

#if canImport(Glibc)
import Glibc
#endif

/// Debian's PgBouncer in transaction pooling mode, with its default settings (in particular
/// no `ignore_startup_parameters`), in front of a test database's cluster.
final class PgBouncer: Sendable {
    let process: ChildProcess
    let port: Int
    let directory: URL

    static let executable = "/usr/sbin/pgbouncer"

    /// Starts PgBouncer on a free loopback port, forwarding every database to `upstream`'s
    /// server. scripts/test installs the package where it is missing.
    init(upstream: DatabaseURL, poolSize: Int = 10) async throws {
        guard FileManager.default.isExecutableFile(atPath: Self.executable) else {
            throw TestSetupError("\(Self.executable) is missing: scripts/test installs Debian's pgbouncer package")
        }
        port = try ServerProcess.freePort()
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("pgbouncer-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let server = upstream.socketDirectory.map { "host=\($0) port=\(upstream.port)" } ?? "host=\(upstream.host) port=\(upstream.port)"
        let configuration = """
            [databases]
            * = \(server)

            [pgbouncer]
            listen_addr = 127.0.0.1
            listen_port = \(port)
            unix_socket_dir =
            auth_type = trust
            auth_file = \(directory.path)/users.txt
            pool_mode = transaction
            default_pool_size = \(poolSize)
            max_client_conn = 500
            """
        try configuration.write(to: directory.appendingPathComponent("pgbouncer.ini"), atomically: true, encoding: .utf8)
        try "\"\(upstream.username)\" \"\"\n".write(to: directory.appendingPathComponent("users.txt"), atomically: true, encoding: .utf8)
        // PgBouncer refuses to run as root; -u switches to the user PostgreSQL runs as.
        let asUser = getuid() == 0 ? ["-u", "postgres"] : []
        if getuid() == 0 {
            try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: directory.path)
        }
        process = try ChildProcess(Self.executable, asUser + [directory.appendingPathComponent("pgbouncer.ini").path])
        for _ in 0..<200 {
            if Self.accepts(port: port) { return }
            try await Task.sleep(for: .milliseconds(50))
        }
        process.signal(SIGKILL)
        throw TestSetupError("PgBouncer did not listen on \(port):\n\(process.output)")
    }

    /// The URL of `database` through this PgBouncer.
    func url(for database: DatabaseURL) -> DatabaseURL {
        DatabaseURL(host: "127.0.0.1", port: port, username: database.username, database: database.database, sslMode: .disable)
    }

    func stop() async {
        process.signal(SIGTERM)
        _ = try? await process.wait(timeout: .seconds(10))
        try? FileManager.default.removeItem(at: directory)
    }

    private static func accepts(port: Int) -> Bool {
        let socket = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(socket) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(socket, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        } == 0
    }
}
