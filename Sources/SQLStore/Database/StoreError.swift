import PostgresNIO
import SQLStoreMigrations

/// Everything the store refuses or cannot do, typed so that callers never read database text
/// and never match on strings: resources and unique keys are enums the compiler checks.
public enum StoreError: Error, Sendable, Equatable, CustomStringConvertible {
    /// What a refusal is about.
    public enum Resource: String, Sendable, CaseIterable {
        case user, product, order, organization, membership, token
        case activeOrganization = "active organization"
    }

    /// A value that must be unique, one per unique constraint of the schema.
    public enum UniqueKey: String, Sendable, CaseIterable {
        case email, sku, slug, membership
        case idempotencyKey = "idempotency_key"
    }

    /// No `resource` with that identifier.
    case notFound(resource: Resource, id: String)
    /// A unique value is taken.
    case duplicate(UniqueKey)
    /// The row changed since the caller read it (optimistic locking).
    case versionConflict(resource: Resource, id: Int64, expected: Int32, current: Int32)
    /// Not enough stock for these products; the order was not placed.
    case insufficientStock([StockShortage])
    /// The order's status cannot change that way.
    case illegalTransition(from: OrderStatus, to: OrderStatus)
    /// A value in the request's body is well-formed but not acceptable; `field` names it as the
    /// API does.
    case invalidInput(field: String, reason: String)
    /// A query parameter (e.g. `page`) is out of its range.
    case invalidParameter(name: String, reason: String)
    /// A page cursor that this list did not issue, or that was edited.
    case invalidCursor
    /// The user is not a member of the organization.
    case notMember(userId: Int64, organizationId: Int64)
    /// The idempotency key was used before with a different request.
    case idempotencyKeyReused(key: String)
    /// The row is locked by another transaction and the operation does not wait (NOWAIT).
    case busy(resource: Resource, id: Int64)
    /// The operation conflicts with other data (e.g. an organization that still has orders).
    case conflict(reason: String)
    /// PostgreSQL is unreachable, or retries ran out: try again later.
    case unavailable(reason: String)

    public var description: String {
        switch self {
        case .notFound(let resource, let id): return "\(resource.rawValue) \(id) not found"
        case .duplicate(let key): return "that \(key.rawValue) is already taken"
        case .versionConflict(let resource, let id, let expected, let current):
            return "\(resource.rawValue) \(id) is at version \(current), not \(expected): it changed since it was read"
        case .insufficientStock(let shortages):
            return "insufficient stock for "
                + shortages.map { "product \($0.productId) (requested \($0.requested), available \($0.available))" }
                .joined(separator: ", ")
        case .illegalTransition(let from, let to): return "an order cannot go from \(from.rawValue) to \(to.rawValue)"
        case .invalidInput(let field, let reason): return "\(field): \(reason)"
        case .invalidParameter(let name, let reason): return "\(name): \(reason)"
        case .invalidCursor: return "cursor: is not a cursor this list issued"
        case .notMember(let user, let organization): return "user \(user) is not a member of organization \(organization)"
        case .idempotencyKeyReused(let key): return "idempotency key '\(key)' was used with a different request"
        case .busy(let resource, let id): return "\(resource.rawValue) \(id) is being changed by another request; retry"
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
        guard let psql = PSQLError(unwrapping: error) else { return nil }
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

/// The pool refused a lease without a PostgreSQL error. After failing to connect for a while,
/// PostgresNIO's pool trips a circuit breaker and fails leases at once with
/// `ConnectionPoolError.connectionCreationCircuitBreakerTripped`, which `PostgresClient` passes
/// through unmapped (it maps only shutdown and cancellation to `PSQLError`; PostgresClient.swift,
/// `mapToPSQLError`). That type lives in the underscored `_ConnectionPoolModule`, so rather than
/// import it, ``OrderStore/withConnection(_:)`` recognises the failure by where it happened:
/// before the pool handed out a connection.
struct PoolRefusal: Error {
    let underlying: any Error
}

/// A refusal by one of the schema's constraints that only the statement's caller can turn into
/// a ``StoreError``, because only it knows the identifiers involved. It never leaves the store:
/// every statement that can raise one catches it.
enum ConstraintViolation: Error, Equatable {
    /// A foreign key found no row of `resource`.
    case missingReference(StoreError.Resource)
    /// `products_stock_quantity_check`: a stock would go below zero.
    case stockBelowZero
    /// `set_user_active_org` refused (SQLSTATE SQ403): not a member, or no such user or organization.
    case notAMember
}

extension StoreError {
    /// Classifies what PostgreSQL said into the store's vocabulary, once, by SQLSTATE and
    /// constraint name: a ``StoreError``, a ``ConstraintViolation`` for the caller to complete,
    /// or, when unrecognised, the error unchanged (a bug to be logged).
    static func classify(_ error: any Error) -> any Error {
        if error is StoreError || error is ConstraintViolation { return error }
        // An error thrown inside a transaction's body arrives wrapped.
        if let transaction = error as? PostgresTransactionError,
            let inner = transaction.closureError, inner is StoreError || inner is ConstraintViolation
        {
            return inner
        }
        if error is PoolRefusal {
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
        // Validation catches these first, except an order's total beyond NUMERIC(10,2). The
        // statement cannot say which field was at fault, so the API names the kind of value
        // (openapi.yaml, FieldDetails): `amount` for a number, `text` for a string.
        case "22003": return StoreError.invalidInput(field: "amount", reason: "a number is out of range")
        case "22001": return StoreError.invalidInput(field: "text", reason: "a value is too long")
        case "22021", "22P05": return StoreError.invalidInput(field: "text", reason: "contains characters PostgreSQL cannot store")
        case "SQ403": return ConstraintViolation.notAMember
        default: break
        }
        guard let constraint = failure.constraint.flatMap(SchemaConstraint.init(rawValue:)) else { return error }
        return constraint.refusal
    }
}

/// The schema's named constraints that a request can run into, each with what it means.
enum SchemaConstraint: String {
    case usersEmailKey = "users_email_key"
    case productsSkuKey = "products_sku_key"
    case organizationsSlugKey = "organizations_slug_key"
    case organizationMembersPkey = "organization_members_pkey"
    case idempotencyKeysPkey = "idempotency_keys_pkey"
    case productsStockQuantityCheck = "products_stock_quantity_check"
    case ordersUserIdFkey = "orders_user_id_fkey"
    case organizationMembersUserIdFkey = "organization_members_user_id_fkey"
    case organizationMembersOrganizationIdFkey = "organization_members_organization_id_fkey"
    case orderItemsProductIdFkey = "order_items_product_id_fkey"
    case ordersOrganizationIdFkey = "orders_organization_id_fkey"
    case organizationsSlugCheck = "organizations_slug_check"

    var refusal: any Error {
        switch self {
        case .usersEmailKey: StoreError.duplicate(.email)
        case .productsSkuKey: StoreError.duplicate(.sku)
        case .organizationsSlugKey: StoreError.duplicate(.slug)
        case .organizationMembersPkey: StoreError.duplicate(.membership)
        case .idempotencyKeysPkey: StoreError.duplicate(.idempotencyKey)
        case .productsStockQuantityCheck: ConstraintViolation.stockBelowZero
        case .ordersUserIdFkey, .organizationMembersUserIdFkey: ConstraintViolation.missingReference(.user)
        case .organizationMembersOrganizationIdFkey: ConstraintViolation.missingReference(.organization)
        case .orderItemsProductIdFkey: ConstraintViolation.missingReference(.product)
        case .ordersOrganizationIdFkey: StoreError.conflict(reason: "the organization has orders")
        case .organizationsSlugCheck:
            StoreError.invalidInput(field: "slug", reason: "lower-case letters, digits and single hyphens")
        }
    }
}
