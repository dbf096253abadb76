import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// JSON in and out: snake_case keys, RFC 3339 UTC timestamps.
enum JSONBody {
    /// The API's own bodies: written straight into the response buffer, no `JSONEncoder`.
    /// Never throws; declared `throws` like its sibling so that call sites read the same.
    static func response(_ value: some JSONWritable, status: HTTPResponse.Status = .ok, headers: HTTPFields = [:]) throws -> Response {
        var json = JSONWriter()
        value.write(to: &json)
        return response(json.buffer, status: status, headers: headers)
    }

    /// Anything else (error bodies, health checks): rare, so Foundation's encoder is fine; one
    /// shared encoder with the same options, keys sorted as the written bodies sort theirs.
    static func response(_ value: some Encodable, status: HTTPResponse.Status = .ok, headers: HTTPFields = [:]) throws -> Response {
        try response(ByteBuffer(bytes: encoder.encode(value)), status: status, headers: headers)
    }

    private static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        encoder.dateEncodingStrategy = .iso8601
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }()

    private static func response(_ body: ByteBuffer, status: HTTPResponse.Status, headers: HTTPFields) -> Response {
        var fields = headers
        fields[.contentType] = "application/json; charset=utf-8"
        return Response(status: status, headers: fields, body: .init(byteBuffer: body))
    }

    /// Reads at most `limit` bytes of body (413 beyond) and decodes it (with its fast reader
    /// first, for a ``ScannableBody``), answering 400:
    /// `malformed_json` for a body that is not JSON, `invalid_body` with the field at fault for
    /// missing fields and wrong types.
    static func decode<Value: Decodable>(_ type: Value.Type, from request: Request, limit: Int) async throws -> Value {
        var request = request
        let buffer = try await request.collectBody(upTo: limit)
        if let scannable = Value.self as? any ScannableBody.Type {
            var json = JSONScanner(buffer)
            if let value = scannable.init(scanning: &json) as? Value { return value }
        }
        let data = Data(buffer.readableBytesView)
        do {
            return try makeDecoder().decode(Value.self, from: data)
        } catch DecodingError.dataCorrupted(let context) where context.codingPath.isEmpty {
            // Foundation's decoder reports a number too large for its type exactly as it reports a
            // syntax error: tell them apart by parsing once more, on this error path only.
            if (try? JSONSerialization.jsonObject(with: data, options: .fragmentsAllowed)) != nil {
                throw APIError.badRequest("a number in the body is out of range", code: "invalid_body")
            }
            throw APIError.badRequest("the body is not valid JSON", code: "malformed_json")
        } catch let error as DecodingError {
            throw APIError.badRequest(describe(error), code: "invalid_body", field: field(of: error))
        } catch let error as APIError {
            throw error
        } catch {
            throw APIError.badRequest("the body is not valid JSON", code: "malformed_json")
        }
    }

    /// The decoder of request bodies (snake_case keys).
    static func makeDecoder() -> JSONDecoder {
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        return decoder
    }

    private static func path(_ keys: [any CodingKey]) -> String {
        keys.map { $0.intValue.map { "[\($0)]" } ?? convertToSnakeCase($0.stringValue) }.joined(separator: ".")
            .replacingOccurrences(of: ".[", with: "[")
    }

    private static func field(of error: DecodingError) -> String? {
        switch error {
        case .keyNotFound(let key, let context): return path(context.codingPath + [key])
        case .typeMismatch(_, let context), .valueNotFound(_, let context), .dataCorrupted(let context):
            return context.codingPath.isEmpty ? nil : path(context.codingPath)
        @unknown default: return nil
        }
    }

    private static func describe(_ error: DecodingError) -> String {
        switch error {
        case .keyNotFound(let key, let context): return "missing field '\(path(context.codingPath + [key]))'"
        case .typeMismatch(_, let context) where context.codingPath.isEmpty:
            return "the body must be a JSON object"
        case .typeMismatch(let type, let context):
            return "field '\(path(context.codingPath))' has the wrong type (expected \(typeName(type)))"
        case .valueNotFound(let type, let context):
            return "field '\(path(context.codingPath))' must not be null (expected \(typeName(type)))"
        case .dataCorrupted(let context):
            return context.codingPath.isEmpty
                ? "the body is not valid JSON" : "field '\(path(context.codingPath))' is invalid: \(context.debugDescription)"
        @unknown default: return "the body could not be read"
        }
    }

    /// The JSON kind a Swift type is read from, for messages (never a Swift type name).
    private static func typeName(_ type: Any.Type) -> String {
        switch type {
        case is String.Type: return "a string"
        case is Int.Type, is Int64.Type, is Int32.Type: return "an integer"
        case is Double.Type, is Decimal.Type: return "a number"
        case is Bool.Type: return "a boolean"
        default: return "\(type)".hasPrefix("Array") ? "an array" : "an object"
        }
    }

    private static func convertToSnakeCase(_ key: String) -> String {
        key.reduce(into: "") { result, character in
            if character.isUppercase { result += "_" + character.lowercased() } else { result.append(character) }
        }
    }
}
