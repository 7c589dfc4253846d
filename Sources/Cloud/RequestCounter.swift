internal import Hummingbird
internal import Logging
internal import Synchronization

/// Counts every request by route and status for /metrics.
struct RequestCounter: RouterMiddleware {
    typealias Context = BasicRequestContext
    let node: CloudNode

    static let routes: Set<String> = [
        "/healthz", "/metrics", "/v1/segments", "/v1/gateways", "/v1/status", "/v1/series", "/v1/scan", "/v1/get",
        "/v1/aggregate",
        "/v1/downsample", "/api/v1/query_range", "/api/v1/query", "/api/v1/series", "/api/v1/labels",
        "/api/v1/status/buildinfo", "/api/v1/metadata",
    ]

    /// The route's name for the label: a fixed set, so hostile paths cannot grow /metrics.
    static func route(_ path: String) -> String {
        if routes.contains(path) { return path }
        if path.hasPrefix("/api/v1/label/") && path.hasSuffix("/values") { return "/api/v1/label/values" }
        return "other"
    }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws
        -> Response
    {
        let route = RequestCounter.route(request.uri.path)
        do {
            let response = try await next(request, context)
            node.counters.withLock { $0.requests["\(route) \(response.status.code)", default: 0] += 1 }
            return response
        } catch {
            let status = (error as? any HTTPResponseError)?.status.code ?? 500
            node.counters.withLock { $0.requests["\(route) \(status)", default: 0] += 1 }
            // A fault of ours (not a refusal; 503s come in floods during an outage and say so in
            // /healthz): the log gets the cause and where it was raised.
            if status >= 500 && status != 503, let e = error as? CloudError {
                node.logger.error(
                    "request failed",
                    metadata: [
                        "route": "\(route)", "status": "\(status)", "error": "\(e.message)", "at": "\(e.location)",
                        "cause": "\(e.cause.map { String(reflecting: $0) } ?? "-")",
                    ])
            }
            throw error
        }
    }
}
