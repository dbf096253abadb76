import Foundation
import HTTPTypes
import Hummingbird
import Logging
import Metrics
import NIOConcurrencyHelpers
import NIOCore
import SQLStore

/// Who is calling, once the bearer token is verified.
public enum Caller: Sendable, Hashable {
    /// The back office: may do everything. `tokenId` is `nil` when authentication is off.
    case admin(tokenId: Int64?)
    /// One customer, bound to its user.
    case customer(userId: Int64, tokenId: Int64)

    init(_ token: APIToken) {
        switch (token.role, token.userId) {
        case (.customer, let userId?): self = .customer(userId: userId, tokenId: token.id)
        // The table's check makes a customer token without a user impossible.
        default: self = .admin(tokenId: token.id)
        }
    }
}

/// The request context of every route: Hummingbird's core storage, the caller the
/// ``AuthMiddleware`` verified, and the client's address (for unauthenticated rate limits).
public struct StoreRequestContext: RequestContext, RemoteAddressRequestContext {
    public var coreContext: CoreRequestContextStorage
    /// Set by ``AuthMiddleware`` before any store route runs; `nil` only on the public routes.
    public var caller: Caller?
    public let remoteAddress: SocketAddress?

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        remoteAddress = source.channel.remoteAddress
    }
}

/// `SQLSTORE_AUTH`, `SQLSTORE_TOKEN_CACHE_TTL` and `SQLSTORE_RATE_LIMIT`.
public struct AuthSettings: Sendable {
    /// `SQLSTORE_AUTH=on|off` (on). Off makes every caller an admin: for a trusted network only.
    public var enabled = true
    /// `SQLSTORE_TOKEN_CACHE_TTL` (10s): how long a verified token is trusted without asking the
    /// database again, and so the longest a revoked token keeps working on an instance.
    public var tokenCacheTTL: Duration = .seconds(10)
    /// `SQLSTORE_RATE_LIMIT`: requests per second per token (per client address without a valid
    /// token), written `RATE` or `RATE/BURST`; 0 turns the limit off.
    public var rateLimit = RateLimit(rate: 10_000, burst: 20_000)

    public init() {}

    public init(environment: EnvironmentSettings) throws(ConfigurationError) {
        if let text = environment.string("SQLSTORE_AUTH") {
            switch text.lowercased() {
            case "on", "true", "1": enabled = true
            case "off", "false", "0": enabled = false
            default: throw ConfigurationError(setting: "SQLSTORE_AUTH", reason: "must be on or off, got '\(text)'")
            }
        }
        tokenCacheTTL = try environment.duration("SQLSTORE_TOKEN_CACHE_TTL") ?? tokenCacheTTL
        if let text = environment.string("SQLSTORE_RATE_LIMIT") {
            rateLimit = try RateLimit(text, setting: "SQLSTORE_RATE_LIMIT")
        }
    }
}

/// A token bucket's shape: `rate` requests a second on average, `burst` at once.
public struct RateLimit: Sendable, Hashable, CustomStringConvertible {
    public var rate: Double
    public var burst: Double

    public init(rate: Double, burst: Double) {
        self.rate = rate
        self.burst = burst
    }

    /// `RATE` (burst twice the rate) or `RATE/BURST`; `0` is off.
    public init(_ text: String, setting: String) throws(ConfigurationError) {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        let burst = parts.count == 2 ? Double(parts[1]) : parts.first.flatMap { Double($0) }.map { max(1, $0 * 2) }
        guard (1...2).contains(parts.count), let rate = Double(parts[0]), rate >= 0, rate.isFinite,
            let burst, burst >= 1, burst.isFinite
        else {
            throw ConfigurationError(
                setting: setting, reason: "must be requests per second, optionally /burst (e.g. 1000 or 1000/2000; 0 is off), got '\(text)'")
        }
        self.rate = rate
        self.burst = burst
    }

    public var isOff: Bool { rate == 0 }
    public var description: String { isOff ? "off" : "\(rate)/s, burst \(burst)" }
}

/// Verified tokens, each trusted for the cache's TTL (or until the token expires, if sooner): a hit
/// costs no database round trip and no SHA-256.
///
/// Entries are found by a 64-bit SipHash of the presented secret (Swift's `Hasher`, seeded at
/// random per process, so nobody outside can steer which entries a probe lands on) and then
/// confirmed by comparing the whole secret in constant time; the secret is hashed with SHA-256
/// only on a miss, for the database. Only verified tokens are cached, never unknown ones, and the
/// cache holds at most `capacity` entries: presenting made-up tokens cannot grow it.
final class TokenCache: Sendable {
    private struct Entry {
        /// The secret's bytes: what a hit is confirmed against.
        let secret: [UInt8]
        let caller: Caller
        let until: NIODeadline
    }
    private let entries = NIOLockedValueBox<[Int: Entry]>([:])
    private let ttl: TimeAmount
    let capacity: Int

    init(ttl: Duration, capacity: Int = 10_000) {
        self.ttl = TimeAmount(ttl)
        self.capacity = max(1, capacity)
    }

    func caller(secret: Substring, now: NIODeadline = .now()) -> Caller? {
        let key = Self.key(secret)
        return entries.withLockedValue { entries in
            guard let entry = entries[key], Self.same(entry.secret, secret.utf8) else { return nil }
            guard entry.until > now else {
                entries[key] = nil
                return nil
            }
            return entry.caller
        }
    }

    func insert(_ token: APIToken, secret: Substring, now: NIODeadline = .now()) {
        var until = now + ttl
        if let expiresAt = token.expiresAt {
            let left = expiresAt.timeIntervalSinceNow
            until = min(until, now + .nanoseconds(Int64(max(0, left) * 1e9)))
        }
        let key = Self.key(secret)
        let entry = Entry(secret: Array(secret.utf8), caller: Caller(token), until: until)
        entries.withLockedValue { entries in
            if entries[key] == nil, entries.count >= capacity {
                entries = entries.filter { $0.value.until > now }
                // Still full of live entries: drop arbitrary ones (a dropped token is only looked
                // up again), so that the cache never exceeds its capacity.
                while entries.count >= capacity, let any = entries.first { entries[any.key] = nil }
            }
            entries[key] = entry
        }
    }

    private static func key(_ secret: Substring) -> Int {
        var hasher = Hasher()
        let hashed: Void? = secret.utf8.withContiguousStorageIfAvailable { hasher.combine(bytes: UnsafeRawBufferPointer($0)) }
        if hashed == nil {
            for byte in secret.utf8 { hasher.combine(byte) }
        }
        return hasher.finalize()
    }

    /// Whether `stored` and `presented` are the same bytes, in a time that depends only on their
    /// length (which the secret's format fixes), never on where they first differ.
    private static func same(_ stored: [UInt8], _ presented: Substring.UTF8View) -> Bool {
        guard stored.count == presented.count else { return false }
        var difference: UInt8 = 0
        for (a, b) in zip(stored, presented) { difference |= a ^ b }
        return difference == 0
    }
}

/// A token bucket per caller (per token, or per client address without a valid token).
final class RateLimiter: Sendable {
    enum Key: Hashable {
        case token(Int64)
        case address(String)
    }
    private struct Bucket {
        var tokens: Double
        var updated: NIODeadline
    }
    private struct State {
        var buckets: [Key: Bucket] = [:]
        /// No pruning before this: a prune walks every bucket, so it runs at most once a second.
        var nextPrune = NIODeadline.uptimeNanoseconds(0)
    }
    private let state = NIOLockedValueBox(State())
    let limit: RateLimit
    /// Beyond this many buckets, those full again (the same as none) are dropped, at most once a
    /// second.
    private let pruneAbove = 10_000
    /// The most buckets kept at any time.
    private let capacity = 100_000

    init(limit: RateLimit) {
        self.limit = limit
    }

    /// Takes one request from `key`'s bucket: `nil` when allowed, else the seconds until the
    /// next request would be.
    func acquire(_ key: Key, now: NIODeadline = .now()) -> Int? {
        if limit.isOff { return nil }
        return state.withLockedValue { state in
            if state.buckets.count > pruneAbove, now >= state.nextPrune {
                state.nextPrune = now + .seconds(1)
                // A bucket full again is the same as no bucket.
                let full = limit.burst
                state.buckets = state.buckets.filter { refilled($0.value, now: now) < full }
            }
            // Still this many callers mid-burst (many client addresses): drop arbitrary ones rather
            // than grow without bound; a dropped caller only starts with a full bucket again.
            while state.buckets.count >= capacity, state.buckets[key] == nil, let any = state.buckets.first {
                state.buckets[any.key] = nil
            }
            // Callers read the clock before taking the lock: never let a bucket's time go back.
            var bucket = state.buckets[key].map { Bucket(tokens: refilled($0, now: now), updated: max($0.updated, now)) }
                ?? Bucket(tokens: limit.burst, updated: now)
            if bucket.tokens >= 1 {
                bucket.tokens -= 1
                state.buckets[key] = bucket
                return nil
            }
            state.buckets[key] = bucket
            return max(1, Int(((1 - bucket.tokens) / limit.rate).rounded(.up)))
        }
    }

    private func refilled(_ bucket: Bucket, now: NIODeadline) -> Double {
        let seconds = Double(max(0, (now - bucket.updated).nanoseconds)) / 1e9
        return min(limit.burst, bucket.tokens + seconds * limit.rate)
    }
}

/// Authenticates every request but the public ones (`/health/*`, `/metrics`, `/openapi.yaml`)
/// with its `Authorization: Bearer` token, and limits each caller's request rate.
///
/// Every failure is the same 401: the answer never tells a missing token from a malformed,
/// unknown, expired or revoked one.
struct AuthMiddleware: RouterMiddleware {
    typealias Context = StoreRequestContext
    let store: OrderStore
    let settings: AuthSettings
    let cache: TokenCache
    let limiter: RateLimiter

    init(store: OrderStore, settings: AuthSettings) {
        self.store = store
        self.settings = settings
        cache = TokenCache(ttl: settings.tokenCacheTTL)
        limiter = RateLimiter(limit: settings.rateLimit)
    }

    static func isPublic(_ path: String) -> Bool {
        path.hasPrefix("/health/") || path == "/metrics" || path == "/openapi.yaml"
    }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        if Self.isPublic(request.uri.path) { return try await next(request, context) }
        var context = context
        guard settings.enabled else {
            try limit(.address(context.addressKey))
            context.caller = .admin(tokenId: nil)
            return try await next(request, context)
        }
        guard let secret = Self.bearer(request.headers[.authorization]) else {
            try limit(.address(context.addressKey))
            throw Self.unauthorized()
        }
        // One clock reading for the cache and the rate limiter.
        let now = NIODeadline.now()
        if let caller = cache.caller(secret: secret, now: now) {
            context.caller = caller
        } else {
            // A look-up costs the database a statement: bound how often one address can ask.
            try limit(.address(context.addressKey), now: now)
            guard let token = try await store.verifyToken(hash: TokenSecret.hash(secret)) else { throw Self.unauthorized() }
            cache.insert(token, secret: secret)
            context.caller = Caller(token)
        }
        switch context.caller {
        case .admin(let tokenId?): try limit(.token(tokenId), now: now)
        case .customer(_, let tokenId): try limit(.token(tokenId), now: now)
        default: break
        }
        return try await next(request, context)
    }

    /// The token of `Authorization: Bearer <token>`, if the header has that shape and the token
    /// that of a secret.
    ///
    /// Reads the header's bytes without copying or lowercasing it: it runs on every request.
    static func bearer(_ header: String?) -> Substring? {
        guard let header else { return nil }
        let utf8 = header.utf8
        var index = utf8.startIndex
        for expected in "bearer".utf8 {
            guard index != utf8.endIndex else { return nil }
            let byte = utf8[index]
            // ASCII letters only: `| 0x20` lowercases A-Z and leaves a-z as they are.
            guard byte | 0x20 == expected, (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A) else { return nil }
            utf8.formIndex(after: &index)
        }
        guard index != utf8.endIndex, utf8[index] == 0x20 else { return nil }
        while index != utf8.endIndex, utf8[index] == 0x20 { utf8.formIndex(after: &index) }
        let token = header[index...]
        return TokenSecret.isWellFormed(token) ? token : nil
    }

    static func unauthorized() -> APIError {
        Counter(label: "sqlstore_auth_failures_total").increment()
        var error = APIError(.unauthorized, code: "unauthorized", message: "a valid bearer token is required")
        error.headers[.wwwAuthenticate] = #"Bearer realm="sqlstore""#
        return error
    }

    private func limit(_ key: RateLimiter.Key, now: NIODeadline = .now()) throws {
        guard let retryAfter = limiter.acquire(key, now: now) else { return }
        Counter(label: "sqlstore_rate_limited_total", dimensions: [("caller", key.kind)]).increment()
        var error = APIError(
            .tooManyRequests, code: "rate_limited", message: "too many requests: retry after \(retryAfter) s")
        error.headers[.retryAfter] = "\(retryAfter)"
        throw error
    }
}

extension RateLimiter.Key {
    var kind: String {
        switch self {
        case .token: "token"
        case .address: "address"
        }
    }
}

extension StoreRequestContext {
    /// The client's IP address (without the port), the key of its unauthenticated rate limit.
    var addressKey: String {
        remoteAddress?.ipAddress ?? "unknown"
    }
}
