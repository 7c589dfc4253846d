internal import NIOCore
internal import NIOHTTP1
internal import ReadAPI

/// The cloud node's read API on the agent's listener (`[http] query = true`): the same routes,
/// answered by the same code (module ReadAPI) over the agent's own engine, MemTables included.
/// Only the checks around it are the agent's: a reader token, and the one gateway it is.
struct QueryEndpoints: Sendable {
    let reads: ReadQueries
    let prometheus: PrometheusQueries
    /// The one gateway this agent is: `gateway=` may be left out, another name has no data.
    let scope: ReadScope
    /// The reader token now (SIGHUP may change it).
    let token: @Sendable () -> String

    init(store: DatabaseReadStore, maxScanPoints: Int, token: @escaping @Sendable () -> String) {
        reads = ReadQueries(store: store, maxScanPoints: maxScanPoints)
        prometheus = PrometheusQueries(store: store)
        scope = .onlyGateway(store.name)
        self.token = token
    }

    /// The answer to a request for `path` under `/v1/` or `/api/v1/`.
    func answer(_ request: HTTPRequest, path: String, query: String?) async -> HTTPAnswer {
        let head = request.head
        let isPrometheus = path.hasPrefix("/api/v1/")
        let label = isPrometheus ? PrometheusQueries.labelValuesName(path) : nil
        let known =
            isPrometheus ? PrometheusQueries.routes.contains(path) || label != nil : ReadQueries.routes.contains(path)
        let refuse: (QueryError) -> HTTPAnswer = { e in
            HTTPAnswer(isPrometheus ? PrometheusQueries.error(e) : Answer.error(e))
        }
        guard known else { return refuse(QueryError(.notFound, "no route \(path.prefix(64))")) }
        let post = isPrometheus && head.method == .POST
        guard head.method == .GET || head.method == .HEAD || post else {
            return HTTPAnswer(.methodNotAllowed, "text/plain", isPrometheus ? "GET or POST only\n" : "GET only\n")
        }
        if let refusal = check(head.headers["Authorization"].first) { return refuse(refusal) }
        var p = Parameters(query)
        if post {
            do { try request.body.add(to: &p) } catch { return refuse(error) }
        }
        if isPrometheus { return HTTPAnswer(await prometheus.answer(path, p, scope, label: label)) }
        do { return HTTPAnswer(try await reads.answer(path, p, scope)) } catch { return refuse(error) }
    }

    /// Nil when the request carries the reader token; the refusal otherwise (401, as the cloud node's).
    func check(_ authorization: String?) -> QueryError? {
        guard let header = authorization, header.hasPrefix("Bearer ") || header.hasPrefix("bearer ") else {
            return .missingToken
        }
        return QueryEndpoints.equalInConstantTime(Array(token().utf8), Array(header.utf8.dropFirst(7)))
            ? nil : .unknownToken
    }

    /// Compares in full: the time taken does not tell how much matched.
    static func equalInConstantTime(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        var diff = UInt8(a.count == b.count ? 0 : 1)
        for i in 0..<max(a.count, b.count) { diff |= (i < a.count ? a[i] : 0) ^ (i < b.count ? b[i] : 0) }
        return diff == 0
    }
}

extension HTTPAnswer {
    /// A read API answer as the listener's.
    init(_ a: Answer) {
        self.init(
            status: HTTPResponseStatus(statusCode: a.status.code, reasonPhrase: a.status.reason),
            contentType: a.contentType, headers: a.headers, body: a.body)
    }
}
