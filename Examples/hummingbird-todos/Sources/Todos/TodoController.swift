import Foundation
import Hummingbird
import Logging
import PostgresNIO

struct Todo: ResponseCodable {
    let id: Int64
    let title: String
    let done: Bool
}

struct NewTodo: Decodable {
    let title: String
}

/// `/todos`: create, list and read to-dos, each handler one query on the pool.
struct TodoController {
    let client: PostgresClient
    let logger: Logger

    func addRoutes(to group: RouterGroup<BasicRequestContext>) {
        group.post(use: create)
        group.get(use: list)
        group.get(":id", use: show)
    }

    @Sendable func create(request: Request, context: BasicRequestContext) async throws -> EditedResponse<Todo> {
        let new = try await request.decode(as: NewTodo.self, context: context)
        let title = new.title.trimmingCharacters(in: .whitespacesAndNewlines)
        guard (1...200).contains(title.count) else {
            throw HTTPError(.badRequest, message: "title must be 1 to 200 characters")
        }
        let rows = try await client.query(
            "INSERT INTO todos (title) VALUES (\(title)) RETURNING id, title, done", logger: logger)
        for try await (id, title, done) in rows.decode((Int64, String, Bool).self) {
            return EditedResponse(status: .created, response: Todo(id: id, title: title, done: done))
        }
        throw HTTPError(.internalServerError)
    }

    @Sendable func list(request: Request, context: BasicRequestContext) async throws -> [Todo] {
        var todos: [Todo] = []
        let rows = try await client.query("SELECT id, title, done FROM todos ORDER BY id LIMIT 100", logger: logger)
        for try await (id, title, done) in rows.decode((Int64, String, Bool).self) {
            todos.append(Todo(id: id, title: title, done: done))
        }
        return todos
    }

    @Sendable func show(request: Request, context: BasicRequestContext) async throws -> Todo {
        guard let id = context.parameters.get("id", as: Int64.self) else {
            throw HTTPError(.badRequest, message: "id must be a number")
        }
        let rows = try await client.query("SELECT id, title, done FROM todos WHERE id = \(id)", logger: logger)
        for try await (id, title, done) in rows.decode((Int64, String, Bool).self) {
            return Todo(id: id, title: title, done: done)
        }
        throw HTTPError(.notFound, message: "no to-do \(id)")
    }
}
