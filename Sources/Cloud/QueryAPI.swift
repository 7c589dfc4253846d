internal import HTTPTypes
internal import Hummingbird
internal import ReadAPI

/// The JSON/CSV query API's routes on the node: who asks (its token, its rate limit), then the
/// shared `ReadQueries` (module ReadAPI, which the agent answers the same queries with) over the
/// store. A gateway's token reads only its own gateway, a reader's any.
struct QueryAPI: Sendable {
    let queries: ReadQueries
    /// The caller named by a request's token, after its rate limit (`CloudNode.principal`).
    let principal: @Sendable (Request) async throws(CloudError) -> Principal

    init(
        store: any CloudStorage, maxScanPoints: Int,
        principal: @escaping @Sendable (Request) async throws(CloudError) -> Principal
    ) {
        queries = ReadQueries(store: store, maxScanPoints: maxScanPoints)
        self.principal = principal
    }

    func addRoutes(to router: Router<BasicRequestContext>) {
        for path in ReadQueries.routes {
            router.get(RouterPath(path)) { request, _ in try await self.answer(path, request) }
        }
    }

    func answer(_ path: String, _ request: Request) async throws(CloudError) -> Response {
        let who = try await principal(request)
        do {
            return Response(try await queries.answer(path, Parameters(request.uri.query), who.scope))
        } catch {
            throw CloudError(error)
        }
    }
}

extension Principal {
    /// What the caller may read: a reader every gateway, a gateway its own data.
    var scope: ReadScope { role == .reader ? .everyGateway : .ownGateway(name) }
}

extension Response {
    /// A read API answer as Hummingbird's response.
    init(_ a: Answer) {
        var headers: HTTPFields = [.contentType: a.contentType]
        for h in a.headers {
            if let name = HTTPField.Name(h.name) { headers.append(HTTPField(name: name, value: h.value)) }
        }
        self.init(
            status: HTTPResponse.Status(code: a.status.code, reasonPhrase: a.status.reason), headers: headers,
            body: .init(byteBuffer: a.body))
    }
}
