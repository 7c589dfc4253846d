internal import Hummingbird
internal import ReadAPI

/// The Prometheus HTTP API's routes on the node (what Grafana's Prometheus data source calls): who
/// asks, the form body of a POST, then the shared `PrometheusQueries` (module ReadAPI, which the
/// agent answers the same queries with) over the store. Every error is answered in Prometheus's
/// shape (Grafana shows its `error`), where the node's other routes answer `CloudError`'s.
struct PrometheusAPI: Sendable {
    let queries: PrometheusQueries
    /// The caller named by a request's token, after its rate limit (`CloudNode.principal`).
    let principal: @Sendable (Request) async throws(CloudError) -> Principal

    init(store: any CloudStorage, principal: @escaping @Sendable (Request) async throws(CloudError) -> Principal) {
        queries = PrometheusQueries(store: store)
        self.principal = principal
    }

    func addRoutes(to router: Router<BasicRequestContext>) {
        for path in PrometheusQueries.routes + ["/api/v1/label/{name}/values"] {
            let handler: @Sendable (Request, BasicRequestContext) async throws -> Response = { request, context in
                try await self.answer(path, request, label: context.parameters.get("name"))
            }
            router.get(RouterPath(path), use: handler)
            router.post(RouterPath(path), use: handler)
        }
    }

    func answer(_ route: String, _ request: Request, label: String?) async throws -> Response {
        let who: Principal
        var p = Parameters(request.uri.query)
        do {
            who = try await principal(request)
            if request.method == .post { try await PrometheusAPI.form(request).add(to: &p) }
        } catch let e as CloudError {
            return Response(PrometheusQueries.error(e.queryError))
        } catch let e as QueryError {
            return Response(PrometheusQueries.error(e))
        } catch {
            return Response(PrometheusQueries.error(QueryError(.badRequest, "request body: \(error)")))
        }
        return Response(await queries.answer(route, p, who.scope, label: label))
    }

    /// A POST's form body, collected as the agent's listener collects it (ReadAPI's `FormBody`: up
    /// to 1 MiB; past that, or a longer `Content-Length`, the rest is not read and `add` says 413).
    static func form(_ request: Request) async throws -> FormBody {
        var form = FormBody(contentLength: request.headers[.contentLength])
        guard !form.tooLarge else { return form }
        for try await part in request.body {
            form.append(part)
            if form.tooLarge { break }
        }
        return form
    }
}
