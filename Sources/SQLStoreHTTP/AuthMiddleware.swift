import Foundation
import HTTPTypes
import Hummingbird
import Logging
import Metrics
import Synchronization
import NIOCore
import SQLStore

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
    /// Customer tokens, and client addresses without a valid token.
    let limiter: RateLimiter
    /// Admin tokens, and client addresses when authentication is off.
    let adminLimiter: RateLimiter

    /// - Parameter cache: shared with the routes that revoke tokens, so that a revocation through
    ///   this instance takes effect on it at once.
    init(store: OrderStore, settings: AuthSettings, cache: TokenCache) {
        self.store = store
        self.settings = settings
        self.cache = cache
        limiter = RateLimiter(limit: settings.rateLimit)
        adminLimiter = RateLimiter(limit: settings.adminRateLimit)
    }

    /// Exactly these paths: anything else under `/health/` is as private as any unknown path.
    static let publicPaths: Set<String> = ["/health/live", "/health/ready", "/metrics", "/openapi.yaml"]

    static func isPublic(_ path: String) -> Bool {
        publicPaths.contains(path)
    }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        if Self.isPublic(request.uri.path) { return try await next(request, context) }
        var context = context
        guard settings.enabled else {
            try limit(.address(context.addressKey), on: adminLimiter)
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
            // A look-up costs the database a statement: an address whose requests without a valid
            // token used up its bucket is refused before asking. Only a failed look-up takes from
            // it, so that valid tokens forwarded by one proxy never use up each other's share.
            let address = RateLimiter.Key.address(context.addressKey)
            if let retryAfter = limiter.available(address, now: now) { throw Self.rateLimited(address, retryAfter: retryAfter) }
            // A token of no shape this server knows (an unknown role, a role without its user) is
            // refused like an unknown one, and never cached.
            guard let token = try await store.verifyToken(hash: TokenSecret.hash(secret)), let caller = Caller(token) else {
                _ = limiter.acquire(address, now: now)
                throw Self.unauthorized()
            }
            cache.insert(caller, secret: secret, expiresAt: token.expiresAt, now: now)
            context.caller = caller
        }
        switch context.caller {
        case .admin(let tokenId?): try limit(.token(tokenId), on: adminLimiter, now: now)
        case .customer(_, let tokenId): try limit(.token(tokenId), now: now)
        case .admin(tokenId: .none), .none: break  // authentication off: limited by address above
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

    /// Takes one request from `key`'s bucket in `limiter` (by default the customers' and
    /// addresses'), or throws 429.
    private func limit(_ key: RateLimiter.Key, on limiter: RateLimiter? = nil, now: NIODeadline = .now()) throws {
        guard let retryAfter = (limiter ?? self.limiter).acquire(key, now: now) else { return }
        throw Self.rateLimited(key, retryAfter: retryAfter)
    }

    /// The 429, counted in `/metrics` by kind of caller.
    static func rateLimited(_ key: RateLimiter.Key, retryAfter: Int) -> APIError {
        Counter(label: "sqlstore_rate_limited_total", dimensions: [("caller", key.kind)]).increment()
        var error = APIError(
            .tooManyRequests, code: "rate_limited", message: "too many requests: retry after \(retryAfter) s")
        error.headers[.retryAfter] = "\(retryAfter)"
        return error
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
