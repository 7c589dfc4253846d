internal import AliceDB
internal import Hummingbird

/// The part of the Prometheus HTTP API that Grafana's stock Prometheus data source uses, over
/// the stored series: each is `alicedb{gateway="…", series="…"}`. Timestamps are taken as epoch
/// milliseconds (what the agent stores) and given in seconds, as Prometheus does.
extension CloudNode {
    /// A query answers at most this many series, and each at most this many steps (Prometheus' own limit).
    static let maxPromSeries = 1000
    static let maxPromSteps = 11_000

    func addPrometheusRoutes(_ router: Router<BasicRequestContext>) {
        for path in ["/api/v1/query_range", "/api/v1/query", "/api/v1/series", "/api/v1/labels"] {
            let handler: @Sendable (Request, BasicRequestContext) async throws -> Response = { request, _ in
                try await self.prometheus(path, request, label: nil)
            }
            router.get(RouterPath(path), use: handler)
            router.post(RouterPath(path), use: handler)
        }
        router.get("/api/v1/label/{name}/values") { request, context in
            try await self.prometheus("values", request, label: context.parameters.get("name") ?? "")
        }
        router.get("/api/v1/status/buildinfo") { _, _ in
            CloudNode.json("{\"status\": \"success\", \"data\": {\"version\": \"2.45.0\", \"application\": \"alicedb-cloud\"}}\n")
        }
        router.get("/api/v1/metadata") { _, _ in CloudNode.json("{\"status\": \"success\", \"data\": {}}\n") }
    }

    /// A Prometheus-shaped error: `{"status": "error", "errorType": …, "error": …}`.
    static func promError(_ e: CloudError) -> Response {
        let type = e.status == .badRequest ? "bad_data" : e.status.code == 401 || e.status.code == 403 ? "unauthorized" : "execution"
        var r = json("{\"status\": \"error\", \"errorType\": \"\(type)\", \"error\": \(JSONText.quote(e.message))}\n", status: e.status)
        for f in e.headers { r.headers.append(f) }
        return r
    }

    func prometheus(_ route: String, _ request: Request, label: String?) async throws -> Response {
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
            case "/api/v1/labels": data = "[\"__name__\", \"gateway\", \"series\"]"
            default: data = try await labelValues(label ?? "", who)
            }
            return CloudNode.json("{\"status\": \"success\", \"data\": \(data)}\n")
        } catch let e as CloudError {
            return CloudNode.promError(e)
        } catch {
            return CloudNode.promError(CloudError(.badRequest, "request body: \(error)"))
        }
    }

    /// Every (gateway, series) the caller may read that the query selects.
    func selected(_ q: PromQuery, _ who: Principal) async throws(CloudError) -> [(gateway: String, series: String)] {
        var out = [(gateway: String, series: String)]()
        for g in try await storage({ try await store.gatewayNames() }) where who.role == .reader || g == who.name {
            for s in try await storage({ try await store.seriesNames(g) }) where q.matches(gateway: g, series: s) {
                out.append((g, s))
                if out.count > CloudNode.maxPromSeries {
                    throw .badRequest("the query selects more than \(CloudNode.maxPromSeries) series: add label matchers")
                }
            }
        }
        return out
    }

    func labels(_ gateway: String, _ series: String) -> String {
        "{\"__name__\": \"\(PromQuery.metricName)\", \"gateway\": \(JSONText.quote(gateway)), \"series\": \(JSONText.quote(series))}"
    }

    /// Prometheus times: unix seconds with a fraction, or RFC 3339; as epoch milliseconds.
    static func promTime(_ text: String?, _ name: String, default d: Int64? = nil) throws(CloudError) -> Int64 {
        guard let text, !text.isEmpty else {
            guard let d else { throw .badRequest("missing parameter '\(name)'") }
            return d
        }
        if let s = Double(text), s.isFinite, abs(s) < 9e15 { return Int64((s * 1000).rounded()) }
        if let ms = RFC3339.millis(text) { return ms }
        throw .badRequest("parameter '\(name)' must be unix seconds or RFC 3339, not '\(text.prefix(40))'")
    }

    /// A step: seconds (`15`, `0.5`) or a duration (`15s`, `1m`, `2h`, `1d`); in milliseconds.
    static func promDuration(_ text: String?, _ name: String) throws(CloudError) -> Int64 {
        guard let text, !text.isEmpty else { throw .badRequest("missing parameter '\(name)'") }
        if let s = Double(text), s > 0, s < 1e12 { return max(1, Int64((s * 1000).rounded())) }
        let units: [(String, Double)] = [("ms", 1), ("s", 1000), ("m", 60_000), ("h", 3_600_000), ("d", 86_400_000), ("w", 604_800_000), ("y", 31_536_000_000)]
        for (u, f) in units where text.hasSuffix(u) {
            if let n = Double(text.dropLast(u.count)), n > 0, n < 1e12 { return max(1, Int64((n * f).rounded())) }
        }
        throw .badRequest("parameter '\(name)' must be a duration such as 15s or 1m, not '\(text.prefix(40))'")
    }

    /// A sample value as Prometheus writes it: a string, NaN and ±Inf spelled its way.
    static func promValue(_ v: Double) -> String {
        if v.isNaN { return "\"NaN\"" }
        if v.isInfinite { return v < 0 ? "\"-Inf\"" : "\"+Inf\"" }
        return "\"\(v.description)\""
    }

    static func promSeconds(_ ms: Int64) -> String {
        let s = ms / 1000, r = abs(ms % 1000)
        if r == 0 { return String(s) }
        let frac = String(r)
        return (ms < 0 && s == 0 ? "-" : "") + String(s) + "." + String(repeating: "0", count: 3 - frac.count) + frac
    }

    /// `query_range`: per step `t`, the function (default avg) over the samples in `[t − step, t)`.
    func queryRange(_ p: Parameters, _ who: Principal) async throws(CloudError) -> String {
        let q = try PromQuery.parse(try p.required("query"))
        let start = try CloudNode.promTime(p["start"], "start"), end = try CloudNode.promTime(p["end"], "end")
        let step = try CloudNode.promDuration(p["step"], "step")
        guard start <= end else { throw .badRequest("end is before start") }
        guard (end - start) / step < Int64(CloudNode.maxPromSteps) else {
            throw .badRequest("exceeded maximum resolution of \(CloudNode.maxPromSteps) points per timeseries: use a larger step")
        }
        if let v = q.scalar {
            var points = [String]()
            var t = start
            while t <= end {
                points.append("[\(CloudNode.promSeconds(t)), \(CloudNode.promValue(v))]")
                t += step
            }
            return "{\"resultType\": \"matrix\", \"result\": [{\"metric\": {}, \"values\": [\(points.joined(separator: ", "))]}]}"
        }
        let fn = q.function ?? .avg
        var result = [String]()
        for (g, s) in try await selected(q, who) {
            // Bucket k covers [start − step + k·step, start + k·step): its value is shown at its end.
            let buckets = try await storage { try await store.downsample(g, s, from: start - step, to: end - 1, interval: step) }
            var values = [String]()
            for b in buckets {
                let v = fn == .count ? Double(b.result.count) : b.result.value(fn)
                guard let v else { continue }
                values.append("[\(CloudNode.promSeconds(b.start + step)), \(CloudNode.promValue(v))]")
            }
            if !values.isEmpty { result.append("{\"metric\": \(labels(g, s)), \"values\": [\(values.joined(separator: ", "))]}") }
        }
        return "{\"resultType\": \"matrix\", \"result\": [\(result.joined(separator: ", "))]}"
    }

    /// `query` at `time`: the newest sample in the 5 minutes up to it (the function's value over
    /// those 5 minutes for a `*_over_time` query).
    func instantQuery(_ p: Parameters, _ who: Principal) async throws(CloudError) -> String {
        let q = try PromQuery.parse(try p.required("query"))
        let time = try CloudNode.promTime(p["time"], "time", default: FileIO.wallMillis())
        if let v = q.scalar { return "{\"resultType\": \"scalar\", \"result\": [\(CloudNode.promSeconds(time)), \(CloudNode.promValue(v))]}" }
        var result = [String]()
        let lookback: Int64 = 300_000
        for (g, s) in try await selected(q, who) {
            let value: Double?
            if let fn = q.function {
                let r = try await storage { try await store.aggregate(g, s, from: time - lookback, to: time) }
                value = r.count == 0 ? nil : fn == .count ? Double(r.count) : r.value(fn)
            } else {
                let page = try await storage { try await store.scan(g, s, from: time - lookback, to: time, limit: config.maxScanPoints) }
                value = page.values.last
            }
            if let value { result.append("{\"metric\": \(labels(g, s)), \"value\": [\(CloudNode.promSeconds(time)), \(CloudNode.promValue(value))]}") }
        }
        return "{\"resultType\": \"vector\", \"result\": [\(result.joined(separator: ", "))]}"
    }

    /// `series?match[]=…`: the label sets the selectors name.
    func seriesSets(_ p: Parameters, _ who: Principal) async throws(CloudError) -> String {
        let selector = p["match[]"] ?? "{__name__=\"\(PromQuery.metricName)\"}"
        let q = try PromQuery.parse(selector)
        return "[" + (try await selected(q, who)).map { labels($0.gateway, $0.series) }.joined(separator: ", ") + "]"
    }

    func labelValues(_ label: String, _ who: Principal) async throws(CloudError) -> String {
        var values = Set<String>()
        switch label {
        case "__name__": values = [PromQuery.metricName]
        case "gateway": values = Set(try await storage { try await store.gatewayNames() }.filter { who.role == .reader || $0 == who.name })
        case "series":
            for g in try await storage({ try await store.gatewayNames() }) where who.role == .reader || g == who.name {
                for s in try await storage({ try await store.seriesNames(g) }) { values.insert(s) }
            }
        default: break
        }
        return "[" + values.sorted().map(JSONText.quote).joined(separator: ", ") + "]"
    }
}
