internal import AliceDB
internal import HTTPTypes
internal import Hummingbird

/// The Prometheus HTTP API that Grafana's Prometheus data source calls, over the stored series:
/// each is `alicedb{gateway="…", series="…"}`. Queries are PromQL evaluated as Prometheus 2.x does
/// (`PromEvaluator`); timestamps are epoch milliseconds stored, seconds on the wire.
///
/// Its own route handler: it gets the store and the node's check of who asks, and answers every
/// error in Prometheus's shape (Grafana shows its `error`), where the node's other routes answer
/// `CloudError`'s.
struct PrometheusAPI: Sendable {
    /// A selector answers at most this many series, and a range query at most this many steps.
    static let maxSeries = 1000
    static let maxSteps = 11_000

    let store: any CloudStorage
    /// The caller named by a request's token, after its rate limit (`CloudNode.principal`).
    let principal: @Sendable (Request) async throws(CloudError) -> Principal

    func addRoutes(to router: Router<BasicRequestContext>) {
        for path in [
            "/api/v1/query_range", "/api/v1/query", "/api/v1/series", "/api/v1/labels", "/api/v1/metadata",
            "/api/v1/status/buildinfo", "/api/v1/query_exemplars", "/api/v1/label/{name}/values",
        ] {
            let handler: @Sendable (Request, BasicRequestContext) async throws -> Response = { request, context in
                try await self.answer(path, request, label: context.parameters.get("name"))
            }
            router.get(RouterPath(path), use: handler)
            router.post(RouterPath(path), use: handler)
        }
    }

    /// A Prometheus-shaped error: `{"status": "error", "errorType": …, "error": …}`.
    static func promError(_ e: CloudError) -> Response {
        let type =
            switch e.status.code {
            case 400: "bad_data"
            case 401, 403: "unauthorized"
            case 404: "not_found"
            case 422: "execution"
            case 503: "unavailable"
            default: "internal"
            }
        var r = Reply.json(
            "{\"status\": \"error\", \"errorType\": \"\(type)\", \"error\": \(JSONText.quote(e.message))}\n",
            status: e.status)
        for f in e.headers { r.headers.append(f) }
        return r
    }

    func answer(_ route: String, _ request: Request, label: String?) async throws -> Response {
        do {
            let who = try await principal(request)
            var p = Parameters(request.uri.query)
            if request.method == .post {
                var request = request
                let body = try await request.collectBody(upTo: 1 << 20)
                p.add(String(buffer: body))
            }
            let data: String
            switch route {
            case "/api/v1/query_range": data = try await queryRange(p, who)
            case "/api/v1/query": data = try await instantQuery(p, who)
            case "/api/v1/series": data = try await seriesSets(p, who)
            case "/api/v1/labels": data = try await labelNames(p, who)
            case "/api/v1/metadata":
                let wanted = p["metric"].map { $0 == PromQL.metricName } ?? true
                data =
                    wanted
                    ? "{\"\(PromQL.metricName)\": [{\"type\": \"gauge\", \"help\": \"A series stored by alicedb.\", \"unit\": \"\"}]}"
                    : "{}"
            case "/api/v1/status/buildinfo":
                data =
                    "{\"version\": \"2.42.0\", \"revision\": \"alicedb\", \"branch\": \"\", \"buildUser\": \"\", \"buildDate\": \"\", \"goVersion\": \"\"}"
            case "/api/v1/query_exemplars": data = "[]"
            default: data = try await labelValues(label ?? "", p, who)
            }
            return Reply.json("{\"status\": \"success\", \"data\": \(data)}\n")
        } catch let e as CloudError {
            return PrometheusAPI.promError(e)
        } catch {
            return PrometheusAPI.promError(CloudError(.badRequest, "request body: \(error)"))
        }
    }

    /// What a caller may read, as label sets in Prometheus's order (by labels: aggregations add up
    /// in this order, which decides the last bits of a sum).
    func visibleSeries(_ who: Principal) async throws(CloudError) -> [PromLabels] {
        var out = [PromLabels]()
        for g in try await CloudError.storage({ try await store.gatewayNames() })
        where who.role == .reader || g == who.name {
            for s in try await CloudError.storage({ try await store.seriesNames(g) }) {
                out.append(["__name__": PromQL.metricName, "gateway": g, "series": s])
            }
        }
        return out.sorted { PromQL.less($0, $1) }
    }

    func evaluator(_ p: Parameters, _ who: Principal, start: Int64, end: Int64, step: Int64) async throws(CloudError)
        -> PromEvaluator
    {
        let source = StoragePromSource(store: store, visible: try await visibleSeries(who))
        var e = PromEvaluator(source: source, start: start, end: end, step: step)
        if let l = p["lookback_delta"], !l.isEmpty { e.lookback = try PromQL.duration(l, "lookback_delta") }
        return e
    }

    func queryRange(_ p: Parameters, _ who: Principal) async throws(CloudError) -> String {
        let expr = try PromParser.parse(try p.required("query"))
        let start = try PromQL.time(p["start"], "start")
        let end = try PromQL.time(p["end"], "end")
        let step = try PromQL.duration(p["step"], "step")
        guard start <= end else { throw .badRequest("end timestamp must not be before start time") }
        guard (end - start) / step < Int64(PrometheusAPI.maxSteps) else {
            throw .badRequest(
                "exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the query resolution (?step=XX)"
            )
        }
        guard expr.type == .scalar || expr.type == .vector else {
            throw .badRequest(
                "invalid expression type \"\(expr.type.apiName)\" for range query, must be Scalar or instant Vector")
        }
        let e = try await evaluator(p, who, start: start, end: end, step: step)
        switch try await e.eval(expr) {
        case .scalar(let v): return PromQL.matrix([PromSeries(labels: [:], values: v.map { $0 })], e.steps)
        case .vector(let v): return PromQL.matrix(v, e.steps)
        default: throw .badRequest("invalid expression type for range query, must be Scalar or instant Vector")
        }
    }

    func instantQuery(_ p: Parameters, _ who: Principal) async throws(CloudError) -> String {
        let expr = try PromParser.parse(try p.required("query"))
        let time = try PromQL.time(p["time"], "time", default: FileIO.wallMillis())
        let e = try await evaluator(p, who, start: time, end: time, step: 1)
        let t = PromQL.seconds(time)
        switch try await e.eval(expr) {
        case .scalar(let v): return "{\"resultType\": \"scalar\", \"result\": [\(t), \"\(PromQL.float(v[0]))\"]}"
        case .string(let s): return "{\"resultType\": \"string\", \"result\": [\(t), \(JSONText.quote(s))]}"
        case .vector(let v):
            let items = PromQL.merged(v).compactMap { s -> String? in
                guard let x = s.values[0] else { return nil }
                return "{\"metric\": \(PromQL.labels(s.labels)), \"value\": [\(t), \"\(PromQL.float(x))\"]}"
            }
            return "{\"resultType\": \"vector\", \"result\": [\(items.joined(separator: ", "))]}"
        case .matrix(let m):
            let items = m.sorted { PromQL.less($0.labels, $1.labels) }.map { s in
                let values = zip(s.timestamps, s.values).map { "[\(PromQL.seconds($0)), \"\(PromQL.float($1))\"]" }
                return "{\"metric\": \(PromQL.labels(s.labels)), \"values\": [\(values.joined(separator: ", "))]}"
            }
            return "{\"resultType\": \"matrix\", \"result\": [\(items.joined(separator: ", "))]}"
        }
    }

    /// The series `match[]` selects (every one without it), with data in `[start, end]` when given.
    func matching(_ p: Parameters, _ who: Principal, required: Bool) async throws(CloudError) -> [PromLabels] {
        let visible = try await visibleSeries(who)
        let selectors = p.all("match[]")
        if required && selectors.isEmpty { throw .badRequest("no match[] parameter provided") }
        var picked = selectors.isEmpty ? visible : []
        for text in selectors {
            guard case .selector(let s) = try PromParser.parse(text) else {
                throw .badRequest("invalid parameter \"match[]\": \(text) is not a series selector")
            }
            for l in visible where s.matchers.allSatisfy({ $0.matches(l[$0.label] ?? "") }) && !picked.contains(l) {
                picked.append(l)
            }
        }
        guard p["start"] != nil || p["end"] != nil else { return picked }
        let start = try PromQL.time(p["start"], "start", default: .min)
        let end = try PromQL.time(p["end"], "end", default: .max)
        var out = [PromLabels]()
        for l in picked {
            let g = l["gateway"] ?? ""
            let s = l["series"] ?? ""
            let stats = try await CloudError.storage { try await store.seriesStats(g, series: s) }
            guard let st = stats?.first, let f = st.firstTimestamp, let last = st.lastTimestamp, f <= end, last >= start
            else { continue }
            out.append(l)
        }
        return out
    }

    func seriesSets(_ p: Parameters, _ who: Principal) async throws(CloudError) -> String {
        "[" + (try await matching(p, who, required: true)).map(PromQL.labels).joined(separator: ", ") + "]"
    }

    func labelNames(_ p: Parameters, _ who: Principal) async throws(CloudError) -> String {
        let names = Set(try await matching(p, who, required: false).flatMap(\.keys))
        return "[" + names.sorted().map(JSONText.quote).joined(separator: ", ") + "]"
    }

    func labelValues(_ label: String, _ p: Parameters, _ who: Principal) async throws(CloudError) -> String {
        let values = Set(try await matching(p, who, required: false).compactMap { $0[label] })
        return "[" + values.sorted().map(JSONText.quote).joined(separator: ", ") + "]"
    }
}
