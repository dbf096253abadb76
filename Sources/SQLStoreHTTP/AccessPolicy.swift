import Hummingbird
import SQLStore

/// Who may do what (docs/security.md has the whole matrix). Admins may do everything; a customer
/// only what concerns its own user, its own orders, and the organizations it belongs to. Another
/// user's objects answer 404, as if they did not exist, so that ids cannot be probed; routes that
/// are never for a customer answer 403.
///
/// The store knows nothing of callers: the decisions are made here, on the store's answers.
struct AccessPolicy {
    let store: OrderStore

    static func forbidden(_ message: String = "this token may not do that") -> APIError {
        APIError(.forbidden, code: "forbidden", message: message)
    }

    static func notFound(_ resource: StoreError.Resource, _ id: Int64) -> APIError {
        APIError(StoreError.notFound(resource: resource, id: "\(id)"))
    }

    /// Only an admin: anything else is 403.
    func requireAdmin(_ context: StoreRequestContext) throws {
        guard case .admin = context.caller else { throw Self.forbidden() }
    }

    /// An admin, or the customer whose user this is (another user's is 404).
    func requireUser(_ userId: Int64, _ context: StoreRequestContext) throws {
        switch context.caller {
        case .admin: return
        case .customer(let own, _) where own == userId: return
        case .customer: throw Self.notFound(.user, userId)
        case nil: throw Self.forbidden()
        }
    }

    /// The order, if the caller may see it: an admin any, a customer its own (another's is 404).
    func visibleOrder(_ orderId: Int64, _ context: StoreRequestContext) async throws -> Order {
        switch context.caller {
        case .admin: return try await store.order(id: orderId)
        case .customer(let own, _):
            let order = try await store.order(id: orderId)
            guard order.userId == own else { throw Self.notFound(.order, orderId) }
            return order
        case nil: throw Self.forbidden()
        }
    }

    /// The user an order is placed for: an admin names any; a customer only itself, or none.
    func orderUser(_ requested: Int64?, _ context: StoreRequestContext) throws -> Int64 {
        switch context.caller {
        case .admin:
            // The body is well-formed (a customer may omit the field): a value missing for this caller.
            guard let requested else {
                throw APIError(
                    .unprocessableContent, code: "invalid_input", message: "user_id is required with an admin token",
                    details: ["field": .string("user_id")])
            }
            return requested
        case .customer(let own, _):
            guard requested == nil || requested == own else {
                throw Self.forbidden("a customer token places orders for its own user only")
            }
            return own
        case nil: throw Self.forbidden()
        }
    }

    /// An admin may move an order anywhere the lifecycle allows; a customer may only cancel its
    /// own (the store refuses a cancellation once shipped).
    func requireTransition(of orderId: Int64, to status: OrderStatus, _ context: StoreRequestContext) async throws {
        guard case .customer = context.caller else { return try requireAdmin(context) }
        _ = try await visibleOrder(orderId, context)
        guard status == .cancelled else { throw Self.forbidden("a customer token may only cancel an order") }
    }

    /// Managing an organization's members: which member roles the caller may grant and remove.
    ///
    /// Roles are ranked: an admin token and the organization's owners manage every role, owner
    /// included; the organization's admins manage members and admins, never an owner (they may
    /// not add one, nor remove or demote one). A plain member gets 403, a non-member 404.
    func managedMemberRoles(in organizationId: Int64, _ context: StoreRequestContext) async throws -> Set<MemberRole> {
        switch context.caller {
        case .admin: return Set(MemberRole.allCases)
        case .customer(let own, _):
            switch try await store.membershipRole(organizationId: organizationId, userId: own) {
            case .owner: return Set(MemberRole.allCases)
            case .admin: return [.admin, .member]
            case .member: throw Self.forbidden("only an owner or admin of the organization may manage its members")
            case nil: throw Self.notFound(.organization, organizationId)
            }
        case nil: throw Self.forbidden()
        }
    }

    /// The refusal of a membership change above the caller's rank (see ``managedMemberRoles(in:_:)``).
    static func ownerOnly() -> APIError {
        forbidden("only an owner of the organization may add, remove or demote an owner")
    }

    /// Reading an organization's orders: an admin, or any member of it (a non-member gets 404).
    func requireOrganizationMember(_ organizationId: Int64, _ context: StoreRequestContext) async throws {
        switch context.caller {
        case .admin: return
        case .customer(let own, _):
            guard try await store.membershipRole(organizationId: organizationId, userId: own) != nil else {
                throw Self.notFound(.organization, organizationId)
            }
        case nil: throw Self.forbidden()
        }
    }
}
