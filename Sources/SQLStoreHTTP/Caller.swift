import Hummingbird
import NIOCore
import SQLStore

/// Who is calling, once the bearer token is verified.
public enum Caller: Sendable, Hashable {
    /// The back office: may do everything. `tokenId` is `nil` when authentication is off.
    case admin(tokenId: Int64?)
    /// One customer, bound to its user.
    case customer(userId: Int64, tokenId: Int64)

    /// The caller a stored token speaks for, or `nil` (refused as 401) for any token that is not
    /// exactly one of the two shapes: an admin token without a user, a customer token with one.
    ///
    /// Fails closed: the table's check constraint forbids other shapes, but a role added later, or
    /// a constraint dropped by hand, must never be read as an admin.
    init?(_ token: APIToken) {
        switch (token.role, token.userId) {
        case (.admin, nil): self = .admin(tokenId: token.id)
        case (.customer, let userId?): self = .customer(userId: userId, tokenId: token.id)
        case (.admin, _?), (.customer, nil): return nil
        }
    }

    /// The verified token's id; `nil` when authentication is off.
    var tokenId: Int64? {
        switch self {
        case .admin(let tokenId): tokenId
        case .customer(_, let tokenId): tokenId
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
