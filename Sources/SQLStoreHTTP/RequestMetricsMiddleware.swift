import HTTPTypes
import Hummingbird
import Metrics
import Synchronization

/// Records, per request, the metrics Hummingbird's `MetricsMiddleware` records, under the same
/// names and dimensions: `hb.requests`, `http.server.request.duration`, `hb.request.errors` by
/// route, method and status, and `http.server.active_requests` by method.
///
/// Unlike Hummingbird's, it records when the handler has produced its response instead of from a
/// post-write closure on the body. That closure turns every body into a streamed one, which
/// Hummingbird then writes in three flushes (two `write` system calls) instead of one batched
/// write. Every body here is a single buffer written right after, so the duration loses only
/// that write.
struct RequestMetricsMiddleware<Context: RequestContext>: RouterMiddleware {
    private let cache = RequestMetricsCache()

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let start = ContinuousClock.now
        let active = cache.activeRequests(method: request.method)
        active.increment()
        defer { active.decrement() }
        do {
            let response = try await next(request, context)
            cache.endpoint(route: context.endpointPath ?? "Unknown", method: request.method, status: response.status)
                .record(since: start, failed: false)
            return response
        } catch {
            let status = (error as? any HTTPResponseError)?.status ?? .internalServerError
            cache.endpoint(route: context.endpointPath ?? "NotFound", method: request.method, status: status)
                .record(since: start, failed: true)
            throw error
        }
    }
}

/// Metric handles made once per method or endpoint: creating them through the metrics factory
/// on every request would cost a locked lookup in the factory each time.
private final class RequestMetricsCache: Sendable {
    struct Endpoint: Hashable {
        let route: String
        let method: HTTPRequest.Method
        let status: HTTPResponse.Status
    }

    struct EndpointMetrics: Sendable {
        let requests: Counter
        let duration: Timer
        let errors: Counter

        init(_ endpoint: Endpoint) {
            let dimensions = [
                ("http.route", endpoint.route), ("http.request.method", endpoint.method.rawValue),
                ("http.response.status_code", String(endpoint.status.code)),
            ]
            requests = Counter(label: "hb.requests", dimensions: dimensions)
            duration = Timer(label: "http.server.request.duration", dimensions: dimensions, preferredDisplayUnit: .seconds)
            errors = Counter(
                label: "hb.request.errors",
                dimensions: [
                    ("http.route", endpoint.route), ("http.request.method", endpoint.method.rawValue),
                    ("error.type", String(endpoint.status.code)),
                ])
        }

        func record(since start: ContinuousClock.Instant, failed: Bool) {
            requests.increment()
            if failed {
                errors.increment()
            } else {
                let elapsed = (ContinuousClock.now - start).components
                duration.recordNanoseconds(elapsed.seconds * 1_000_000_000 + elapsed.attoseconds / 1_000_000_000)
            }
        }
    }

    private let methods = Mutex([HTTPRequest.Method: Meter]())
    private let endpoints = Mutex([Endpoint: EndpointMetrics]())

    func activeRequests(method: HTTPRequest.Method) -> Meter {
        methods.withLock { methods in
            if let meter = methods[method] { return meter }
            let meter = Meter(label: "http.server.active_requests", dimensions: [("http.request.method", method.rawValue)])
            methods[method] = meter
            return meter
        }
    }

    func endpoint(route: String, method: HTTPRequest.Method, status: HTTPResponse.Status) -> EndpointMetrics {
        let key = Endpoint(route: route, method: method, status: status)
        return endpoints.withLock { endpoints in
            if let metrics = endpoints[key] { return metrics }
            let metrics = EndpointMetrics(key)
            endpoints[key] = metrics
            return metrics
        }
    }
}
