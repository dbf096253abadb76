import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A program started by a test, with its output in a file, that can be waited for or killed.
/// (posix_spawn and a polling waitpid: Foundation's `Process` can hang in async tests on Linux.)
public final class ChildProcess: @unchecked Sendable {
    public let pid: pid_t
    let outputFile: URL
    private var exitStatus: Int32?

    /// Starts `executable` with `arguments`; `environment` is added to (or, with nil values,
    /// removed from) this process's environment.
    public init(_ executable: String, _ arguments: [String], environment: [String: String?] = [:]) throws {
        outputFile = FileManager.default.temporaryDirectory.appendingPathComponent("child-\(UUID().uuidString).log")
        var env = ProcessInfo.processInfo.environment
        for (key, value) in environment { env[key] = value }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, outputFile.path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        // NIO opens its sockets without close-on-exec: a child would inherit every connection the
        // test process holds and keep it open on the server after the test has closed it.
        if let closeFrom = Self.addCloseFrom { _ = closeFrom(&actions, 3) }
        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        let envp = env.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            argv.forEach { free($0) }
            envp.forEach { free($0) }
        }
        var pid: pid_t = 0
        let result = posix_spawn(&pid, executable, &actions, nil, argv, envp)
        guard result == 0 else { throw TestSetupError("cannot start \(executable): \(String(cString: strerror(result)))") }
        self.pid = pid
    }

    private typealias AddCloseFrom = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32
    /// glibc's `posix_spawn_file_actions_addclosefrom_np` (2.34 and later), which Swift's Glibc
    /// module does not import.
    private static let addCloseFrom: AddCloseFrom? = dlsym(nil, "posix_spawn_file_actions_addclosefrom_np")
        .map { unsafeBitCast($0, to: AddCloseFrom.self) }

    /// Waits for the process to exit (at most `timeout`) and returns its exit status.
    public func wait(timeout: Duration = .seconds(120)) async throws -> Int32 {
        if let exitStatus { return exitStatus }
        let deadline = ContinuousClock.now + timeout
        while true {
            var status: Int32 = 0
            let result = waitpid(pid, &status, WNOHANG)
            if result == pid {
                let code = (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
                exitStatus = code
                return code
            }
            if ContinuousClock.now > deadline {
                kill(pid, SIGKILL)
                throw TestSetupError("process \(pid) did not exit within \(timeout); output:\n\(output)")
            }
            try await Task.sleep(for: .milliseconds(20))
        }
    }

    public func signal(_ signal: Int32) { kill(pid, signal) }

    /// Everything the process wrote to stdout and stderr so far.
    public var output: String { (try? String(contentsOf: outputFile, encoding: .utf8)) ?? "" }

    /// The end of the output, or, if the process crashed, the Swift runtime's crash report from
    /// its first line (the reason and the crashed thread's frames come first; registers and
    /// images follow and would crowd them out of a plain suffix).
    public func outputTail(_ length: Int = 6000) -> String {
        let text = output
        guard let crash = text.range(of: "Program crashed") ?? text.range(of: "Fatal error") else {
            return String(text.suffix(length))
        }
        let start = text.index(crash.lowerBound, offsetBy: -500, limitedBy: text.startIndex) ?? text.startIndex
        return String(text[start...].prefix(length))
    }

    /// The lines of the output logged at error level or above, for a test that failed to show why.
    public func errorLines(limit: Int = 40) -> String {
        output.split(separator: "\n").filter { $0.contains(" error ") || $0.contains(" critical ") }
            .prefix(limit).joined(separator: "\n")
    }

    deinit {
        if exitStatus == nil {
            kill(pid, SIGKILL)
            var status: Int32 = 0
            waitpid(pid, &status, 0)
        }
        try? FileManager.default.removeItem(at: outputFile)
    }
}

/// The `sqlstore` executable under test: `SQLSTORE_BIN` (set by scripts/test), else the debug build.
public func sqlstoreExecutable(filePath: String = #filePath) throws -> String {
    if let path = ProcessInfo.processInfo.environment["SQLSTORE_BIN"] { return path }
    let root = URL(fileURLWithPath: filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()
    let path = root.appendingPathComponent(".build/debug/sqlstore").path
    guard FileManager.default.isExecutableFile(atPath: path) else {
        throw TestSetupError("no sqlstore executable at \(path): run the tests with scripts/test")
    }
    return path
}
