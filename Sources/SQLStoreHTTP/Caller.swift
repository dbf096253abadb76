import Hummingbird
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
