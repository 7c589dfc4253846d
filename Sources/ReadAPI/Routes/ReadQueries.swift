internal import AliceDB

/// The JSON/CSV read API: the engine's queries on one gateway's data, as JSON (default) or CSV
/// (`format=csv`, the same columns as the `alicedb` CLI prints). The same answers on a cloud node
/// (over its store) and on an agent (over its engine): each server only checks who asks, passes the
/// query string and the caller's `ReadScope`, and writes the `Answer`.
public struct ReadQueries: Sendable {
    public let store: any ReadStore
    /// At most this many points a scan page, and buckets a downsample (`max_scan_points`).
    public let maxScanPoints: Int

    public init(store: any ReadStore, maxScanPoints: Int) {
        self.store = store
        self.maxScanPoints = maxScanPoints
    }

    /// The paths this API answers.
    public static let routes = ["/v1/gateways", "/v1/series", "/v1/scan", "/v1/get", "/v1/aggregate", "/v1/downsample"]

    struct Query {
        var params: Parameters
        var scope: ReadScope
        var csv: Bool
    }

    /// The answer to `GET path?query` for a caller allowed `scope`.
    /// - Throws: `QueryError` for a refusal (the caller writes `Answer.error`), and 404 for a path
    ///   that is not one of `routes`.
    public func answer(_ path: String, _ params: Parameters, _ scope: ReadScope) async throws(QueryError) -> Answer {
        let q = try query(params, scope)
        switch path {
        case "/v1/gateways": return try await listGateways(q)
        case "/v1/series": return try await listSeries(q)
        case "/v1/scan": return try await scan(q)
        case "/v1/get": return try await point(q)
        case "/v1/aggregate": return try await aggregate(q)
        case "/v1/downsample": return try await downsample(q)
        default: throw .notFound("no route \(path.prefix(64))")
        }
    }

    func query(_ p: Parameters, _ scope: ReadScope) throws(QueryError) -> Query {
        let format = p["format"] ?? "json"
        guard format == "json" || format == "csv" else {
            throw .badRequest("format must be json or csv, not '\(format.prefix(20))'")
        }
        return Query(params: p, scope: scope, csv: format == "csv")
    }

    func range(_ p: Parameters) throws(QueryError) -> (from: Int64, to: Int64) {
        let from = try p.int64("from") ?? .min
        let to = try p.int64("to") ?? .max
        guard from <= to else { throw .badRequest("from (\(from)) is after to (\(to))") }
        return (from, to)
    }

    func listGateways(_ q: Query) async throws(QueryError) -> Answer {
        let all = try await QueryError.storage { try await store.gateways() }
        let rows = all.filter { q.scope.permits($0.name) }
        if q.csv {
            return .csv(
                "gateway,series,points,bytes\n"
                    + rows.map { "\(CSVText.field($0.name)),\($0.series),\($0.points),\($0.bytes)\n" }.joined())
        }
        let items = rows.map { r in
            "{\"name\": \(JSONText.quote(r.name)), \"series\": \(r.series), \"points\": \(r.points), \"bytes\": \(r.bytes), "
                + "\"last_upload_ms\": \(r.lastUploadMillis.map(String.init) ?? "null")}"
        }
        return .json("{\"gateways\": [\(items.joined(separator: ", "))]}\n")
    }

    func listSeries(_ q: Query) async throws(QueryError) -> Answer {
        let g = try q.scope.gateway(q.params)
        guard let stats = try await QueryError.storage({ try await store.seriesStats(g, series: nil) }) else {
            throw .notFound("no data from gateway '\(g)'")
        }
        if q.csv {
            var out = "series,points,segments,bytes,bytes_per_point,first,last,max_error,max_error_pct\n"
            for s in stats {
                out += "\(CSVText.field(s.name)),\(s.points),\(s.segments),\(s.bytes),\(s.bytesPerPoint),"
                out +=
                    "\(s.firstTimestamp.map(String.init) ?? ""),\(s.lastTimestamp.map(String.init) ?? ""),\(s.bound.absolute),\(s.bound.relativePercent)\n"
            }
            return .csv(out)
        }
        let items = stats.map { s in
            "{\"name\": \(JSONText.quote(s.name)), \"points\": \(s.points), \"segments\": \(s.segments), \"bytes\": \(s.bytes), "
                + "\"first\": \(s.firstTimestamp.map(String.init) ?? "null"), \"last\": \(s.lastTimestamp.map(String.init) ?? "null"), "
                + "\"max_error\": \(JSONText.number(s.bound.absolute)), \"max_error_pct\": \(JSONText.number(s.bound.relativePercent))}"
        }
        return .json("{\"series\": [\(items.joined(separator: ", "))]}\n")
    }

    /// `GET /v1/scan?gateway=&series=&from=&to=&limit=`: at most `limit` points (and every point
    /// sharing the last one's timestamp); when more remain, `next` (JSON) or the
    /// `X-AliceDB-Next` header (CSV) is the `from` of the next page.
    func scan(_ q: Query) async throws(QueryError) -> Answer {
        let g = try q.scope.gateway(q.params)
        let series = try q.params.required("series")
        let (from, to) = try range(q.params)
        var limit = maxScanPoints
        if let l = q.params["limit"] {
            guard let n = Int(l), n > 0 else { throw .badRequest("limit must be a positive integer") }
            limit = min(n, maxScanPoints)
        }
        let page = try await QueryError.storage { try await store.scan(g, series, from: from, to: to, limit: limit) }
        if q.csv {
            return .csv(
                PointText.csv(page), headers: page.next.map { [(name: "X-AliceDB-Next", value: String($0))] } ?? [])
        }
        return .json(PointText.json(series: series, page))
    }

    /// `GET /v1/get?gateway=&series=&at=`: the sample at exactly `at`, or 404.
    func point(_ q: Query) async throws(QueryError) -> Answer {
        let g = try q.scope.gateway(q.params)
        let series = try q.params.required("series")
        guard let at = try q.params.int64("at") else { throw .badRequest("missing parameter 'at'") }
        guard let v = try await QueryError.storage({ try await store.get(g, series, at: at) }) else {
            throw .notFound("no sample of \(series) at \(at)", code: "no_sample")
        }
        if q.csv { return .csv("ts,value\n\(at),\(DoubleText.format(v))\n") }
        return .json("{\"ts\": \(at), \"value\": \(JSONText.number(v))}\n")
    }

    func aggregateJSON(_ r: AggregateResult) -> String {
        let f: (Double?) -> String = { $0.map(JSONText.number) ?? "null" }
        return
            "\"count\": \(r.count), \"sum\": \(f(r.numericCount > 0 ? r.sum : nil)), \"avg\": \(f(r.avg)), \"min\": \(f(r.min)), \"max\": \(f(r.max))"
    }

    /// `GET /v1/aggregate?gateway=&series=&from=&to=`: count, sum, avg, min, max (exact from
    /// segment summaries where whole segments are covered).
    func aggregate(_ q: Query) async throws(QueryError) -> Answer {
        let g = try q.scope.gateway(q.params)
        let series = try q.params.required("series")
        let (from, to) = try range(q.params)
        let r = try await QueryError.storage { try await store.aggregate(g, series, from: from, to: to) }
        if q.csv {
            let f: (Double?) -> String = { $0.map(DoubleText.format) ?? "" }
            return .csv(
                "count,sum,avg,min,max\n\(r.count),\(f(r.numericCount > 0 ? r.sum : nil)),\(f(r.avg)),\(f(r.min)),\(f(r.max))\n"
            )
        }
        return .json("{\(aggregateJSON(r))}\n")
    }

    /// `GET /v1/downsample?gateway=&series=&from=&to=&interval=&fn=`: one value per bucket
    /// (empty buckets omitted); buckets start at `from`, by default the series' first point.
    func downsample(_ q: Query) async throws(QueryError) -> Answer {
        let g = try q.scope.gateway(q.params)
        let series = try q.params.required("series")
        guard let interval = try q.params.int64("interval"), interval > 0 else {
            throw .badRequest("interval must be a positive integer")
        }
        let fnText = q.params["fn"] ?? "avg"
        guard let fn = Aggregation(rawValue: fnText) else {
            throw .badRequest("fn must be count, sum, avg, min or max, not '\(fnText.prefix(20))'")
        }
        var (from, to) = try range(q.params)
        let stats = try await QueryError.storage { try await store.seriesStats(g, series: series) }
        guard let stats else { throw .notFound("no data from gateway '\(g)'") }
        guard let first = stats.first?.firstTimestamp, let lastTS = stats.first?.lastTimestamp else {
            return q.csv ? .csv("ts,\(fn.rawValue)\n") : .json("{\"buckets\": []}\n")
        }
        if q.params["from"] == nil { from = first }
        to = min(to, lastTS)
        // Unsigned: `to - from` overflows Int64 from a `from` far in the past (it wrapped negative
        // and let any number of buckets through).
        if to >= from, UInt64(bitPattern: to &- from) / UInt64(interval) > UInt64(maxScanPoints) {
            throw .badRequest("more than \(maxScanPoints) buckets: use a larger interval or a shorter range")
        }
        let buckets =
            to < from
            ? []
            : try await QueryError.storage {
                try await store.downsample(g, series, from: from, to: to, interval: interval)
            }
        let value: (AggregateResult) -> Double? = { fn == .count ? Double($0.count) : $0.value(fn) }
        if q.csv {
            return .csv(
                "ts,\(fn.rawValue)\n"
                    + buckets.map { "\($0.start),\(value($0.result).map(DoubleText.format) ?? "")\n" }.joined())
        }
        let items = buckets.map { "[\($0.start), \(value($0.result).map(JSONText.number) ?? "null")]" }
        return .json(
            "{\"fn\": \"\(fn.rawValue)\", \"interval\": \(interval), \"buckets\": [\(items.joined(separator: ", "))]}\n"
        )
    }
}
