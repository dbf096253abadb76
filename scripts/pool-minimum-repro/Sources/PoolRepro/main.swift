// Deterministic reproduction of
//   PoolStateMachine+ConnectionGroup.swift:163 precondition(self.minimumConcurrentConnections <= self.stats.active)
// in PostgresNIO 1.33.2's _ConnectionPoolModule.
//
// The pool is driven only through its public API (leaseConnection / ConnectionLease.release,
// MockConnectionFactory, MockConnection.close, MockClock). `@testable` is used solely to
// *read* the state machine's stats so that every step waits until the pool has processed
// the previous event (this makes the run deterministic; nothing is mutated through it).
//
// Usage: swift run -c debug PoolRepro [minimumConnectionCount]   (default 5)
@testable import _ConnectionPoolModule
import _ConnectionPoolTestUtils
#if canImport(Glibc)
import Glibc
#endif

setvbuf(stdout, nil, _IONBF, 0)

let minimum = CommandLine.arguments.count > 1 ? Int(CommandLine.arguments[1])! : 5
let scenario = CommandLine.arguments.count > 2 ? CommandLine.arguments[2] : "failing"

final class Req: ConnectionRequestProtocol, Sendable {
    typealias ID = Int
    typealias Connection = MockConnection
    let id: Int
    let name: String
    let box = NIOLockedValueBox<Result<ConnectionLease<MockConnection>, ConnectionPoolError>?>(nil)
    init(_ id: Int) { self.id = id; self.name = "R\(id)" }
    func complete(with result: Result<ConnectionLease<MockConnection>, ConnectionPoolError>) {
        self.box.withLockedValue { $0 = result }
    }
    var lease: ConnectionLease<MockConnection>? {
        if case .success(let l) = self.box.withLockedValue({ $0 }) { return l }
        return nil
    }
    var isCompleted: Bool { self.box.withLockedValue { $0 != nil } }
    func describe() -> String {
        switch self.box.withLockedValue({ $0 }) {
        case .success(let l): return "\(self.name) leased connection \(l.connection.id)"
        case .failure(let e): return "\(self.name) failed: \(e)"
        case .none: return "\(self.name) waiting"
        }
    }
}

struct ConnectFailed: Error {}

let clock = MockClock()
let factory = MockConnectionFactory<MockClock>()

var config = ConnectionPoolConfiguration()
config.minimumConnectionCount = minimum
config.maximumConnectionSoftLimit = 6
config.maximumConnectionHardLimit = 6
config.idleTimeout = .seconds(10)

let pool = ConnectionPool(
    configuration: config,
    idGenerator: ConnectionIDGenerator(),
    requestType: Req.self,
    keepAliveBehavior: MockPingPongBehavior(keepAliveFrequency: nil, connectionType: MockConnection.self),
    observabilityDelegate: NoOpConnectionPoolMetrics(connectionIDType: MockConnection.ID.self),
    clock: clock
) {
    try await factory.makeConnection(id: $0, for: $1)
}

typealias Stats = PoolStateMachine<MockConnection, ConnectionIDGenerator, Int, Req, Int, CheckedContinuation<Void, Never>, MockClock, MockClock.Instant>.ConnectionGroup.Stats

func snapshot() -> (Stats, String, Int) {
    pool.stateBox.withLockedValue { state in
        let s = state.stateMachine.connections.stats
        let ps: String
        switch state.stateMachine.poolState {
        case .running: ps = "running"
        case .connectionCreationFailing: ps = "connectionCreationFailing"
        case .circuitBreakOpen: ps = "circuitBreakOpen"
        case .shuttingDown: ps = "shuttingDown"
        case .shutDown: ps = "shutDown"
        }
        return (s, ps, state.stateMachine.requestQueue.count)
    }
}

func show(_ label: String) {
    let (s, ps, q) = snapshot()
    print("    [\(ps)] queue=\(q) active=\(s.active) (idle=\(s.idle) leased=\(s.leased) connecting=\(s.connecting) backingOff=\(s.backingOff)) closing=\(s.closing)   min=\(minimum)  <- \(label)")
}

/// Wait (deterministically) until the pool has processed the event we triggered.
func waitUntil(_ what: String, _ cond: (Stats, String, Int) -> Bool) async {
    for _ in 0..<10_000 {
        let (s, ps, q) = snapshot()
        if cond(s, ps, q) { return }
        try? await Task.sleep(for: .milliseconds(1))
    }
    print("TIMEOUT waiting for: \(what)"); show("timeout"); exit(2)
}

var nextReq = 1
func lease(_ n: Int) -> [Req] {
    (0..<n).map { _ in
        let r = Req(nextReq); nextReq += 1
        print("  lease \(r.name)")
        pool.leaseConnection(r)   // synchronous: state machine runs under the pool lock
        return r
    }
}

print("== scenario \(scenario): minimumConnectionCount=\(minimum), maximumConnectionSoft/HardLimit=6, keepAlive=nil, idleTimeout=10s")

/// Start `n` connections' worth of load: n leases, then establish the n connection attempts
/// one by one (1 stream each, like Postgres), waiting each time until a request got leased.
func startUnderLoad(_ n: Int) async -> [Req] {
    let load = lease(n)
    for i in 0..<n {
        let c = await factory.nextConnectAttempt { _ in 1 }
        print("  connection \(c.id) established")
        await waitUntil("lease served") { s, _, _ in s.leased == i + 1 }
    }
    while !load.allSatisfy({ $0.isCompleted }) { try? await Task.sleep(for: .milliseconds(1)) }
    for r in load { print("    -> \(r.describe())") }
    show("all \(n) connections leased")
    return load
}

/// Scenario "failing" (candidate 1): connectionCreationFailing destroys all failed attempts except the
/// retry one; on recovery with >= 2 queued requests handleAvailableConnection only creates 1 connection.
func scenarioFailing() async {
    print("1. Pool starts; 5 leases arrive (load); 5 connections get established")
    let load = await startUnderLoad(5)

    print("2. PostgreSQL stops (pg_ctl stop): the server closes all 5 connections")
    for r in load { let c = r.lease!.connection; c.close(); c.closeIfClosing() }
    await waitUntil("all closed") { s, _, _ in s.leased == 0 && s.idle == 0 && s.closing == 0 }
    show("after the 5 connections closed")
    print("   the query tasks see errors and return their leases")
    for r in load { r.lease!.release() }

    print("3. a new lease arrives while the DB is down")
    let waiting1 = lease(1)
    show("after lease")

    print("4. connection attempts fail (DB down): first failure -> connectionCreationFailing + backoff timer")
    _ = try? await factory.nextConnectAttempt { _ in throw ConnectFailed() }
    await clock.nextTimerScheduled()
    show("after first failed connect")
    while true {
        let connecting = snapshot().0.connecting
        if connecting == 0 { break }
        _ = try? await factory.nextConnectAttempt { _ in throw ConnectFailed() }
        await waitUntil("failure processed") { s, _, _ in s.connecting == connecting - 1 }
        show("after another failed connect (not the retry id -> destroyFailedConnection)")
    }

    print("5. two more leases arrive while the pool is in connectionCreationFailing (they are queued)")
    _ = lease(2)
    show("after leases")

    print("6. PostgreSQL is back: backoff timer fires (clock +1s), the retry connection succeeds")
    clock.advance(to: clock.now.advanced(by: .seconds(1)))
    let c = await factory.nextConnectAttempt { _ in 1 }
    print("  connection \(c.id) established")
    await waitUntil("first queued request served") { _, _, _ in waiting1[0].isCompleted }
    print("    -> \(waiting1[0].describe())")
    show("after recovery (handleAvailableConnection: connectionsRequired = 1)")

    print("7. one more lease arrives (no idle connection, queue longer than soon-available)")
    _ = lease(1)
    show("after lease -- no crash")
}

/// Scenario "closing" (candidate 2): ConnectionGroup.connectionClosed compares connections.count
/// (which still contains a `.closing` connection) with the minimum, so no replacement is created.
func scenarioClosing() async {
    print("1. Pool starts; 6 leases arrive (load); 6 connections get established")
    let load = await startUnderLoad(6)

    print("2. the lease on connection 5 (index 5 = demand slot for min 5) is returned -> idle, idle-timeout timer")
    let r6 = load.first { $0.lease!.connection.id == 5 }!
    r6.lease!.release()
    await clock.nextTimerScheduled()
    show("after release")

    print("3. clock +10s: idle timeout fires, pool calls close() on connection 5 (close not yet completed)")
    clock.advance(to: clock.now.advanced(by: .seconds(10)))
    await waitUntil("closing") { s, _, _ in s.closing == 1 }
    show("after idle timeout")

    print("4. PostgreSQL stops: the server closes connection 0 (still leased)")
    let r1 = load.first { $0.lease!.connection.id == 0 }!
    r1.lease!.connection.close(); r1.lease!.connection.closeIfClosing()
    await waitUntil("closed") { s, _, _ in s.leased == 4 }
    show("after connection 0 closed (connections.count=5 incl. closing one -> no replacement)")
    r1.lease!.release()

    print("5. a new lease arrives")
    _ = lease(1)
    show("after lease -- no crash")
}

await withTaskGroup(of: Void.self) { group in
    group.addTask { await pool.run() }
    switch scenario {
    case "closing": await scenarioClosing()
    default: await scenarioFailing()
    }
    print("RESULT: no crash with minimumConnectionCount=\(minimum)")
    exit(0)
}
