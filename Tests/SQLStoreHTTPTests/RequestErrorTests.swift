import HTTPTypes
import HummingbirdTesting
import PostgresNIO
import SQLStoreHTTP
import Testing
import TestSupport

@Suite("API: malformed requests, unknown routes and methods")
struct RequestErrorTests {
    @Test("malformed or empty JSON is 400 malformed_json; a body that is not an object is 400 invalid_body")
    func malformedBodies() async throws {
        try await TestApplication.run { app in
            #expect(try await app.request(.post, "/users", json: "{not json").errorCode == "malformed_json")
            let empty = try await app.request(.post, "/users", json: "")
            #expect(empty.status == .badRequest && empty.errorCode == "malformed_json")
            let array = try await app.request(.post, "/users", json: "[1]")
            #expect(try array.status == .badRequest && (try array.decode(ErrorBody.self).error) == "the body must be a JSON object")
            let items = try await app.request(.post, "/orders", json: #"{"user_id": 1, "items": 5}"#)
            #expect(try items.decode(ErrorBody.self).error == "field 'items' has the wrong type (expected an array)")
            #expect(try await app.database.scalar("SELECT count(*) FROM users", as: Int.self) == 0)
        }
    }

    @Test("a body over the limit is 413 payload_too_large, and the server goes on answering")
    func oversizedBody() async throws {
        try await TestApplication.run({ $0.server.bodyLimit = 4096 }) { app in
            let big = try await app.request(.post, "/users", json: #"{"name": "\#(String(repeating: "x", count: 10_000))"}"#)
            #expect(big.status == .contentTooLarge && big.errorCode == "payload_too_large")
            _ = try await app.createUser("still@works.io")
        }
    }

    @Test("an unknown path is a JSON 404")
    func unknownRoute() async throws {
        try await TestApplication.run { app in
            let nowhere = try await app.request(.get, "/nowhere")
            #expect(nowhere.status == .notFound && nowhere.errorCode == "not_found")
        }
    }

    @Test("a method a path does not answer is 405 with Allow listing the ones it does")
    func wrongMethod() async throws {
        try await TestApplication.run { app in
            let collection = try await app.request(.delete, "/products")
            #expect(collection.status == .methodNotAllowed && collection.errorCode == "method_not_allowed")
            #expect(collection.headers[.allow] == "GET, HEAD, POST")
            let item = try await app.request(.put, "/orders/7")
            #expect(item.status == .methodNotAllowed && item.headers[.allow] == "GET, HEAD, PATCH")
            #expect(try await app.request(.head, "/health/live").status == .ok)
        }
    }
}

@Suite("API: health and the OpenAPI document")
struct OperationsAPITests {
    @Test("/health/live and /health/ready answer 200 without a token once the schema is current")
    func health() async throws {
        try await TestApplication.run { app in
            let live = try await app.request(.get, "/health/live", as: .anonymous)
            let ready = try await app.request(.get, "/health/ready", as: .anonymous)
            #expect(live.status == .ok && ready.status == .ok)
        }
    }

    @Test("/openapi.yaml serves the document the build ships, without a token")
    func openAPIDocument() async throws {
        try await TestApplication.run { app in
            let document = try await app.request(.get, "/openapi.yaml", as: .anonymous)
            #expect(try document.status == .ok && String(buffer: document.body) == (try OpenAPIDocument.load()))
        }
    }
}
