import Foundation
import HTTPTypes
import Hummingbird
import SQLStore

/// `/organizations`, their members and orders, and a user's active organization.
struct OrganizationController: StoreController {
    let store: OrderStore
    let bodyLimit: Int

    func addRoutes(to router: some RouterMethods<StoreRequestContext>) {
        router.post("/organizations") { request, context in
            try policy.requireAdmin(context)
            let body = try await JSONBody.decode(CreateOrganizationRequest.self, from: request, limit: bodyLimit)
            let organization = try await store.createOrganization(slug: body.slug, name: body.name)
            return try JSONBody.response(OrganizationBody(organization), status: .created)
        }
        router.post("/organizations/:id/members") { request, context in
            let id = try context.id("id")
            let managed = try await policy.managedMemberRoles(in: id, context)
            let body = try await JSONBody.decode(AddMemberRequest.self, from: request, limit: bodyLimit)
            guard let role = MemberRole(rawValue: body.role ?? "member") else {
                throw APIError(
                    .unprocessableContent, code: "invalid_input", message: "role must be one of owner, admin, member",
                    details: ["field": .string("role")])
            }
            guard managed.contains(role) else { throw AccessPolicy.ownerOnly() }
            let membership = try await store.addMember(organizationId: id, userId: body.userId, role: role)
            return try JSONBody.response(MembershipBody(membership), status: .created)
        }
        router.delete("/organizations/:id/members/:user_id") { _, context in
            let (id, userId) = (try context.id("id"), try context.id("user_id"))
            let managed = try await policy.managedMemberRoles(in: id, context)
            // Checked in the DELETE itself: the member's role cannot change between check and removal.
            guard try await store.removeMember(organizationId: id, userId: userId, ifRoleIn: managed) else {
                throw AccessPolicy.ownerOnly()
            }
            return Response(status: .noContent)
        }
        router.get("/organizations/:id/orders") { request, context in
            let id = try context.id("id")
            try await policy.requireOrganizationMember(id, context)
            let page = try await store.orders(
                organizationId: id, limit: try request.query(int: "limit"),
                cursor: request.query(string: "cursor"))
            return try JSONBody.response(CursorPageBody(page) { OrderBody($0, includeItems: false) })
        }
        router.put("/users/:id/active-organization") { request, context in
            let id = try context.id("id")
            try policy.requireUser(id, context)
            let body = try await JSONBody.decode(SetActiveOrganizationRequest.self, from: request, limit: bodyLimit)
            let active = try await store.setActiveOrganization(userId: id, organizationId: body.organizationId)
            return try JSONBody.response(ActiveOrganizationBody(active))
        }
        router.get("/users/:id/active-organization") { _, context in
            let id = try context.id("id")
            try policy.requireUser(id, context)
            return try JSONBody.response(ActiveOrganizationBody(try await store.activeOrganization(userId: id)))
        }
    }
}
