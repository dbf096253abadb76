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
        guard (1...2).contains(parts.count), let rate = Double(parts[0]), rate >= 0, rate.isFinite,
            parts.count == 1 || Double(parts[1]).map({ $0 >= 1 && $0.isFinite }) == true
        else {
            throw ConfigurationError(
                setting: setting, reason: "must be requests per second, optionally /burst (e.g. 1000 or 1000/2000; 0 is off), got '\(text)'")
        }
        self.rate = rate
        self.burst = parts.count == 2 ? Double(parts[1])! : max(1, rate * 2)
    }

    public var isOff: Bool { rate == 0 }
    public var description: String { isOff ? "off" : "\(rate)/s, burst \(burst)" }
}

/// Verified tokens by the SHA-256 of their secret, each trusted for the cache's TTL (or until the
/// token expires, if sooner): a hit costs no database round trip.
final class TokenCache: Sendable {
    private struct Entry {
        let caller: Caller
        let until: NIODeadline
    }
    private let entries = NIOLockedValueBox<[Data: Entry]>([:])
    private let ttl: TimeAmount
    /// Beyond this many entries, expired ones are dropped on insertion.
    private let pruneAbove = 10_000

    init(ttl: Duration) {
        self.ttl = TimeAmount(ttl)
    }

    func caller(hash: Data, now: NIODeadline = .now()) -> Caller? {
        entries.withLockedValue { entries in
            guard let entry = entries[hash] else { return nil }
            guard entry.until > now else {
                entries[hash] = nil
                return nil
            }
            return entry.caller
        }
    }

    func insert(_ token: APIToken, hash: Data, now: NIODeadline = .now()) {
        var until = now + ttl
        if let expiresAt = token.expiresAt {
            let left = expiresAt.timeIntervalSinceNow
            until = min(until, now + .nanoseconds(Int64(max(0, left) * 1e9)))
        }
        let entry = Entry(caller: Caller(token), until: until)
        entries.withLockedValue { entries in
            if entries.count > pruneAbove { entries = entries.filter { $0.value.until > now } }
            entries[hash] = entry
        }
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
    private let buckets = NIOLockedValueBox<[Key: Bucket]>([:])
    let limit: RateLimit
    private let pruneAbove = 10_000

    init(limit: RateLimit) {
        self.limit = limit
    }

    /// Takes one request from `key`'s bucket: `nil` when allowed, else the seconds until the
    /// next request would be.
    func acquire(_ key: Key, now: NIODeadline = .now()) -> Int? {
        if limit.isOff { return nil }
        return buckets.withLockedValue { buckets in
            if buckets.count > pruneAbove {
                // A bucket full again is the same as no bucket.
                let full = limit.burst
                buckets = buckets.filter { refilled($0.value, now: now) < full }
            }
            var bucket = buckets[key].map { Bucket(tokens: refilled($0, now: now), updated: now) }
                ?? Bucket(tokens: limit.burst, updated: now)
            if bucket.tokens >= 1 {
                bucket.tokens -= 1
                buckets[key] = bucket
                return nil
            }
            buckets[key] = bucket
            return max(1, Int(((1 - bucket.tokens) / limit.rate).rounded(.up)))
        }
    }

    private func refilled(_ bucket: Bucket, now: NIODeadline) -> Double {
        let seconds = Double((now - bucket.updated).nanoseconds) / 1e9
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
        let hash = TokenSecret.hash(secret)
        if let caller = cache.caller(hash: hash) {
            context.caller = caller
        } else {
            // A look-up costs the database a statement: bound how often one address can ask.
            try limit(.address(context.addressKey))
            guard let token = try await store.verifyToken(hash: hash) else { throw Self.unauthorized() }
            cache.insert(token, hash: hash)
            context.caller = Caller(token)
        }
        switch context.caller {
        case .admin(let tokenId?): try limit(.token(tokenId))
        case .customer(_, let tokenId): try limit(.token(tokenId))
        default: break
        }
        return try await next(request, context)
    }

    /// The token of `Authorization: Bearer <token>`, if the header has that shape and the token
    /// that of a secret.
    static func bearer(_ header: String?) -> Substring? {
        guard let header, header.count > 7 else { return nil }
        let scheme = header.prefix(7)
        guard scheme.lowercased() == "bearer " else { return nil }
        let token = header.dropFirst(7).drop { $0 == " " }
        return TokenSecret.isWellFormed(token) ? token : nil
    }

    static func unauthorized() -> APIError {
        Counter(label: "sqlstore_auth_failures_total").increment()
        var error = APIError(.unauthorized, code: "unauthorized", message: "a valid bearer token is required")
        error.headers[.wwwAuthenticate] = #"Bearer realm="sqlstore""#
        return error
    }

    private func limit(_ key: RateLimiter.Key) throws {
        guard let retryAfter = limiter.acquire(key) else { return }
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
