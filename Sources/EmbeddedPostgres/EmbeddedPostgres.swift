import Foundation
import Logging

#if canImport(Glibc)
import Glibc
#endif

/// A project-local PostgreSQL cluster that SQLStore creates on first use, starts and stops.
///
/// It lives under one folder (by default `.sqlstore/` in the working directory), listens only
/// on a Unix-domain socket inside that folder (no TCP port to collide with), and accepts only
/// its own OS user (socket mode 0700). PostgreSQL refuses to run as root, so when SQLStore runs
/// as root the cluster runs as the `postgres` system user that Debian's package creates.
public struct EmbeddedPostgres: Sendable {
    public let root: URL
    public let database: String
    public let user: String
    let logger: Logger

    public init(root: URL, database: String = "sqlstore", user: String = "sqlstore", logger: Logger) {
        self.root = root.standardizedFileURL
        self.database = database
        self.user = user
        self.logger = logger
    }

    var dataDirectory: URL { root.appendingPathComponent("data") }
    /// The socket's directory: kept short, since a socket path is limited to 107 bytes.
    public var socketDirectory: URL { root.appendingPathComponent("run") }
    var logFile: URL { root.appendingPathComponent("run/postgres.log") }

    /// A libpq-style URL of the cluster's database.
    public var url: String { "postgres://\(user)@/\(database)?host=\(socketDirectory.path)" }

    /// Creates the cluster if needed and starts it unless it is already running.
    /// Returns whether this call started it (and so should stop it).
    public func start() throws -> Bool {
        let tools = try Tools.locate()
        let runAs = try RunAs.current()
        guard (socketDirectory.path + "/.s.PGSQL.5432").utf8.count < 108 else {
            throw EmbeddedPostgresError(
                "the folder \(root.path) is too deep for a Unix socket path (107 bytes); set SQLSTORE_HOME to a shorter folder")
        }
        try FileManager.default.createDirectory(at: socketDirectory, withIntermediateDirectories: true)
        try runAs.own(root)
        try runAs.checkAccess(root)

        // One process at a time decides whether to create and start the cluster.
        return try withFileLock(root.appendingPathComponent(".lock")) {
            if !FileManager.default.fileExists(atPath: dataDirectory.appendingPathComponent("PG_VERSION").path) {
                logger.info("creating the embedded PostgreSQL cluster", metadata: ["path": "\(dataDirectory.path)"])
                try? FileManager.default.removeItem(at: dataDirectory)
                try runAs.run(
                    tools.initdb,
                    ["-D", dataDirectory.path, "-U", user, "-A", "trust", "-E", "UTF8", "--no-locale", "--no-instructions"],
                    what: "initdb")
            }
            if try runAs.succeeds(tools.pgCtl, ["-D", dataDirectory.path, "status"]) {
                return false
            }
            let options = "-c listen_addresses='' -k '\(socketDirectory.path)' -c unix_socket_permissions=0700"
            try runAs.run(
                tools.pgCtl,
                ["-D", dataDirectory.path, "-l", logFile.path, "-w", "-t", "60", "-o", options, "start"],
                what: "pg_ctl start (see \(logFile.path))")
            try ensureDatabase(tools: tools)
            return true
        }
    }

    /// Stops the cluster, letting sessions end their transactions (fast shutdown).
    public func stop() throws {
        let tools = try Tools.locate()
        try RunAs.current().run(tools.pgCtl, ["-D", dataDirectory.path, "-m", "fast", "-w", "stop"], what: "pg_ctl stop")
    }

    private func ensureDatabase(tools: Tools) throws {
        let exists = try Shell.output(
            tools.psql,
            ["-h", socketDirectory.path, "-U", user, "-d", "postgres", "-Atc",
             "SELECT 1 FROM pg_database WHERE datname = '\(database)'"])
        if exists.trimmingCharacters(in: .whitespacesAndNewlines) != "1" {
            try Shell.run(tools.createdb, ["-h", socketDirectory.path, "-U", user, database], what: "createdb")
        }
    }
}

public struct EmbeddedPostgresError: Error, CustomStringConvertible, Sendable {
    public let description: String
    init(_ description: String) { self.description = description }
}

/// The server binaries: `SQLSTORE_PG_BIN`, else the newest `/usr/lib/postgresql/N/bin`, else `PATH`.
struct Tools {
    let initdb: String
    let pgCtl: String
    let psql: String
    let createdb: String

    static func locate() throws -> Tools {
        let fileManager = FileManager.default
        var candidates: [String] = []
        if let configured = ProcessInfo.processInfo.environment["SQLSTORE_PG_BIN"] { candidates.append(configured) }
        let versions = ((try? fileManager.contentsOfDirectory(atPath: "/usr/lib/postgresql")) ?? [])
            .compactMap(Int.init).sorted(by: >)
        candidates += versions.map { "/usr/lib/postgresql/\($0)/bin" }
        candidates += (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":").map(String.init)
        for directory in candidates {
            let tools = Tools(
                initdb: "\(directory)/initdb", pgCtl: "\(directory)/pg_ctl", psql: "\(directory)/psql",
                createdb: "\(directory)/createdb")
            if [tools.initdb, tools.pgCtl, tools.psql, tools.createdb].allSatisfy(fileManager.isExecutableFile(atPath:)) {
                return tools
            }
        }
        throw EmbeddedPostgresError(
            """
            PostgreSQL's server programs (initdb, pg_ctl) were not found, so the embedded database cannot start.
              Install them:   apt-get update && apt-get install -y postgresql   (Debian/Ubuntu; as root)
              or point SQLSTORE_PG_BIN at the folder that holds initdb and pg_ctl,
              or set DATABASE_URL to use a PostgreSQL server you already run.
            """)
    }
}

/// Runs PostgreSQL's programs as an unprivileged user when we are root.
struct RunAs {
    /// The account to run as, or nil to run as ourselves.
    let account: (name: String, uid: uid_t, gid: gid_t)?

    static func current() throws -> RunAs {
        guard geteuid() == 0 else { return RunAs(account: nil) }
        let name = ProcessInfo.processInfo.environment["SQLSTORE_PG_USER"] ?? "postgres"
        guard let entry = getpwnam(name) else {
            throw EmbeddedPostgresError(
                "PostgreSQL refuses to run as root, and there is no '\(name)' user to run it as; "
                    + "install Debian's postgresql package (it creates one) or set SQLSTORE_PG_USER")
        }
        return RunAs(account: (name, entry.pointee.pw_uid, entry.pointee.pw_gid))
    }

    func own(_ url: URL) throws {
        guard let account else { return }
        try Shell.run("/bin/chown", ["-R", "\(account.uid):\(account.gid)", url.path], what: "chown")
    }

    func checkAccess(_ url: URL) throws {
        guard let account else { return }
        guard try succeeds("/usr/bin/test", ["-w", url.path]) else {
            throw EmbeddedPostgresError(
                "the '\(account.name)' user cannot reach \(url.path) (a parent folder is private, e.g. /root); "
                    + "set SQLSTORE_HOME to a folder it can reach, such as /var/lib/sqlstore")
        }
    }

    func run(_ program: String, _ arguments: [String], what: String) throws {
        let (command, args) = wrap(program, arguments)
        try Shell.run(command, args, what: what)
    }

    func succeeds(_ program: String, _ arguments: [String]) throws -> Bool {
        let (command, args) = wrap(program, arguments)
        return try Shell.status(command, args) == 0
    }

    private func wrap(_ program: String, _ arguments: [String]) -> (String, [String]) {
        guard let account else { return (program, arguments) }
        return ("/usr/sbin/runuser", ["-u", account.name, "--", program] + arguments)
    }
}

/// Runs programs with posix_spawn and waitpid. (Foundation's `Process.waitUntilExit` can hang
/// when called from an async context on Linux, so it is not used.)
enum Shell {
    static func status(_ program: String, _ arguments: [String]) throws -> Int32 {
        try spawn(program, arguments, capture: false).status
    }

    static func run(_ program: String, _ arguments: [String], what: String) throws {
        let result = try spawn(program, arguments, capture: true)
        guard result.status == 0 else {
            let text = result.output.trimmingCharacters(in: .whitespacesAndNewlines)
            throw EmbeddedPostgresError("\(what) failed (exit \(result.status)): \(text)")
        }
    }

    static func output(_ program: String, _ arguments: [String]) throws -> String {
        try spawn(program, arguments, capture: true).output
    }

    /// Spawns `program`, collects its stdout and stderr (when capturing) and waits for it.
    static func spawn(_ program: String, _ arguments: [String], capture: Bool) throws -> (status: Int32, output: String) {
        var fds: [Int32] = [-1, -1]
        guard pipe(&fds) == 0 else { throw EmbeddedPostgresError("cannot create a pipe to run \(program)") }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        if capture {
            posix_spawn_file_actions_adddup2(&actions, fds[1], 1)
            posix_spawn_file_actions_adddup2(&actions, fds[1], 2)
        } else {
            posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
            posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
        }
        posix_spawn_file_actions_addclose(&actions, fds[0])
        posix_spawn_file_actions_addclose(&actions, fds[1])

        let argv = ([program] + arguments).map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        var pid: pid_t = 0
        let spawned = posix_spawn(&pid, program, &actions, nil, argv, environ)
        close(fds[1])
        guard spawned == 0 else {
            close(fds[0])
            throw EmbeddedPostgresError("cannot run \(program): \(String(cString: strerror(spawned)))")
        }
        var output: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = read(fds[0], &buffer, buffer.count)
            if count > 0 {
                output.append(contentsOf: buffer[0..<count])
            } else if count == 0 || errno != EINTR {
                break
            }
        }
        close(fds[0])
        var status: Int32 = 0
        while waitpid(pid, &status, 0) == -1 && errno == EINTR {}
        let exitStatus = (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
        return (exitStatus, String(decoding: output, as: UTF8.self))
    }
}

/// Holds an exclusive `flock` on `url` while `body` runs; the kernel drops it if we die.
func withFileLock<T>(_ url: URL, _ body: () throws -> T) throws -> T {
    let descriptor = open(url.path, O_CREAT | O_RDWR, 0o644)
    guard descriptor >= 0 else { throw EmbeddedPostgresError("cannot open the lock file \(url.path)") }
    defer { close(descriptor) }
    guard flock(descriptor, LOCK_EX) == 0 else { throw EmbeddedPostgresError("cannot lock \(url.path)") }
    defer { flock(descriptor, LOCK_UN) }
    return try body()
}
