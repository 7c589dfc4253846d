internal import NIOCore
internal import NIOHTTP1
internal import ReadAPI

/// One answer of the listener: status, content type, extra headers and the body.
struct HTTPAnswer: Sendable {
    var status: HTTPResponseStatus
    var contentType: String
    var headers: [(name: String, value: String)] = []
    var body: ByteBuffer

    init(_ status: HTTPResponseStatus, _ contentType: String, _ text: String) {
        self.status = status
        self.contentType = contentType
        body = ByteBuffer(string: text)
    }

    init(status: HTTPResponseStatus, contentType: String, headers: [(name: String, value: String)], body: ByteBuffer) {
        self.status = status
        self.contentType = contentType
        self.headers = headers
        self.body = body
    }
}

/// A request as the listener read it: its head and its body (a form, bounded as on the cloud node).
struct HTTPRequest: Sendable {
    var head: HTTPRequestHead
    var body: FormBody

    init(head: HTTPRequestHead) {
        self.head = head
        body = FormBody(contentLength: head.headers["Content-Length"].first)
    }
}

/// What the HTTP listener serves, as questions to whoever runs it (the agent, see
/// `Agent.endpoints`): the listener and its handlers then know HTTP and nothing of the agent.
struct HTTPEndpoints: Sendable {
    /// Why the gateway is not healthy (nil: it is), for `/healthz`.
    var problem: @Sendable () async -> String?
    /// The Prometheus text of `/metrics`.
    var metrics: @Sendable () async -> String
    /// The JSON of `/v1/status`.
    var status: @Sendable () async -> String
    /// The read API, `/v1/scan` and the rest, `/api/v1/*` (nil: `[http] query` is off).
    var query: QueryEndpoints? = nil

    /// The answer to a request.
    func answer(_ request: HTTPRequest) async -> HTTPAnswer {
        let head = request.head
        let (path, queryString) = HTTPEndpoints.split(head.uri)
        if path != "/v1/status" && (path.hasPrefix("/v1/") || path.hasPrefix("/api/v1/")) {
            guard let query else {
                return HTTPAnswer(
                    .notFound, "application/json",
                    "{\"error\": \"the read API is off on this agent: [http] query = true and a reader_token turn it on\", \"code\": \"not_found\"}\n"
                )
            }
            return await query.answer(request, path: path, query: queryString)
        }
        guard head.method == .GET || head.method == .HEAD else {
            return HTTPAnswer(.methodNotAllowed, "text/plain", "GET only\n")
        }
        switch path {
        case "/healthz":
            if let problem = await problem() { return HTTPAnswer(.serviceUnavailable, "text/plain", problem + "\n") }
            return HTTPAnswer(.ok, "text/plain", "ok\n")
        case "/metrics":
            return HTTPAnswer(.ok, "text/plain; version=0.0.4", await metrics())
        case "/v1/status":
            return HTTPAnswer(.ok, "application/json", await status())
        default:
            return HTTPAnswer(
                .notFound, "text/plain",
                query == nil
                    ? "try /healthz, /metrics or /v1/status\n"
                    : "try /healthz, /metrics, /v1/status, /v1/… or /api/v1/…\n")
        }
    }

    /// The path and the query string (nil without `?`) of a request target.
    static func split(_ uri: String) -> (path: String, query: String?) {
        guard let q = uri.firstIndex(of: "?") else { return (uri, nil) }
        return (String(uri[..<q]), String(uri[uri.index(after: q)...]))
    }
}
