import Foundation
import HTTPTypes
import Hummingbird
import Logging
import Metrics
import NIOCore
import SQLStore

/// An error as the API reports it: `{"error": "...", "code": "...", "details": {...}}`.
public struct APIError: HTTPResponseError, Sendable {
    public let status: HTTPResponse.Status
    public let code: String
    public let message: String
    public let details: [String: JSONValue]
    var headers: HTTPFields = [:]

    public init(_ status: HTTPResponse.Status, code: String, message: String, details: [String: JSONValue] = [:]) {
        self.status = status
        self.code = code
        self.message = message
        self.details = details
    }

    struct Body: Encodable {
        let error: String
        let code: String
        let details: [String: JSONValue]
    }

    public func response(from request: Request, context: some RequestContext) throws -> Response {
        var response = try JSONBody.response(Body(error: message, code: code, details: details), status: status)
        response.headers.append(contentsOf: headers)
        return response
    }

    static func badRequest(_ message: String, code: String = "invalid_parameter", field: String? = nil) -> APIError {
        APIError(.badRequest, code: code, message: message, details: field.map { ["field": .string($0)] } ?? [:])
    }

    /// The store's refusals, each with the status and code of SPEC section 4.
    init(_ error: StoreError) {
        switch error {
        case .notFound(let resource, _):
            self.init(
                .notFound, code: "not_found", message: error.description, details: ["resource": .string(resource.rawValue)])
        case .duplicate(let key):
            self.init(.conflict, code: "duplicate", message: error.description, details: ["field": .string(key.rawValue)])
        case .versionConflict(_, _, let expected, let current):
            self.init(
                .conflict, code: "version_conflict", message: error.description,
                details: ["expected_version": .int(Int(expected)), "current_version": .int(Int(current))])
        case .insufficientStock(let shortages):
            self.init(
                .conflict, code: "insufficient_stock", message: error.description,
                details: [
                    "products": .array(
                        shortages.map {
                            .object([
                                "product_id": .int(Int($0.productId)), "requested": .int($0.requested),
                                "available": .int($0.available),
                            ])
                        })
                ])
        case .illegalTransition(let from, let to):
            self.init(
                .conflict, code: "illegal_transition", message: error.description,
                details: ["from": .string(from.rawValue), "to": .string(to.rawValue)])
        case .invalidCursor:
            self.init(.badRequest, code: "invalid_cursor", message: error.description, details: ["field": .string("cursor")])
        case .invalidParameter(let name, _):
            self.init(.badRequest, code: "invalid_parameter", message: error.description, details: ["field": .string(name)])
        case .invalidInput(let field, _):
            self.init(.unprocessableContent, code: "invalid_input", message: error.description, details: ["field": .string(field)])
        case .notMember:
            self.init(.forbidden, code: "not_a_member", message: error.description)
        case .idempotencyKeyReused:
            self.init(.unprocessableContent, code: "idempotency_key_reused", message: error.description)
        case .busy:
            var busy = APIError(.conflict, code: "busy", message: error.description)
            busy.headers[.retryAfter] = "1"
            self = busy
        case .conflict:
            self.init(.conflict, code: "conflict", message: error.description)
        case .unavailable:
            var unavailable = APIError(.serviceUnavailable, code: "unavailable", message: error.description)
            unavailable.headers[.retryAfter] = "1"
            self = unavailable
        }
    }
}

/// A JSON value for error details.
public enum JSONValue: Encodable, Sendable, Equatable {
    case string(String), int(Int), array([JSONValue]), object([String: JSONValue])

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .string(let value): try container.encode(value)
        case .int(let value): try container.encode(value)
        case .array(let value): try container.encode(value)
        case .object(let value): try container.encode(value)
        }
    }
}

/// Turns every error into the API's JSON error body, so no database text ever reaches a client;
/// anything unexpected is a bug: a 500, logged at error level with the request id.
struct ErrorMiddleware<Context: RequestContext>: RouterMiddleware {
    let routes: RouteTable

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as APIError {
            return try error.response(from: request, context: context)
        } catch let error as StoreError {
            let apiError = APIError(error)
            if apiError.status == .serviceUnavailable {
                context.logger.warning("database unavailable", metadata: ["error": "\(error)"])
            }
            if apiError.status == .conflict {
                Counter(label: "sqlstore_conflicts_total", dimensions: [("code", apiError.code)]).increment()
            }
            return try apiError.response(from: request, context: context)
        } catch is NIOTooManyBytesError {
            return try APIError(.contentTooLarge, code: "payload_too_large", message: "the request body is too large")
                .response(from: request, context: context)
        } catch let error as HTTPError where error.status == .notFound {
            let allowed = routes.allowedMethods(for: request.uri.path)
            guard !allowed.isEmpty else {
                return try APIError(.notFound, code: "not_found", message: "no route for \(request.method) \(request.uri.path)")
                    .response(from: request, context: context)
            }
            let names = allowed.map(\.rawValue).joined(separator: ", ")
            var notAllowed = APIError(
                .methodNotAllowed, code: "method_not_allowed",
                message: "\(request.uri.path) does not answer \(request.method); it answers \(names)")
            notAllowed.headers[.allow] = names
            return try notAllowed.response(from: request, context: context)
        } catch {
            context.logger.error(
                "unexpected error: a bug", metadata: ["error": "\(String(reflecting: error))", "path": "\(request.uri.path)"])
            return try APIError(.internalServerError, code: "internal", message: "internal error (request \(context.id))")
                .response(from: request, context: context)
        }
    }
}
