import _ConnectionPoolModule
if CommandLine.arguments.contains("--describe-errors") { for e in [ConnectionPoolError.connectionCreationCircuitBreakerTripped, .requestCancelled] as [any Error] { print(String(reflecting: type(of: e)), "|", String(describing: e)) }; exit(0) }
import Synchronization
import Foundation

// ---- A simulated PostgreSQL server: `capacity` client slots (max_connections 10 - 3 reserved = 7).
final class SimServer: Sendable {
    let capacity: Int
    let open = Mutex(0)
    let refused = Mutex(0)
    init(capacity: Int) { self.capacity = capacity }
}

struct TooManyClients: Error, CustomStringConvertible {
    var description: String { "FATAL 53300: sorry, too many clients already" }
}

final class FakeConnection: PooledConnection, Sendable {
    let id: Int
    let server: SimServer
    let state = Mutex<(closed: Bool, callbacks: [@Sendable ((any Error)?) -> ()])>((false, []))
    init(id: Int, server: SimServer) { self.id = id; self.server = server }

    func onClose(_ closure: @escaping @Sendable ((any Error)?) -> ()) {
        let runNow = self.state.withLock { s -> Bool in
            if s.closed { return true }
            s.callbacks.append(closure); return false
        }
        if runNow { closure(nil) }
    }

    func close() {
        let cbs = self.state.withLock { s -> [@Sendable ((any Error)?) -> ()]? in
            if s.closed { return nil }
            s.closed = true
            let c = s.callbacks; s.callbacks = []; return c
        }
        guard let cbs else { return }
        self.server.open.withLock { $0 -= 1 }
        cbs.forEach { $0(nil) }
    }
}

final class Delegate: ConnectionPoolObservabilityDelegate {
    typealias ConnectionID = Int
    let failed = Mutex(0)
    func startedConnecting(id: Int) {}
    func connectFailed(id: Int, error: any Error) { failed.withLock { $0 += 1 } }
    func connectSucceeded(id: Int, streamCapacity: UInt16) {}
    func connectionUtilizationChanged(id: Int, streamsUsed: UInt16, streamCapacity: UInt16) {}
    func keepAliveTriggered(id: Int) {}
    func keepAliveSucceeded(id: Int) {}
    func keepAliveFailed(id: Int, error: any Error) {}
    func connectionClosing(id: Int) {}
    func connectionClosed(id: Int, error: (any Error)?) {}
    func requestQueueDepthChanged(_ newDepth: Int) {}
}

// ---- configuration (mirrors SQLStore's PostgresClient options)
let args = CommandLine.arguments
let maxConnections = args.count > 1 ? Int(args[1])! : 25
let serverSlots = 7
let gapMs = args.count > 2 ? Int(args[2])! : 200
let keepAliveMs = args.count > 3 ? Int(args[3])! : 0
let idleTimeout: Duration = .seconds(10)
let appDeadline: Duration = .seconds(10)

var config = ConnectionPoolConfiguration()
config.minimumConnectionCount = 0
config.maximumConnectionSoftLimit = maxConnections
config.maximumConnectionHardLimit = maxConnections
config.idleTimeout = idleTimeout
// PostgresClient never sets circuitBreakerTripAfter -> pool default (60 s)

let server = SimServer(capacity: serverSlots)
let delegate = Delegate()

let pool = ConnectionPool(
    configuration: config,
    idGenerator: ConnectionIDGenerator(),
    keepAliveBehavior: KA(),
    observabilityDelegate: delegate,
    clock: ContinuousClock()
) { id, _ in
    try await Task.sleep(for: .milliseconds(1)) // connect + startup round trip
    let ok = server.open.withLock { n -> Bool in
        if n < server.capacity { n += 1; return true }
        return false
    }
    guard ok else {
        server.refused.withLock { $0 += 1 }
        throw TooManyClients()
    }
    return ConnectionAndMetadata(connection: FakeConnection(id: id, server: server), maximalStreamsOnConnection: 1)
}

final class Counter: Sendable { let m = Mutex(0) }

struct KA: ConnectionKeepAliveBehavior {
    typealias Connection = FakeConnection
    var keepAliveFrequency: Duration? { keepAliveMs > 0 ? .milliseconds(keepAliveMs) : nil }
    func runKeepAlive(for connection: FakeConnection) async throws { try await Task.sleep(for: .milliseconds(1)) } // "SELECT 1"
}

enum Outcome { case ok(Duration), failed(String, Duration) }

/// lease with an app-level deadline (task cancellation -> pool.cancelLeaseConnection)
func leaseWithDeadline(hold: Duration) async -> Outcome {
    let clock = ContinuousClock()
    let start = clock.now
    do {
        let lease = try await withThrowingTaskGroup(of: ConnectionLease<FakeConnection>?.self) { group in
            group.addTask { try await pool.leaseConnection() }
            group.addTask { try await Task.sleep(for: appDeadline); return nil }
            let first = try await group.next()!
            group.cancelAll()
            // drain: if the lease won the race after cancellation, release it
            while let r = try? await group.next() { r?.release() }
            return first
        }
        guard let lease else { return .failed("app deadline (\(appDeadline)) exceeded", start.duration(to: clock.now)) }
        try? await Task.sleep(for: hold)   // "query"
        lease.release()
        return .ok(start.duration(to: clock.now))
    } catch {
        return .failed("\(error)", start.duration(to: clock.now))
    }
}

func ts(_ t0: ContinuousClock.Instant) -> String {
    let d = t0.duration(to: .now)
    return String(format: "t=%6.2fs", Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18)
}

await withTaskGroup(of: Void.self) { top in
    top.addTask { await pool.run() }

    let t0 = ContinuousClock.now
    print("keepAlive=\(keepAliveMs)ms, gap between single requests=\(gapMs)ms, maximumConnections=\(maxConnections), server slots=\(serverSlots), idleTimeout=\(idleTimeout), app deadline=\(appDeadline)")

    // Phase 1: 32 concurrent workers for 6 s
    let okCount = Counter(), failCount = Counter()
    let loadEnd = ContinuousClock.now.advanced(by: .seconds(6))
    await withTaskGroup(of: Void.self) { g in
        for _ in 0..<32 {
            g.addTask {
                while ContinuousClock.now < loadEnd {
                    switch await leaseWithDeadline(hold: .milliseconds(5)) {
                    case .ok: okCount.m.withLock { $0 += 1 }
                    case .failed: failCount.m.withLock { $0 += 1 }
                    }
                }
            }
        }
    }
    print("\(ts(t0)) load done: ok=\(okCount.m.withLock{$0}) failed=\(failCount.m.withLock{$0}) refusedConnectAttempts=\(server.refused.withLock{$0}) serverOpenConnections=\(server.open.withLock{$0})")

    // Phase 2: single sequential requests, as the app did after the load
    for i in 1...6 {
        let before = server.open.withLock { $0 }
        let r = await leaseWithDeadline(hold: .milliseconds(5))
        switch r {
        case .ok(let d):
            print("\(ts(t0)) single request #\(i): OK after \(d)  (server held \(before) idle conns before; refused so far \(server.refused.withLock{$0}))")
        case .failed(let e, let d):
            print("\(ts(t0)) single request #\(i): FAILED after \(d): \(e)  (server held \(before) idle conns; refused so far \(server.refused.withLock{$0}))")
        }
        if case .ok = r, i >= 3 { break }
        try? await Task.sleep(for: .milliseconds(gapMs))
    }
    pool.triggerForceShutdown()
    top.cancelAll()
}
