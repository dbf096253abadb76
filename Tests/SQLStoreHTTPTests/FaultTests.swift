import Foundation
import PostgresNIO
import SQLStoreMigrations
import Testing
import TestSupport

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
#if canImport(Glibc)
import Glibc
#endif

/// Faults injected under load, each test asserting that nothing acknowledged was lost, that
/// stock is conserved, and that every request got an answer within a bound (never a hang).
///
/// Each test prints one `[faults] …` line with its counts (requests sent, faults injected, orders
/// checked, violations found), for docs/reliability.md to cite. Stopping PostgreSQL and changing
/// server-wide settings happen on a `ThrowawayCluster` of the test's own, never on the shared
/// cluster the other tests use in parallel. Everything is loopback or a Unix socket.
@Suite("Faults")
struct FaultTests {
    static let initialStock = 1_000_000

    // MARK: 1. PostgreSQL stopped under load

    @Test("PostgreSQL stopped under load (fast, then immediate): ready and orders answer 503 with Retry-After within the deadline, the service recovers without a restart, every 201 order exists, stock is conserved")
    func postgresStoppedUnderLoad() async throws {
        let writeTimeout = 2.0
        // An answer may take the deadline plus scheduling slack on a loaded machine; never longer.
        let bound = Duration.seconds(writeTimeout + 3)
        try await ThrowawayCluster.withCluster { cluster in
            let database = try await cluster.migratedDatabase()
            let server = try await ServerProcess(
                database: database, arguments: ["--write-timeout", "\(Int(writeTimeout))s", "--max-open-conns", "6"])
            do {
                let client = FaultClient(server, timeout: 8)
                let (userId, products) = try await client.seed(products: 3, stock: Self.initialStock)
                let ledger = Ledger()
                let stop = StopFlag()
                // Six clients placing orders without pause, each retrying after a 503.
                let loaders = (0..<6).map { _ in
                    Task {
                        while await !stop.isSet {
                            let lines = [(products.randomElement()!, Int.random(in: 1...3))]
                            let exchange = await client.placeOrder(userId: userId, lines: lines)
                            await ledger.record(order: exchange, lines: lines)
                            try? await Task.sleep(for: .milliseconds(exchange.status == 201 ? 10 : 150))
                        }
                    }
                }
                try await ledger.waitForAcknowledged(atLeast: 30, within: .seconds(20))

                var outages: [String] = []
                for mode in [ThrowawayCluster.StopMode.fast, .immediate] {
                    try await cluster.stop(mode)
                    let stopped = ContinuousClock.now
                    // Readiness says so, promptly, with Retry-After.
                    let notReady = try await client.probe("GET", "/health/ready", until: 503, within: .seconds(15), ledger: ledger)
                    #expect(notReady.retryAfter != nil, "readiness 503 carries Retry-After")
                    // A write says so too (probed on its own, besides the loaders' 503s).
                    let refused = try await client.probeOrder(
                        userId: userId, lines: [(products[0], 1)], until: 503, within: .seconds(15), ledger: ledger)
                    #expect(refused.retryAfter != nil, "order 503 carries Retry-After")
                    #expect(refused.code == "unavailable")
                    let detected = ContinuousClock.now - stopped
                    // Keep the load on the dead database for a moment.
                    try await Task.sleep(for: .seconds(1))
                    let before = await ledger.acknowledged.count

                    try await cluster.start()
                    let started = ContinuousClock.now
                    _ = try await client.probe("GET", "/health/ready", until: 200, within: .seconds(20), ledger: ledger)
                    let ready = ContinuousClock.now - started
                    try await ledger.waitForAcknowledged(atLeast: before + 20, within: .seconds(20))
                    let writing = ContinuousClock.now - started
                    outages.append("\(mode.rawValue): 503 after \(detected), ready after \(ready), 20 more 201s after \(writing)")
                }
                await stop.set()
                for loader in loaders { await loader.value }

                let exchanges = await ledger.exchanges
                let acknowledged = await ledger.acknowledged
                var violations = 0
                for exchange in exchanges where !exchange.isAllowedAnswer || exchange.elapsed > bound {
                    violations += 1
                    Issue.record("\(exchange.method) \(exchange.path): \(exchange.summary), within \(bound)?")
                }
                let check = try await OrderAudit.check(database: database, acknowledged: acknowledged, initialStock: Self.initialStock)
                violations += check.violations
                #expect(check.violations == 0, "\(check.problems)")
                let statuses = Dictionary(grouping: exchanges, by: { $0.status.map(String.init) ?? "none" }).mapValues(\.count)
                violations += await stopGracefully(server)
                print(
                    "[faults] postgres-stopped: requests sent \(exchanges.count) \(statuses.sorted { $0.key < $1.key }), "
                        + "faults injected 2 (pg_ctl stop -m fast, -m immediate), orders checked \(acknowledged.count) "
                        + "(stored \(check.stored), placed but answered 503: \(check.unacknowledged)), "
                        + "slowest answer \(exchanges.map(\.elapsed).max() ?? .zero), violations \(violations) (SIGTERM exit counted); "
                        + outages.joined(separator: "; "))
            } catch {
                server.process.signal(SIGKILL)
                print("[faults] server output:\n\(server.process.outputTail())")
                throw error
            }
        }
    }

    // MARK: 2. A connection lost around COMMIT

    @Test("a connection lost around COMMIT answers 503 whether or not the order committed; retrying with the same Idempotency-Key always ends with exactly one order per key and stock conserved")
    func connectionLostAroundCommit() async throws {
        try await ThrowawayCluster.withCluster { cluster in
            let database = try await cluster.migratedDatabase()
            let writeTimeout = 3.0
            let server = try await ServerProcess(
                database: database, arguments: ["--max-open-conns", "20", "--write-timeout", "\(Int(writeTimeout))s"])
            do {
                let client = FaultClient(server, timeout: 8)
                let (userId, products) = try await client.seed(products: 8, stock: Self.initialStock)
                let ledger = Ledger()
                var linesByKey: [String: [(Int64, Int)]] = [:]
                var faults = 0

                // A. Lost after COMMIT. With a synchronous standby that never connects, PostgreSQL
                // flushes the commit record and then waits for the standby before it answers:
                // committed, not yet acknowledged. Killing those backends with SIGKILL there is a
                // crash right after COMMIT: no answer ever leaves PostgreSQL (PostgreSQL restarts,
                // recovers, and the commits are there). (pg_terminate_backend would not do: a
                // backend terminated in that wait still flushes the rows it had buffered, so the
                // client gets its 201 for the locally committed order.)
                try await cluster.admin("ALTER SYSTEM SET synchronous_standby_names = 'ghost_standby'")
                try await cluster.admin("SELECT pg_reload_conf()")
                try await waitForSetting(database, "synchronous_standby_names", "ghost_standby")
                let afterCommit = (0..<8).map { "after-commit-\($0)" }
                for (index, key) in afterCommit.enumerated() { linesByKey[key] = [(products[index], index + 1)] }
                // One product each: a session waiting for the standby still holds its row locks.
                let firstA = Task { [linesByKey] in await client.placeAll(afterCommit, userId: userId, lines: linesByKey, ledger: ledger) }
                let waiting = try await waitForServerSessions(database, count: afterCommit.count, where: "wait_event = 'SyncRep'")
                for pid in waiting { kill(pid, SIGKILL) }
                faults += waiting.count
                let repliesA = await firstA.value
                try await waitForCluster(database)
                try await cluster.admin("ALTER SYSTEM RESET synchronous_standby_names")
                try await cluster.admin("SELECT pg_reload_conf()")
                try await waitForSetting(database, "synchronous_standby_names", "")
                for key in afterCommit {
                    #expect(repliesA[key]?.status == 503, "\(key): \(repliesA[key]?.summary ?? "no reply")")
                    #expect(repliesA[key]?.retryAfter != nil)
                }
                // The client was told 503, yet every one of these orders committed: the ambiguity.
                let committedA = try await pollCount(
                    database, "SELECT count(*) FROM idempotency_keys WHERE key = ANY(\(afterCommit))", equals: afterCommit.count)
                #expect(committedA == afterCommit.count, "orders that committed although the client got 503")

                // B. Lost before COMMIT: the statements wait for a product row another session
                // holds; terminating them rolls them back.
                let beforeCommit = (0..<8).map { "before-commit-\($0)" }
                for (index, key) in beforeCommit.enumerated() { linesByKey[key] = [(products[0], 1), (products[index % 7 + 1], 2)] }
                let committedB = try await database.withConnection { holder in
                    try await holder.query("BEGIN", logger: TestDatabase.logger)
                    try await holder.query("SELECT id FROM products WHERE id = \(products[0]) FOR UPDATE", logger: TestDatabase.logger)
                    let firstB = Task { [linesByKey] in await client.placeAll(beforeCommit, userId: userId, lines: linesByKey, ledger: ledger) }
                    try await waitForServerSessions(database, count: beforeCommit.count, where: "wait_event_type = 'Lock'")
                    faults += try await terminateServerSessions(database)
                    let repliesB = await firstB.value
                    try await holder.query("ROLLBACK", logger: TestDatabase.logger)
                    for key in beforeCommit {
                        #expect(repliesB[key]?.status == 503, "\(key): \(repliesB[key]?.summary ?? "no reply")")
                        #expect(repliesB[key]?.retryAfter != nil)
                    }
                    return try await database.scalar(
                        "SELECT count(*) FROM idempotency_keys WHERE key = ANY(\(beforeCommit))", as: Int.self)
                }
                #expect(committedB == 0, "orders cut off before COMMIT were rolled back")

                // C. Sessions terminated at random moments while 40 keyed orders are placed and retried.
                let random = (0..<40).map { "random-\($0)" }
                for key in random {
                    linesByKey[key] = (0..<Int.random(in: 1...3)).map { _ in (products.randomElement()!, Int.random(in: 1...4)) }
                }
                let killer = Task {
                    var terminated = 0
                    for _ in 0..<40 {
                        terminated += (try? await terminateServerSessions(database)) ?? 0
                        try? await Task.sleep(for: .milliseconds(30))
                    }
                    return terminated
                }
                let finalC = await client.placeAllRetrying(random, userId: userId, lines: linesByKey, ledger: ledger)
                faults += await killer.value

                // Every key of A and B retried, as a client would after its 503.
                let finalAB = await client.placeAllRetrying(afterCommit + beforeCommit, userId: userId, lines: linesByKey, ledger: ledger)
                let lastReply = finalAB.merging(finalC) { first, _ in first }
                for key in afterCommit {
                    #expect(lastReply[key]?.replayed == true, "\(key): the retry found the order that committed behind the 503")
                }
                for key in beforeCommit {
                    #expect(lastReply[key]?.replayed == false, "\(key): the retry placed the order the fault had rolled back")
                }

                // Exactly one order per key: every 201 for a key names the same order, and the
                // database holds one order per key and no other.
                var violations = 0
                let exchanges = await ledger.exchanges
                let keys = afterCommit + beforeCommit + random
                var orderByKey: [String: Int64] = [:]
                for key in keys {
                    guard let last = lastReply[key], last.status == 201, let id = last.orderId else {
                        violations += 1
                        Issue.record("\(key) never got a 201: \(lastReply[key]?.summary ?? "no reply")")
                        continue
                    }
                    orderByKey[key] = id
                    let ids = Set(exchanges.filter { $0.key == key && $0.status == 201 }.compactMap(\.orderId))
                    if ids != [id] {
                        violations += 1
                        Issue.record("\(key) was answered with orders \(ids)")
                    }
                }
                for exchange in exchanges where !exchange.isAllowedAnswer || exchange.elapsed > .seconds(writeTimeout + 3) {
                    violations += 1
                    Issue.record("\(exchange.key ?? ""): \(exchange.summary)")
                }
                let stored = try await database.withConnection { connection in
                    var stored: [String: Int64] = [:]
                    let rows = try await connection.query("SELECT key, order_id FROM idempotency_keys", logger: TestDatabase.logger)
                    for try await (key, orderId) in rows.decode((String, Int64).self) { stored[key] = orderId }
                    return stored
                }
                if stored != orderByKey {
                    violations += 1
                    Issue.record("keys in the database \(stored.count), answered \(orderByKey.count); they differ")
                }
                let orders = try await database.scalar("SELECT count(*) FROM orders", as: Int.self)
                if orders != keys.count {
                    violations += 1
                    Issue.record("\(orders ?? -1) orders for \(keys.count) keys")
                }
                let acknowledged = keys.compactMap { key in orderByKey[key].map { Acknowledged(id: $0, number: nil, lines: linesByKey[key]!) } }
                let check = try await OrderAudit.check(database: database, acknowledged: acknowledged, initialStock: Self.initialStock)
                violations += check.violations
                #expect(check.violations == 0, "\(check.problems)")
                let replayed = keys.filter { lastReply[$0]?.replayed == true }.count
                violations += await stopGracefully(server)
                print(
                    "[faults] connection-lost-around-commit: keys \(keys.count), requests sent \(exchanges.count) "
                        + "(\(exchanges.filter { $0.status == 503 }.count) answered 503), faults injected \(faults) sessions terminated "
                        + "(\(afterCommit.count) SIGKILLed after COMMIT, then a crash restart; \(beforeCommit.count) terminated before COMMIT; the rest terminated at random), "
                        + "orders committed behind a 503: \(committedA ?? 0) (A) + \(replayed - afterCommit.count) (C, found by replay), "
                        + "orders checked \(check.stored), slowest answer \(exchanges.map(\.elapsed).max() ?? .zero), "
                        + "violations \(violations) (SIGTERM exit counted)")
                #expect(violations == 0)
                if violations > 0 { print("[faults] the server's errors:\n\(server.process.errorLines())") }
            } catch {
                server.process.signal(SIGKILL)
                try? await cluster.admin("ALTER SYSTEM RESET synchronous_standby_names")
                print("[faults] server output:\n\(server.process.outputTail())")
                throw error
            }
        }
    }

    // MARK: 4. Pool exhaustion over HTTP

    @Test("pool exhaustion over HTTP: with 2 connections held by a lock wait and 24 concurrent orders, every request is answered 201 or 503 with Retry-After within the write timeout plus slack, then service resumes")
    func poolExhaustionOverHTTP() async throws {
        let writeTimeout = 1.0
        let bound = Duration.seconds(writeTimeout + 1.5)
        try await ServerProcess.withServer(
            arguments: ["--max-open-conns", "2", "--max-idle-conns", "2", "--write-timeout", "\(Int(writeTimeout))s"]
        ) { server in
            let client = FaultClient(server, timeout: 8)
            let (userId, products) = try await client.seed(products: 2, stock: Self.initialStock)
            let ledger = Ledger()
            let concurrent = 24
            // The slow query: a session of the test's own holds the product's row lock, so every
            // order statement on it waits inside PostgreSQL, holding one of the pool's two connections.
            try await server.database.withConnection { holder in
                try await holder.query("BEGIN", logger: TestDatabase.logger)
                try await holder.query("SELECT id FROM products WHERE id = \(products[0]) FOR UPDATE", logger: TestDatabase.logger)
                let started = ContinuousClock.now
                await withTaskGroup(of: Void.self) { group in
                    for index in 0..<concurrent {
                        group.addTask {
                            // A third of them only read: they need a connection too.
                            if index % 3 == 2 {
                                await ledger.record(await client.send("GET", "/products/\(products[1])"))
                            } else {
                                let lines = [(products[0], 1)]
                                await ledger.record(order: await client.placeOrder(userId: userId, lines: lines), lines: lines)
                            }
                        }
                    }
                    group.addTask { await ledger.record(await client.send("GET", "/health/ready")) }
                }
                let elapsed = ContinuousClock.now - started
                try await holder.query("ROLLBACK", logger: TestDatabase.logger)
                print("[faults] pool-exhaustion: all \(concurrent + 1) answered within \(elapsed) while the lock was held")
            }
            let held = await ledger.exchanges
            // Released: the same load is served again.
            await withTaskGroup(of: Void.self) { group in
                for _ in 0..<concurrent {
                    group.addTask {
                        let lines = [(products[0], 1)]
                        await ledger.record(order: await client.placeOrder(userId: userId, lines: lines), lines: lines)
                    }
                }
            }
            let exchanges = await ledger.exchanges
            let after = exchanges.dropFirst(held.count)
            var violations = 0
            for exchange in exchanges where !exchange.isAllowedAnswer || exchange.elapsed > bound {
                violations += 1
                Issue.record("\(exchange.method) \(exchange.path): \(exchange.summary), bound \(bound)")
            }
            #expect(held.filter { $0.path == "/orders" }.allSatisfy { $0.status == 503 }, "no order can pass the held lock")
            #expect(after.contains { $0.status == 201 }, "orders succeed again once the lock is released")
            let acknowledged = await ledger.acknowledged
            let check = try await OrderAudit.check(database: server.database, acknowledged: acknowledged, initialStock: Self.initialStock)
            violations += check.violations
            #expect(check.violations == 0, "\(check.problems)")
            func counts(_ list: some Collection<Exchange>) -> String {
                Dictionary(grouping: list, by: { $0.status.map(String.init) ?? "none" }).mapValues(\.count)
                    .sorted { $0.key < $1.key }.map { "\($0.key): \($0.value)" }.joined(separator: ", ")
            }
            print(
                "[faults] pool-exhaustion: pool 2, write timeout \(writeTimeout)s; requests sent \(exchanges.count) "
                    + "(lock held: \(counts(held)), slowest \(held.map(\.elapsed).max() ?? .zero); released: \(counts(after)), "
                    + "slowest \(after.map(\.elapsed).max() ?? .zero)), faults injected 1 (row lock held over \(concurrent) requests), "
                    + "orders checked \(acknowledged.count), violations \(violations)")
        }
    }

    // MARK: Session faults

    /// The server pool's sessions (application_name `sqlstore`) on this test's database.
    func terminateServerSessions(_ database: TestDatabase) async throws -> Int {
        try await database.scalar(
            """
            SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) FROM pg_stat_activity
            WHERE datname = current_database() AND application_name = 'sqlstore' AND pid <> pg_backend_pid()
            """, as: Int.self) ?? 0
    }

    /// Waits until `count` server sessions match `condition`; returns their pids.
    @discardableResult
    func waitForServerSessions(_ database: TestDatabase, count: Int, where condition: String) async throws -> [pid_t] {
        let deadline = ContinuousClock.now + .seconds(10)
        var seen: [pid_t] = []
        while ContinuousClock.now < deadline {
            seen = try await database.withConnection { connection in
                try await connection.query(
                    """
                    SELECT pid FROM pg_stat_activity
                    WHERE datname = current_database() AND application_name = 'sqlstore' AND \(unescaped: condition)
                    """, logger: TestDatabase.logger
                ).decode(Int32.self).reduce(into: []) { $0.append($1) }
            }
            if seen.count >= count { return seen }
            try await Task.sleep(for: .milliseconds(20))
        }
        throw TestSetupError("only \(seen.count) of \(count) server sessions reached \(condition)")
    }

    /// Waits until the cluster accepts connections again (after a crash restart).
    func waitForCluster(_ database: TestDatabase) async throws {
        for _ in 0..<300 {
            if (try? await database.scalar("SELECT 1", as: Int32.self)) == 1 { return }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw TestSetupError("PostgreSQL did not come back after the crash")
    }

    /// SIGTERM, then exit 0 within `limit`: graceful shutdown drains in-flight requests.
    func stopGracefully(_ server: ServerProcess, within limit: Duration = .seconds(10)) async -> Int {
        server.process.signal(SIGTERM)
        do {
            let status = try await server.process.wait(timeout: limit)
            if status == 0 { return 0 }
            Issue.record("serve exited \(status) after SIGTERM")
        } catch {
            Issue.record("serve did not exit within \(limit) of SIGTERM (killed): in-flight requests never finished")
        }
        return 1
    }

    func waitForSetting(_ database: TestDatabase, _ name: String, _ value: String) async throws {
        for _ in 0..<250 {
            if try await database.scalar("SELECT current_setting(\(name))", as: String.self) == value { return }
            try await Task.sleep(for: .milliseconds(20))
        }
        throw TestSetupError("\(name) never became '\(value)'")
    }

    func pollCount(_ database: TestDatabase, _ query: PostgresQuery, equals expected: Int) async throws -> Int? {
        var count: Int?
        for _ in 0..<100 {
            count = try await database.scalar(query, as: Int.self)
            if count == expected { break }
            try await Task.sleep(for: .milliseconds(20))
        }
        return count
    }
}

// MARK: - The HTTP side: bounded requests, recorded

/// One request and its answer as a fault test saw it.
struct Exchange: Sendable {
    let method: String
    let path: String
    let key: String?
    /// nil: no HTTP answer at all (connection refused or reset, client timeout).
    let status: Int?
    let retryAfter: String?
    let replayed: Bool
    let body: Data
    let elapsed: Duration
    let failure: String?

    var json: [String: Any] { (try? JSONSerialization.jsonObject(with: body)) as? [String: Any] ?? [:] }
    var code: String? { json["code"] as? String }
    var orderId: Int64? { (json["id"] as? Int).map(Int64.init) }
    var orderNumber: String? { json["order_number"] as? String }

    /// 503 must carry Retry-After; a 201 or 200 is fine; anything else (500, no answer) is not.
    var isAllowedAnswer: Bool {
        switch status {
        case 200, 201: return true
        case 503: return retryAfter != nil
        default: return false
        }
    }

    var summary: String {
        guard let status else { return "no answer after \(elapsed): \(failure ?? "?")" }
        return "\(status)\(retryAfter.map { " Retry-After \($0)" } ?? "") after \(elapsed) \(String(decoding: body.prefix(300), as: UTF8.self))"
    }
}

/// An HTTP client for fault tests: enough connections that requests are not queued in the
/// client (URLSession's default is 6 per host), and a client-side timeout so that a hang shows
/// up as a failed exchange instead of a stuck test.
struct FaultClient: @unchecked Sendable {
    let baseURL: URL
    let session: URLSession
    /// Sent as `Authorization: Bearer` on every request.
    let token: String

    init(_ server: ServerProcess, timeout: TimeInterval) {
        self.baseURL = server.baseURL
        self.token = server.adminToken
        let configuration = URLSessionConfiguration.ephemeral
        configuration.httpMaximumConnectionsPerHost = 64
        configuration.timeoutIntervalForRequest = timeout
        configuration.timeoutIntervalForResource = timeout
        session = URLSession(configuration: configuration)
    }

    func send(_ method: String, _ path: String, body: Data? = nil, key: String? = nil) async -> Exchange {
        var request = URLRequest(url: URL(string: path, relativeTo: baseURL)!)
        request.httpMethod = method
        request.httpBody = body
        if body != nil { request.setValue("application/json", forHTTPHeaderField: "Content-Type") }
        if let key { request.setValue(key, forHTTPHeaderField: "Idempotency-Key") }
        request.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization")
        let started = ContinuousClock.now
        do {
            let (data, response) = try await session.data(for: request)
            let http = response as! HTTPURLResponse
            func header(_ name: String) -> String? {
                http.allHeaderFields.first { "\($0.key)".lowercased() == name.lowercased() }.map { "\($0.value)" }
            }
            return Exchange(
                method: method, path: path, key: key, status: http.statusCode,
                retryAfter: header("Retry-After"), replayed: header("Idempotent-Replayed") == "true",
                body: data, elapsed: ContinuousClock.now - started, failure: nil)
        } catch {
            return Exchange(
                method: method, path: path, key: key, status: nil, retryAfter: nil, replayed: false, body: Data(),
                elapsed: ContinuousClock.now - started, failure: "\(error)")
        }
    }

    func placeOrder(userId: Int64, lines: [(Int64, Int)], key: String? = nil) async -> Exchange {
        let body: [String: Any] = ["user_id": Int(userId), "items": lines.map { ["product_id": Int($0.0), "quantity": $0.1] }]
        return await send("POST", "/orders", body: try! JSONSerialization.data(withJSONObject: body), key: key)
    }

    /// A user and `products` products with `stock` each, created before any fault.
    func seed(products count: Int, stock: Int) async throws -> (user: Int64, products: [Int64]) {
        func create(_ path: String, _ object: [String: Any]) async throws -> Int64 {
            let exchange = await send("POST", path, body: try JSONSerialization.data(withJSONObject: object))
            guard exchange.status == 201, let id = exchange.orderId else {
                throw TestSetupError("POST \(path): \(exchange.summary)")
            }
            return id
        }
        let suffix = UUID().uuidString.prefix(8)
        let user = try await create("/users", ["email": "fault-\(suffix)@example.com", "name": "Fault"])
        var products: [Int64] = []
        for index in 0..<count {
            products.append(try await create(
                "/products", ["sku": "F-\(suffix)-\(index)", "name": "Fault \(index)", "price": "2.50", "stock_quantity": stock]))
        }
        return (user, products)
    }

    /// Sends `method path` every 100 ms until it answers `status`, recording every answer.
    func probe(_ method: String, _ path: String, until status: Int, within limit: Duration, ledger: Ledger) async throws -> Exchange {
        let deadline = ContinuousClock.now + limit
        var last: Exchange?
        while ContinuousClock.now < deadline {
            let exchange = await send(method, path)
            await ledger.record(exchange)
            if exchange.status == status { return exchange }
            last = exchange
            try await Task.sleep(for: .milliseconds(100))
        }
        throw TestSetupError("\(method) \(path) never answered \(status) within \(limit); last: \(last?.summary ?? "none")")
    }

    func probeOrder(
        userId: Int64, lines: [(Int64, Int)], until status: Int, within limit: Duration, ledger: Ledger
    ) async throws -> Exchange {
        let deadline = ContinuousClock.now + limit
        var last: Exchange?
        while ContinuousClock.now < deadline {
            let exchange = await placeOrder(userId: userId, lines: lines)
            await ledger.record(order: exchange, lines: lines)
            if exchange.status == status { return exchange }
            last = exchange
            try await Task.sleep(for: .milliseconds(100))
        }
        throw TestSetupError("POST /orders never answered \(status) within \(limit); last: \(last?.summary ?? "none")")
    }

    /// Places every key's order once, all at once; returns each key's answer.
    func placeAll(_ keys: [String], userId: Int64, lines: [String: [(Int64, Int)]], ledger: Ledger) async -> [String: Exchange] {
        await withTaskGroup(of: (String, Exchange).self) { group in
            for key in keys {
                group.addTask {
                    let exchange = await placeOrder(userId: userId, lines: lines[key]!, key: key)
                    await ledger.record(order: exchange, lines: lines[key]!)
                    return (key, exchange)
                }
            }
            return await group.reduce(into: [:]) { $0[$1.0] = $1.1 }
        }
    }

    /// Places every key's order, all at once, each retried with its key after a 503 (honouring
    /// Retry-After) until it gets a 201, at most 30 attempts; returns each key's last answer.
    func placeAllRetrying(_ keys: [String], userId: Int64, lines: [String: [(Int64, Int)]], ledger: Ledger) async -> [String: Exchange] {
        await withTaskGroup(of: (String, Exchange).self) { group in
            for key in keys {
                group.addTask {
                    var exchange = await placeOrder(userId: userId, lines: lines[key]!, key: key)
                    await ledger.record(order: exchange, lines: lines[key]!)
                    var attempts = 1
                    while exchange.status == 503 || exchange.status == nil, attempts < 30 {
                        let wait = min(Double(exchange.retryAfter ?? "1") ?? 1, 1)
                        try? await Task.sleep(for: .seconds(wait))
                        exchange = await placeOrder(userId: userId, lines: lines[key]!, key: key)
                        await ledger.record(order: exchange, lines: lines[key]!)
                        attempts += 1
                    }
                    return (key, exchange)
                }
            }
            return await group.reduce(into: [:]) { $0[$1.0] = $1.1 }
        }
    }
}

/// An order the service acknowledged with 201, and what was asked for.
struct Acknowledged: Sendable {
    let id: Int64
    let number: String?
    let lines: [(Int64, Int)]
}

/// Every exchange of a test, and the orders acknowledged with 201.
actor Ledger {
    private(set) var exchanges: [Exchange] = []
    private(set) var acknowledged: [Acknowledged] = []
    private var acknowledgedIds: Set<Int64> = []

    func record(_ exchange: Exchange) { exchanges.append(exchange) }

    func record(order exchange: Exchange, lines: [(Int64, Int)]) {
        exchanges.append(exchange)
        // A replayed 201 names an order already acknowledged: count it once.
        if exchange.status == 201, let id = exchange.orderId, acknowledgedIds.insert(id).inserted {
            acknowledged.append(Acknowledged(id: id, number: exchange.orderNumber, lines: lines))
        }
    }

    func waitForAcknowledged(atLeast count: Int, within limit: Duration) async throws {
        let deadline = ContinuousClock.now + limit
        while acknowledged.count < count {
            guard ContinuousClock.now < deadline else {
                throw TestSetupError("only \(acknowledged.count) of \(count) orders acknowledged within \(limit)")
            }
            try await Task.sleep(for: .milliseconds(50))
        }
    }
}

actor StopFlag {
    private(set) var isSet = false
    func set() { isSet = true }
}

/// What the database holds against what the service acknowledged.
enum OrderAudit {
    struct Result {
        var violations = 0
        var problems: [String] = []
        /// Acknowledged orders found with the same number and the same lines.
        var stored = 0
        /// Orders in the database that no 201 announced (placed, but the answer was a 503).
        var unacknowledged = 0
    }

    /// Every acknowledged order exists with its number and exactly the lines asked for; every
    /// order has items; and for every product, initial stock = current stock + the quantities
    /// of its non-cancelled orders.
    static func check(database: TestDatabase, acknowledged: [Acknowledged], initialStock: Int) async throws -> Result {
        var result = Result()
        func problem(_ text: String) {
            result.violations += 1
            if result.problems.count < 20 { result.problems.append(text) }
        }
        let ids = acknowledged.map(\.id)
        try await database.withConnection { connection in
            var numbers: [Int64: String] = [:]
            for try await (id, number) in try await connection.query(
                "SELECT id, order_number FROM orders WHERE id = ANY(\(ids))", logger: TestDatabase.logger
            ).decode((Int64, String).self) { numbers[id] = number }
            var items: [Int64: [Int64: Int]] = [:]
            for try await (orderId, productId, quantity) in try await connection.query(
                "SELECT order_id, product_id, quantity FROM order_items WHERE order_id = ANY(\(ids))", logger: TestDatabase.logger
            ).decode((Int64, Int64, Int32).self) { items[orderId, default: [:]][productId, default: 0] += Int(quantity) }
            for order in acknowledged {
                guard let number = numbers[order.id] else {
                    problem("order \(order.id) was acknowledged with 201 and is not in the database")
                    continue
                }
                if let expected = order.number, expected != number {
                    problem("order \(order.id) was acknowledged as number \(expected), the database has \(number)")
                    continue
                }
                let asked = order.lines.reduce(into: [Int64: Int]()) { $0[$1.0, default: 0] += $1.1 }
                if items[order.id] != asked {
                    problem("order \(order.id): asked \(asked), stored \(items[order.id] ?? [:])")
                    continue
                }
                result.stored += 1
            }
            let total = try await connection.query("SELECT count(*) FROM orders", logger: TestDatabase.logger)
                .decode(Int.self).reduce(0) { $0 + $1 }
            result.unacknowledged = total - acknowledged.count
            let empty = try await connection.query(
                "SELECT count(*) FROM orders o WHERE NOT EXISTS (SELECT 1 FROM order_items i WHERE i.order_id = o.id)",
                logger: TestDatabase.logger
            ).decode(Int.self).reduce(0) { $0 + $1 }
            if empty > 0 { problem("\(empty) orders without items") }
            let initial = initialStock
            for try await (productId, current, sold) in try await connection.query(
                """
                SELECT p.id, p.stock_quantity, coalesce((
                    SELECT sum(i.quantity) FROM order_items i JOIN orders o ON o.id = i.order_id
                    WHERE i.product_id = p.id AND o.status <> 'cancelled'), 0)::bigint
                FROM products p ORDER BY p.id
                """, logger: TestDatabase.logger
            ).decode((Int64, Int, Int64).self) where current + Int(sold) != initial {
                problem("product \(productId): initial \(initial) ≠ current \(current) + sold \(sold)")
            }
        }
        return result
    }
}
