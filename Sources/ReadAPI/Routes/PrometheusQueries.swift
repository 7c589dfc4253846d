internal import AliceDB

/// The Prometheus HTTP API that Grafana's Prometheus data source calls, over the stored series:
/// each is `alicedb{gateway="…", series="…"}`. Queries are PromQL evaluated as Prometheus 2.x does
/// (`PromEvaluator`); timestamps are epoch milliseconds stored, seconds on the wire.
///
/// The same answers on a cloud node and on an agent: each server checks who asks, gathers the
/// parameters (query string, and a form body for POST) and writes the `Answer`. Every error is
/// answered in Prometheus's shape (Grafana shows its `error`).
public struct PrometheusQueries: Sendable {
    /// A selector answers at most this many series, and a range query at most this many steps.
    static let maxSeries = 1000
    static let maxSteps = 11_000

    public let store: any ReadStore

    public init(store: any ReadStore) { self.store = store }

    /// The fixed paths this API answers (GET or POST), and `/api/v1/label/<name>/values`.
    public static let routes = [
        "/api/v1/query_range", "/api/v1/query", "/api/v1/series", "/api/v1/labels", "/api/v1/metadata",
        "/api/v1/status/buildinfo", "/api/v1/query_exemplars",
    ]

    /// The label of a `/api/v1/label/<name>/values` path (percent-decoded), or nil for another path.
    public static func labelValuesName(_ path: String) -> String? {
        let prefix = "/api/v1/label/"
        let suffix = "/values"
        guard path.hasPrefix(prefix), path.hasSuffix(suffix), path.utf8.count > prefix.utf8.count + suffix.utf8.count
        else { return nil }
        let name = path.dropFirst(prefix.count).dropLast(suffix.count)
        guard !name.contains("/") else { return nil }
        return Parameters.decode(name)
    }

    /// A Prometheus-shaped error: `{"status": "error", "errorType": …, "error": …}`.
    public static func error(_ e: QueryError) -> Answer {
        let type =
            switch e.status.code {
            case 400, 413: "bad_data"
            case 401, 403: "unauthorized"
            case 404: "not_found"
            case 422: "execution"
            case 503: "unavailable"
            default: "internal"
            }
        var a = Answer.json(
            "{\"status\": \"error\", \"errorType\": \"\(type)\", \"error\": \(JSONText.quote(e.message))}\n",
            status: e.status)
        a.headers = e.headers
        return a
    }

    /// The answer to `route` (one of `routes`, or `/api/v1/label/{name}/values` with `label`) for
    /// a caller allowed `scope`; errors come in Prometheus's shape.
    public func answer(_ route: String, _ p: Parameters, _ scope: ReadScope, label: String?) async -> Answer {
        do throws(QueryError) {
            let data: String
            switch route {
            case "/api/v1/query_range": data = try await queryRange(p, scope)
            case "/api/v1/query": data = try await instantQuery(p, scope)
            case "/api/v1/series": data = try await seriesSets(p, scope)
            case "/api/v1/labels": data = try await labelNames(p, scope)
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
            default: data = try await labelValues(label ?? "", p, scope)
            }
            return .json("{\"status\": \"success\", \"data\": \(data)}\n")
        } catch {
            return PrometheusQueries.error(error)
        }
    }

    /// What a caller may read, as label sets in Prometheus's order (by labels: aggregations add up
    /// in this order, which decides the last bits of a sum).
    func visibleSeries(_ scope: ReadScope) async throws(QueryError) -> [PromLabels] {
        var out = [PromLabels]()
        for g in try await QueryError.storage({ try await store.gatewayNames() }) where scope.permits(g) {
            for s in try await QueryError.storage({ try await store.seriesNames(g) }) {
                out.append(["__name__": PromQL.metricName, "gateway": g, "series": s])
            }
        }
        return out.sorted { PromQL.less($0, $1) }
    }

    func evaluator(_ p: Parameters, _ scope: ReadScope, start: Int64, end: Int64, step: Int64)
        async throws(QueryError) -> PromEvaluator
    {
        let source = StoragePromSource(store: store, visible: try await visibleSeries(scope))
        var e = PromEvaluator(source: source, start: start, end: end, step: step)
        if let l = p["lookback_delta"], !l.isEmpty { e.lookback = try PromQL.duration(l, "lookback_delta") }
        return e
    }

    func queryRange(_ p: Parameters, _ scope: ReadScope) async throws(QueryError) -> String {
        let expr = try PromParser.parse(try p.required("query"))
        let start = try PromQL.time(p["start"], "start")
        let end = try PromQL.time(p["end"], "end")
        let step = try PromQL.duration(p["step"], "step")
        guard start <= end else { throw .badRequest("end timestamp must not be before start time") }
        guard (end - start) / step < Int64(PrometheusQueries.maxSteps) else {
            throw .badRequest(
                "exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the query resolution (?step=XX)"
            )
        }
        guard expr.type == .scalar || expr.type == .vector else {
            throw .badRequest(
                "invalid expression type \"\(expr.type.apiName)\" for range query, must be Scalar or instant Vector")
        }
        let e = try await evaluator(p, scope, start: start, end: end, step: step)
        switch try await e.eval(expr) {
        case .scalar(let v): return PromQL.matrix([PromSeries(labels: [:], values: v.map { $0 })], e.steps)
        case .vector(let v): return PromQL.matrix(v, e.steps)
        default: throw .badRequest("invalid expression type for range query, must be Scalar or instant Vector")
        }
    }

    func instantQuery(_ p: Parameters, _ scope: ReadScope) async throws(QueryError) -> String {
        let expr = try PromParser.parse(try p.required("query"))
        let time = try PromQL.time(p["time"], "time", default: FileIO.wallMillis())
        let e = try await evaluator(p, scope, start: time, end: time, step: 1)
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
    func matching(_ p: Parameters, _ scope: ReadScope, required: Bool) async throws(QueryError) -> [PromLabels] {
        let visible = try await visibleSeries(scope)
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
            let stats = try await QueryError.storage { try await store.seriesStats(g, series: s) }
            guard let st = stats?.first, let f = st.firstTimestamp, let last = st.lastTimestamp, f <= end, last >= start
            else { continue }
            out.append(l)
        }
        return out
    }

    func seriesSets(_ p: Parameters, _ scope: ReadScope) async throws(QueryError) -> String {
        "[" + (try await matching(p, scope, required: true)).map(PromQL.labels).joined(separator: ", ") + "]"
    }

    func labelNames(_ p: Parameters, _ scope: ReadScope) async throws(QueryError) -> String {
        let names = Set(try await matching(p, scope, required: false).flatMap(\.keys))
        return "[" + names.sorted().map(JSONText.quote).joined(separator: ", ") + "]"
    }

    func labelValues(_ label: String, _ p: Parameters, _ scope: ReadScope) async throws(QueryError) -> String {
        let values = Set(try await matching(p, scope, required: false).compactMap { $0[label] })
        return "[" + values.sorted().map(JSONText.quote).joined(separator: ", ") + "]"
    }
}
