import HTTPTypes
import Hummingbird
import Synchronization

/// The methods each route path answers, so that a known path asked with another method gets 405
/// with `Allow` (RFC 9110 §15.5.6) rather than the 404 Hummingbird's router gives for both.
final class RouteTable: Sendable {
    private let routes = Mutex<[String: Set<HTTPRequest.Method>]>([:])

    func add(_ method: HTTPRequest.Method, _ path: RouterPath) {
        _ = routes.withLock { $0[path.description, default: []].insert(method) }
    }

    /// The methods of the route matching `path`, sorted; empty when no route matches it.
    func allowedMethods(for path: String) -> [HTTPRequest.Method] {
        let segments = path.split(separator: "/", omittingEmptySubsequences: true)
        let methods = routes.withLock { routes in
            routes.filter { Self.matches(template: $0.key, segments) }.values.reduce(into: Set()) { $0.formUnion($1) }
        }
        // The router answers HEAD wherever it answers GET.
        let allowed = methods.contains(.get) ? methods.union([.head]) : methods
        return allowed.sorted { $0.rawValue < $1.rawValue }
    }

    private static func matches(template: String, _ segments: [Substring]) -> Bool {
        let parts = template.split(separator: "/", omittingEmptySubsequences: true)
        guard parts.count == segments.count else { return false }
        return zip(parts, segments).allSatisfy { part, segment in part.hasPrefix("{") || part == segment }
    }
}

/// Adds routes to a router and records them in a ``RouteTable``.
struct RecordingRouter<Context: RequestContext>: RouterMethods {
    let router: Router<Context>
    let table: RouteTable

    @discardableResult
    func on<Responder: HTTPResponder>(_ path: RouterPath, method: HTTPRequest.Method, responder: Responder) -> Self
    where Responder.Context == Context {
        table.add(method, path)
        router.on(path, method: method, responder: responder)
        return self
    }

    @discardableResult
    func add(middleware: any MiddlewareProtocol<Request, Response, Context>) -> Self {
        router.add(middleware: middleware)
        return self
    }
}
