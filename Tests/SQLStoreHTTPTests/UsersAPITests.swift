import HTTPTypes
import HummingbirdTesting
import PostgresNIO
import Testing
import TestSupport

@Suite("API: users")
struct UsersAPITests {
    @Test("POST /users trims the email and answers 201 with every field of a user")
    func createTrimsAndAnswersTheUser() async throws {
        try await TestApplication.run { app in
            let response = try await app.request(.post, "/users", json: #"{"email": " ada@example.com ", "name": "Ada"}"#)
            #expect(response.status == .created)
            let user = try response.decode(UserBody.self)
            #expect(user.email == "ada@example.com" && user.name == "Ada" && user.version == 1 && user.activeOrgId == nil)
            let read = try await app.request(.get, "/users/\(user.id)", expecting: .ok, decoding: UserBody.self)
            #expect(read == user)
        }
    }

    @Test("an email that is taken is 409 duplicate naming the field, and nothing is added")
    func duplicateEmailIsRefused() async throws {
        try await TestApplication.run { app in
            try await app.request(.post, "/users", json: #"{"email": "ada@example.com", "name": "Ada"}"#)
            let again = try await app.request(.post, "/users", json: #"{"email": "ada@example.com", "name": "B"}"#)
            #expect(again.status == .conflict)
            let error = try again.decode(ErrorBody.self)
            #expect(error.code == "duplicate" && error.details.field == "email")
            #expect(try await app.database.scalar("SELECT count(*) FROM users", as: Int.self) == 1)
        }
    }

    @Test("an invalid email is 422 invalid_input; a missing field is 400 invalid_body")
    func invalidUsersAreRefused() async throws {
        try await TestApplication.run { app in
            let invalid = try await app.request(.post, "/users", json: #"{"email": "not-an-email", "name": "B"}"#)
            #expect(invalid.status == .unprocessableContent && invalid.errorCode == "invalid_input")
            let missing = try await app.request(.post, "/users", json: #"{"email": "b@example.com"}"#)
            #expect(missing.status == .badRequest && missing.errorCode == "invalid_body")
            #expect(try await app.database.scalar("SELECT count(*) FROM users", as: Int.self) == 0)
        }
    }

    @Test("GET /users/{id}: an unknown id is 404 not_found; a malformed one is 400")
    func unknownAndMalformedIds() async throws {
        try await TestApplication.run { app in
            let unknown = try await app.request(.get, "/users/999999")
            #expect(unknown.status == .notFound)
            #expect(try unknown.decode(ErrorBody.self).details.resource == "user")
            #expect(try await app.request(.get, "/users/abc").status == .badRequest)
            #expect(try await app.request(.get, "/users/-1").status == .badRequest)
        }
    }

    @Test("GET /users pages by number, with totals; a page that is not a number is 400")
    func usersArePagedByNumber() async throws {
        try await TestApplication.run { app in
            for index in 0..<3 {
                try await app.request(.post, "/users", json: #"{"email": "u\#(index)@example.com", "name": "U"}"#)
            }
            let page = try await app.request(
                .get, "/users?page=2&page_size=2", expecting: .ok, decoding: OffsetPage<UserBody>.self)
            #expect(page.items.map(\.email) == ["u2@example.com"])
            #expect(page.page == 2 && page.pageSize == 2 && page.total == 3 && page.totalPages == 2)
            #expect(try await app.request(.get, "/users?page=x").status == .badRequest)
            #expect(try await app.request(.get, "/users?page=0").errorCode == "invalid_parameter")
        }
    }

    @Test("PATCH /users/{id} with the current version updates and bumps it; a stale version is 409 and changes nothing")
    func optimisticUpdate() async throws {
        try await TestApplication.run { app in
            let user = try await app.request(
                .post, "/users", json: #"{"email": "ada@example.com", "name": "Ada"}"#, expecting: .created, decoding: UserBody.self)
            let renamed = try await app.request(
                .patch, "/users/\(user.id)", json: #"{"version": 1, "name": "Ada L."}"#, expecting: .ok, decoding: UserBody.self)
            #expect(renamed.name == "Ada L." && renamed.version == 2)

            let stale = try await app.request(.patch, "/users/\(user.id)", json: #"{"version": 1, "name": "X"}"#)
            #expect(stale.status == .conflict)
            let error = try stale.decode(ErrorBody.self)
            #expect(error.code == "version_conflict" && error.details.expectedVersion == 1 && error.details.currentVersion == 2)
            let stored = try await app.request(.get, "/users/\(user.id)", expecting: .ok, decoding: UserBody.self)
            #expect(stored == renamed)
        }
    }
}
