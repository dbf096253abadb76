import HTTPTypes
import HummingbirdTesting
import PostgresNIO
import Testing
import TestSupport

@Suite("API: organizations")
struct OrganizationsAPITests {
    @Test("POST /organizations answers 201; a taken slug is 409, a malformed one 422")
    func createOrganizations() async throws {
        try await TestApplication.run { app in
            let acme = try await app.createOrganization("acme")
            #expect(acme.slug == "acme" && acme.version == 1)
            let taken = try await app.request(.post, "/organizations", json: #"{"slug": "acme", "name": "Again"}"#)
            #expect(try taken.status == .conflict && (try taken.decode(ErrorBody.self).details.field) == "slug")
            #expect(try await app.request(.post, "/organizations", json: #"{"slug": "Bad Slug", "name": "B"}"#).status == .unprocessableContent)
            #expect(try await app.database.scalar("SELECT count(*) FROM organizations", as: Int.self) == 1)
        }
    }

    @Test("POST /organizations/{id}/members adds a member with its role; an unknown role is 422")
    func addMembers() async throws {
        try await TestApplication.run { app in
            let user = try await app.createUser()
            let acme = try await app.createOrganization("acme")
            let member = try await app.request(
                .post, "/organizations/\(acme.id)/members", json: #"{"user_id": \#(user.id), "role": "admin"}"#,
                expecting: .created, decoding: MembershipBody.self)
            #expect(member == MembershipBody(organizationId: acme.id, userId: user.id, role: "admin"))
            let king = try await app.request(
                .post, "/organizations/\(acme.id)/members", json: #"{"user_id": \#(user.id), "role": "king"}"#)
            #expect(king.status == .unprocessableContent)
        }
    }

    @Test("adding a user that does not exist is 404 naming the user")
    func addUnknownMember() async throws {
        try await TestApplication.run { app in
            let acme = try await app.createOrganization("acme")
            let missing = try await app.request(
                .post, "/organizations/\(acme.id)/members", json: #"{"user_id": 4040, "role": "member"}"#)
            #expect(try missing.status == .notFound && (try missing.decode(ErrorBody.self).details.resource) == "user")
        }
    }

    @Test("PUT /users/{id}/active-organization is 403 not_a_member for a non-member, and leaves none set")
    func activeOrganizationNeedsMembership() async throws {
        try await TestApplication.run { app in
            let user = try await app.createUser()
            let acme = try await app.createOrganization("acme")
            let refused = try await app.request(
                .put, "/users/\(user.id)/active-organization", json: #"{"organization_id": \#(acme.id)}"#)
            #expect(refused.status == .forbidden && refused.errorCode == "not_a_member")
            #expect(try await app.request(.get, "/users/\(user.id)/active-organization").status == .notFound)
        }
    }

    @Test("a member's active organization is set, read back with its role, and orders are listed for it")
    func activeOrganizationOfAMember() async throws {
        try await TestApplication.run { app in
            let user = try await app.createUser()
            let acme = try await app.createOrganization("acme")
            try await app.request(.post, "/organizations/\(acme.id)/members", json: #"{"user_id": \#(user.id), "role": "admin"}"#)
            let set = try await app.request(
                .put, "/users/\(user.id)/active-organization", json: #"{"organization_id": \#(acme.id)}"#,
                expecting: .ok, decoding: ActiveOrganizationBody.self)
            #expect(set == ActiveOrganizationBody(organizationId: acme.id, slug: "acme", name: "acme", role: "admin"))
            let read = try await app.request(
                .get, "/users/\(user.id)/active-organization", expecting: .ok, decoding: ActiveOrganizationBody.self)
            #expect(read == set)
            let tea = try await app.createProduct("TEA")
            let order = try await app.placeOrder(userId: user.id, [(tea.id, 1)]).decode(OrderBody.self)
            #expect(order.organizationId == acme.id)
            let orders = try await app.request(
                .get, "/organizations/\(acme.id)/orders", expecting: .ok, decoding: CursorPage<OrderBody>.self)
            #expect(orders.items.map(\.id) == [order.id])
        }
    }

    @Test("DELETE of a membership answers 204 and clears the active organization; a second DELETE is 404")
    func removingAMemberClearsItsActiveOrganization() async throws {
        try await TestApplication.run { app in
            let user = try await app.createUser()
            let acme = try await app.createOrganization("acme")
            try await app.request(.post, "/organizations/\(acme.id)/members", json: #"{"user_id": \#(user.id), "role": "member"}"#)
            try await app.request(.put, "/users/\(user.id)/active-organization", json: #"{"organization_id": \#(acme.id)}"#)
            #expect(try await app.request(.delete, "/organizations/\(acme.id)/members/\(user.id)").status == .noContent)
            #expect(try await app.request(.get, "/users/\(user.id)/active-organization").status == .notFound)
            #expect(try await app.request(.delete, "/organizations/\(acme.id)/members/\(user.id)").status == .notFound)
        }
    }
}
