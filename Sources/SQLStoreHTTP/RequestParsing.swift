import Hummingbird

/// Path and query parameters: a bad one is a 400 that names it.
extension Request {
    func query(int name: String) throws -> Int? {
        guard let text = uri.queryParameters.get(name) else { return nil }
        guard let value = Int(text) else { throw APIError.badRequest("query parameter '\(name)' must be an integer", field: name) }
        return value
    }

    func query(bool name: String) throws -> Bool {
        switch uri.queryParameters.get(name) {
        case nil, "false", "0": return false
        case "true", "1": return true
        default: throw APIError.badRequest("query parameter '\(name)' must be true or false", field: name)
        }
    }

    func query(string name: String) -> String? {
        uri.queryParameters.get(name)
    }
}

extension RequestContext {
    /// A positive 64-bit id from the path.
    func id(_ name: String) throws -> Int64 {
        guard let text = parameters.get(name), let value = Int64(text), value > 0 else {
            throw APIError.badRequest("path parameter '\(name)' must be a positive integer id", field: name)
        }
        return value
    }
}
