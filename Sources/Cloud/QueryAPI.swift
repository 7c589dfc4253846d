internal import AliceDB
internal import HTTPTypes
internal import Hummingbird

/// The query API: the engine's queries on one gateway's data, as JSON (default) or CSV
/// (`format=csv`, the same columns as the `alicedb` CLI prints).
///
/// Its own route handler: it gets the store, the scan limit and the node's check of who asks; a
/// gateway's token reads only its own gateway (`gateway(_:for:)`), a reader's any.
struct QueryAPI: Sendable {
    let store: any CloudStorage
    /// At most this many points a scan page, and buckets a downsample (`max_scan_points`).
    let maxScanPoints: Int
    /// The caller named by a request's token, after its rate limit (`CloudNode.principal`).
    let principal: @Sendable (Request) async throws(CloudError) -> Principal

    struct Query {
        var params: Parameters
        var who: Principal
        var csv: Bool
    }

    func addRoutes(to router: Router<BasicRequestContext>) {
        router.get("/v1/gateways") { request, _ in try await self.listGateways(request) }
        router.get("/v1/series") { request, _ in try await self.listSeries(request) }
        router.get("/v1/scan") { request, _ in try await self.scan(request) }
        router.get("/v1/get") { request, _ in try await self.point(request) }
        router.get("/v1/aggregate") { request, _ in try await self.aggregate(request) }
        router.get("/v1/downsample") { request, _ in try await self.downsample(request) }
    }

    func query(_ request: Request) async throws(CloudError) -> Query {
        let who = try await principal(request)
        let p = Parameters(request.uri.query)
        let format = p["format"] ?? "json"
        guard format == "json" || format == "csv" else {
            throw .badRequest("format must be json or csv, not '\(format.prefix(20))'")
        }
        return Query(params: p, who: who, csv: format == "csv")
    }

    /// The gateway a query is about: a gateway's token reads its own data only.
    func gateway(_ p: Parameters, for who: Principal) throws(CloudError) -> String {
        switch who.role {
        case .gateway:
            let name = p["gateway"] ?? who.name
            guard name == who.name else {
                throw CloudError(.forbidden, "a gateway's token reads only its own data ('\(who.name)')")
            }
            return name
        case .reader:
            let name = try p.required("gateway")
            guard CloudConfig.validGatewayName(name) else {
                throw .notFound("no data from gateway '\(name.prefix(64))'")
            }
            return name
        }
    }

    func range(_ p: Parameters) throws(CloudError) -> (from: Int64, to: Int64) {
        let from = try p.int64("from") ?? .min
        let to = try p.int64("to") ?? .max
        guard from <= to else { throw .badRequest("from (\(from)) is after to (\(to))") }
        return (from, to)
    }

    func listGateways(_ request: Request) async throws(CloudError) -> Response {
        let q = try await query(request)
        let all = try await CloudError.storage { try await store.gateways() }
        let rows = q.who.role == .reader ? all : all.filter { $0.name == q.who.name }
        if q.csv {
            return Reply.csv(
                "gateway,series,points,bytes\n"
                    + rows.map { "\(CSVText.field($0.name)),\($0.series),\($0.points),\($0.bytes)\n" }.joined())
        }
        let items = rows.map { r in
            "{\"name\": \(JSONText.quote(r.name)), \"series\": \(r.series), \"points\": \(r.points), \"bytes\": \(r.bytes), "
                + "\"last_upload_ms\": \(r.lastUploadMillis.map(String.init) ?? "null")}"
        }
        return Reply.json("{\"gateways\": [\(items.joined(separator: ", "))]}\n")
    }

    func listSeries(_ request: Request) async throws(CloudError) -> Response {
        let q = try await query(request)
        let g = try gateway(q.params, for: q.who)
        guard let stats = try await CloudError.storage({ try await store.seriesStats(g, series: nil) }) else {
            throw .notFound("no data from gateway '\(g)'")
        }
        if q.csv {
            var out = "series,points,segments,bytes,bytes_per_point,first,last,max_error,max_error_pct\n"
            for s in stats {
                out += "\(CSVText.field(s.name)),\(s.points),\(s.segments),\(s.bytes),\(s.bytesPerPoint),"
                out +=
                    "\(s.firstTimestamp.map(String.init) ?? ""),\(s.lastTimestamp.map(String.init) ?? ""),\(s.bound.absolute),\(s.bound.relativePercent)\n"
            }
            return Reply.csv(out)
        }
        let items = stats.map { s in
            "{\"name\": \(JSONText.quote(s.name)), \"points\": \(s.points), \"segments\": \(s.segments), \"bytes\": \(s.bytes), "
                + "\"first\": \(s.firstTimestamp.map(String.init) ?? "null"), \"last\": \(s.lastTimestamp.map(String.init) ?? "null"), "
                + "\"max_error\": \(JSONText.number(s.bound.absolute)), \"max_error_pct\": \(JSONText.number(s.bound.relativePercent))}"
        }
        return Reply.json("{\"series\": [\(items.joined(separator: ", "))]}\n")
    }

    /// `GET /v1/scan?gateway=&series=&from=&to=&limit=`: at most `limit` points (and every point
    /// sharing the last one's timestamp); when more remain, `next` (JSON) or the
    /// `X-AliceDB-Next` header (CSV) is the `from` of the next page.
    func scan(_ request: Request) async throws(CloudError) -> Response {
        let q = try await query(request)
        let g = try gateway(q.params, for: q.who)
        let series = try q.params.required("series")
        let (from, to) = try range(q.params)
        var limit = maxScanPoints
        if let l = q.params["limit"] {
            guard let n = Int(l), n > 0 else { throw .badRequest("limit must be a positive integer") }
            limit = min(n, maxScanPoints)
        }
        let page = try await CloudError.storage { try await store.scan(g, series, from: from, to: to, limit: limit) }
        if q.csv {
            return Reply.csv(
                PointText.csv(page), headers: page.next.map { [HTTPField.Name("X-AliceDB-Next")!: String($0)] } ?? [:])
        }
        return Reply.json(PointText.json(series: series, page))
    }

    /// `GET /v1/get?gateway=&series=&at=`: the sample at exactly `at`, or 404.
    func point(_ request: Request) async throws(CloudError) -> Response {
        let q = try await query(request)
        let g = try gateway(q.params, for: q.who)
        let series = try q.params.required("series")
        guard let at = try q.params.int64("at") else { throw .badRequest("missing parameter 'at'") }
        guard let v = try await CloudError.storage({ try await store.get(g, series, at: at) }) else {
            throw .notFound("no sample of \(series) at \(at)", code: "no_sample")
        }
        if q.csv { return Reply.csv("ts,value\n\(at),\(DoubleText.format(v))\n") }
        return Reply.json("{\"ts\": \(at), \"value\": \(JSONText.number(v))}\n")
    }

    func aggregateJSON(_ r: AggregateResult) -> String {
        let f: (Double?) -> String = { $0.map(JSONText.number) ?? "null" }
        return
            "\"count\": \(r.count), \"sum\": \(f(r.numericCount > 0 ? r.sum : nil)), \"avg\": \(f(r.avg)), \"min\": \(f(r.min)), \"max\": \(f(r.max))"
    }

    /// `GET /v1/aggregate?gateway=&series=&from=&to=`: count, sum, avg, min, max (exact from
    /// segment summaries where whole segments are covered).
    func aggregate(_ request: Request) async throws(CloudError) -> Response {
        let q = try await query(request)
        let g = try gateway(q.params, for: q.who)
        let series = try q.params.required("series")
        let (from, to) = try range(q.params)
        let r = try await CloudError.storage { try await store.aggregate(g, series, from: from, to: to) }
        if q.csv {
            let f: (Double?) -> String = { $0.map(DoubleText.format) ?? "" }
            return Reply.csv(
                "count,sum,avg,min,max\n\(r.count),\(f(r.numericCount > 0 ? r.sum : nil)),\(f(r.avg)),\(f(r.min)),\(f(r.max))\n"
            )
        }
        return Reply.json("{\(aggregateJSON(r))}\n")
    }

    /// `GET /v1/downsample?gateway=&series=&from=&to=&interval=&fn=`: one value per bucket
    /// (empty buckets omitted); buckets start at `from`, by default the series' first point.
    func downsample(_ request: Request) async throws(CloudError) -> Response {
        let q = try await query(request)
        let g = try gateway(q.params, for: q.who)
        let series = try q.params.required("series")
        guard let interval = try q.params.int64("interval"), interval > 0 else {
            throw .badRequest("interval must be a positive integer")
        }
        let fnText = q.params["fn"] ?? "avg"
        guard let fn = Aggregation(rawValue: fnText) else {
            throw .badRequest("fn must be count, sum, avg, min or max, not '\(fnText.prefix(20))'")
        }
        var (from, to) = try range(q.params)
        let stats = try await CloudError.storage { try await store.seriesStats(g, series: series) }
        guard let stats else { throw .notFound("no data from gateway '\(g)'") }
        guard let first = stats.first?.firstTimestamp, let lastTS = stats.first?.lastTimestamp else {
            return q.csv ? Reply.csv("ts,\(fn.rawValue)\n") : Reply.json("{\"buckets\": []}\n")
        }
        if q.params["from"] == nil { from = first }
        to = min(to, lastTS)
        if to >= from, (to.subtractingReportingOverflow(from).partialValue / interval) > Int64(maxScanPoints) {
            throw .badRequest("more than \(maxScanPoints) buckets: use a larger interval or a shorter range")
        }
        let buckets =
            to < from
            ? []
            : try await CloudError.storage {
                try await store.downsample(g, series, from: from, to: to, interval: interval)
            }
        let value: (AggregateResult) -> Double? = { fn == .count ? Double($0.count) : $0.value(fn) }
        if q.csv {
            return Reply.csv(
                "ts,\(fn.rawValue)\n"
                    + buckets.map { "\($0.start),\(value($0.result).map(DoubleText.format) ?? "")\n" }.joined())
        }
        let items = buckets.map { "[\($0.start), \(value($0.result).map(JSONText.number) ?? "null")]" }
        return Reply.json(
            "{\"fn\": \"\(fn.rawValue)\", \"interval\": \(interval), \"buckets\": [\(items.joined(separator: ", "))]}\n"
        )
    }
}
