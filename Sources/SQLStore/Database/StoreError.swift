import PostgresNIO
import _ConnectionPoolModule

/// Everything the store refuses or cannot do, typed so that callers never read database text.
public enum StoreError: Error, Sendable, Equatable, CustomStringConvertible {
    /// No `resource` with that identifier.
    case notFound(resource: String, id: String)
    /// A unique value is taken: `field` (email, sku, slug, membership, idempotency_key).
    case duplicate(field: String)
    /// The row changed since the caller read it (optimistic locking).
    case versionConflict(resource: String, id: Int64, expected: Int32, current: Int32)
    /// Not enough stock for these products; the order was not placed.
    case insufficientStock([StockShortage])
    /// The order's status cannot change that way.
    case illegalTransition(from: OrderStatus, to: OrderStatus)
    /// A value is well-formed but not acceptable.
    case invalidInput(field: String, reason: String)
    /// The user is not a member of the organization.
    case notMember(userId: Int64, organizationId: Int64)
    /// The idempotency key was used before with a different request.
    case idempotencyKeyReused(key: String)
    /// The row is locked by another transaction and the operation does not wait (NOWAIT).
    case busy(resource: String, id: Int64)
    /// The operation conflicts with other data (e.g. an organization that still has orders).
    case conflict(reason: String)
    /// PostgreSQL is unreachable, or retries ran out: try again later.
    case unavailable(reason: String)

    public var description: String {
        switch self {
        case .notFound(let resource, let id): return "\(resource) \(id) not found"
        case .duplicate(let field): return "that \(field) is already taken"
        case .versionConflict(let resource, let id, let expected, let current):
            return "\(resource) \(id) is at version \(current), not \(expected): it changed since it was read"
        case .insufficientStock(let shortages):
            return "insufficient stock for "
                + shortages.map { "product \($0.productId) (requested \($0.requested), available \($0.available))" }
                .joined(separator: ", ")
        case .illegalTransition(let from, let to): return "an order cannot go from \(from.rawValue) to \(to.rawValue)"
        case .invalidInput(let field, let reason): return "\(field): \(reason)"
        case .notMember(let user, let organization): return "user \(user) is not a member of organization \(organization)"
        case .idempotencyKeyReused(let key): return "idempotency key '\(key)' was used with a different request"
        case .busy(let resource, let id): return "\(resource) \(id) is being changed by another request; retry"
        case .conflict(let reason): return reason
        case .unavailable(let reason): return "the database is unavailable: \(reason)"
        }
    }
}

public struct StockShortage: Sendable, Equatable, Codable {
    public let productId: Int64
    public let requested: Int
    public let available: Int

    public init(productId: Int64, requested: Int, available: Int) {
        self.productId = productId
        self.requested = requested
        self.available = available
    }
}

/// The fields of a PostgreSQL error, read once from PostgresNIO's typed errors.
struct DatabaseFailure {
    let sqlState: String?
    let constraint: String?
    let isConnectionFailure: Bool

    init?(_ error: any Error) {
        var underlying: any Error = error
        if let transaction = error as? PostgresTransactionError {
            underlying = transaction.closureError ?? transaction.commitError ?? transaction.beginError ?? error
        }
        guard let psql = underlying as? PSQLError else { return nil }
        sqlState = psql.serverInfo?[.sqlState]
        constraint = psql.serverInfo?[.constraintName]
        // Only lost or refused connections mean "unavailable"; other client-side errors are bugs.
        // An unexpected backend message counts as lost: PostgresNIO reports so a FATAL that arrives
        // between a statement's CommandComplete and ReadyForQuery (pg_terminate_backend, a
        // shutdown), hides its SQLSTATE, and closes the connection. Whether the statement's
        // implicit commit happened is unknown, as for any connection lost at that moment.
        let connectionCodes: [PSQLError.Code] = [
            .connectionError, .serverClosedConnection, .clientClosedConnection, .uncleanShutdown, .poolClosed,
            .sslUnsupported, .failedToAddSSLHandler, .unexpectedBackendMessage,
        ]
        isConnectionFailure = connectionCodes.contains(psql.code)
    }

    /// Serialization failure, deadlock, lock timeout: the transaction may succeed if run again.
    var isRetryable: Bool { ["40001", "40P01", "55P03"].contains(sqlState ?? "") }
}

extension StoreError {
    /// Classifies what PostgreSQL said into the store's vocabulary, once, by SQLSTATE and
    /// constraint name. Anything unrecognised is returned unchanged (a bug to be logged).
    static func classify(_ error: any Error) -> any Error {
        if error is StoreError { return error }
        // A StoreError thrown inside a transaction's body arrives wrapped.
        if let transaction = error as? PostgresTransactionError, let inner = transaction.closureError as? StoreError {
            return inner
        }
        // After failing to connect for a minute the pool's circuit breaker refuses leases at once,
        // with its own error type rather than a PSQLError.
        if error is ConnectionPoolError || (error as? PostgresTransactionError)?.beginError is ConnectionPoolError {
            return StoreError.unavailable(reason: "PostgreSQL has been unreachable; connection attempts keep failing")
        }
        guard let failure = DatabaseFailure(error) else { return error }
        if failure.isConnectionFailure { return StoreError.unavailable(reason: "no connection to PostgreSQL") }
        switch failure.sqlState {
        case "40001", "40P01", "55P03": return StoreError.unavailable(reason: "contention persisted after retries")
        case "57014": return StoreError.unavailable(reason: "a statement timed out")
        // A write reached a server that is read-only: a standby, or the old primary of a failover
        // restarted read-only before Patroni demotes or promotes it, while a proxy still routes
        // to it. The next attempt reaches the new primary.
        case "25006": return StoreError.unavailable(reason: "PostgreSQL is read-only (a failover in progress?)")
        // Whole classes: connection exception, insufficient resources, operator intervention
        // (terminated, shutting down, starting up), system error. None is the request's fault.
        case let state? where ["08", "53", "57", "58"].contains(state.prefix(2)):
            return StoreError.unavailable(reason: "PostgreSQL is not accepting work")
        // Validation catches these first; the fallbacks cannot know which field was at fault.
        case "22003": return StoreError.invalidInput(field: "request", reason: "a number is out of range")
        case "22001": return StoreError.invalidInput(field: "request", reason: "a value is too long")
        case "22021", "22P05": return StoreError.invalidInput(field: "request", reason: "contains characters PostgreSQL cannot store")
        case "SQ403": return StoreError.invalidInput(field: "organization_id", reason: "not a member")
        default: break
        }
        switch failure.constraint {
        case "users_email_key": return StoreError.duplicate(field: "email")
        case "products_sku_key": return StoreError.duplicate(field: "sku")
        case "organizations_slug_key": return StoreError.duplicate(field: "slug")
        case "organization_members_pkey": return StoreError.duplicate(field: "membership")
        case "idempotency_keys_pkey": return StoreError.duplicate(field: "idempotency_key")
        case "products_stock_quantity_check": return StoreError.invalidInput(field: "stock_quantity", reason: "would go negative")
        case "orders_user_id_fkey", "organization_members_user_id_fkey": return StoreError.notFound(resource: "user", id: "")
        case "organization_members_organization_id_fkey": return StoreError.notFound(resource: "organization", id: "")
        case "order_items_product_id_fkey": return StoreError.notFound(resource: "product", id: "")
        case "orders_organization_id_fkey": return StoreError.conflict(reason: "the organization has orders")
        case "organizations_slug_check":
            return StoreError.invalidInput(field: "slug", reason: "lower-case letters, digits and single hyphens")
        default: return error
        }
    }
}
