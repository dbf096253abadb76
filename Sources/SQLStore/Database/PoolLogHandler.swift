import Logging
import Synchronization

/// The log handler of the pool's background logger: PostgresNIO's pool logs each failed
/// connection attempt at `info`, which under a refusing server (`53300 too many clients`, a
/// restart) is thousands of lines a second that say one thing. This handler turns them into one
/// `warning` per ``interval`` with their count and the last error, and passes everything else on.
///
/// It recognises PostgresNIO 1.33.2's message text, the only hook its pool offers (its
/// observability delegate is not public); `PoolLogHandlerTests` fails if that text changes.
public struct PoolLogHandler: LogHandler {
    /// PostgresNIO's message for a failed connection attempt (`PostgresClientMetrics.connectFailed`).
    static let connectFailedMessage = "Connection creation failed"

    private var upstream: any LogHandler
    private let failures: ConnectionFailures
    public let interval: Duration

    /// - Parameter interval: the least time between two warnings about refused connections.
    public init(wrapping upstream: any LogHandler, interval: Duration = .seconds(10)) {
        self.upstream = upstream
        self.failures = ConnectionFailures()
        self.interval = interval
    }

    /// At most `info`, so that the pool's failed attempts reach this handler even when the
    /// configured level would drop them; other events are filtered at the configured level here.
    public var logLevel: Logger.Level {
        get { min(upstream.logLevel, .info) }
        set { upstream.logLevel = newValue }
    }

    public var metadata: Logger.Metadata {
        get { upstream.metadata }
        set { upstream.metadata = newValue }
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { upstream[metadataKey: key] }
        set { upstream[metadataKey: key] = newValue }
    }

    public func log(event: LogEvent) {
        guard event.message.description == Self.connectFailedMessage else {
            if event.level >= upstream.logLevel { upstream.log(event: event) }
            return
        }
        guard let count = failures.record(interval: interval) else { return }
        guard upstream.logLevel <= .warning else { return }
        var warning = event
        warning.level = .warning
        warning.message = "PostgreSQL refused \(count.refused) new connections in the last \(count.seconds) s; serving with the connections the pool has"
        // The attempt's own metadata carries its error: the warning names the latest one.
        var metadata = event.metadata ?? [:]
        metadata["refused"] = "\(count.refused)"
        warning.metadata = metadata
        upstream.log(event: warning)
    }
}

/// Failed connection attempts since the last warning.
final class ConnectionFailures: Sendable {
    private struct State {
        var refused = 0
        var since: ContinuousClock.Instant?
        var lastWarning: ContinuousClock.Instant?
    }
    private let state = Mutex(State())

    /// Counts a failure; returns the count to report when a warning is due, nil otherwise.
    func record(interval: Duration) -> (refused: Int, seconds: Int)? {
        let now = ContinuousClock.now
        return state.withLock { state in
            state.refused += 1
            if state.since == nil { state.since = now }
            if let last = state.lastWarning, now - last < interval { return nil }
            let report = (refused: state.refused, seconds: max(1, Int(((now - (state.since ?? now)) / .seconds(1)).rounded(.up))))
            state.refused = 0
            state.since = now
            state.lastWarning = now
            return report
        }
    }
}
