import Foundation
import HTTPTypes
import Hummingbird
import SQLStore

/// `/users` and `/users/{id}`: customers, created and listed by admins, read and updated by themselves.
struct UserController: StoreController {
    let store: OrderStore
    let bodyLimit: Int

    func addRoutes(to router: some RouterMethods<StoreRequestContext>) {
        router.post("/users") { request, context in
            try policy.requireAdmin(context)
            let body = try await JSONBody.decode(CreateUserRequest.self, from: request, limit: bodyLimit)
            return try JSONBody.response(UserBody(try await store.createUser(email: body.email, name: body.name)), status: .created)
        }
        router.get("/users") { request, context in
            try policy.requireAdmin(context)
            let page = try await store.users(page: try request.query(int: "page"), pageSize: try request.query(int: "page_size"))
            return try JSONBody.response(OffsetPageBody(page, UserBody.init))
        }
        router.get("/users/:id") { _, context in
            let id = try context.id("id")
            try policy.requireUser(id, context)
            return try JSONBody.response(UserBody(try await store.user(id: id)))
        }
        router.patch("/users/:id") { request, context in
            let id = try context.id("id")
            try policy.requireUser(id, context)
            let body = try await JSONBody.decode(UpdateUserRequest.self, from: request, limit: bodyLimit)
            let user = try await store.updateUser(id: id, version: body.version, email: body.email, name: body.name)
            return try JSONBody.response(UserBody(user))
        }
    }
}
