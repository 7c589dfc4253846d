public import AliceDB
internal import NIOCore
internal import PostgresNIO
public import ReadAPI

/// Queries over the stored segments: the database finds the segments that overlap a range
/// (`PostgresSegments`), whole-segment summaries come from columns, and only segments cut by the
/// range are fetched whole and decoded here.
extension PostgresStorage {
    /// Segments fetched per round trip while a scan fills its page: a few at first (a small page
    /// decodes only what it shows), doubling up to the largest.
    static let scanChunks = (first: 4, largest: 256)

    /// Throws `.notFound` the way the engine does when a series (or gateway) has no data.
    func requireSeries(_ gateway: String, _ series: String) async throws {
        let key = PostgresSchema.key(gateway, series)
        let client = pool.client
        let found: Bool = try await pool.run("looking up a series") {
            for try await _ in try await client.query("SELECT 1 FROM alicedb_series WHERE series_key = \(key)").decode(
                Int32.self)
            { return true }
            return false
        }
        guard !found else { return }
        if try await hasGateway(gateway) { throw AliceDBError(.notFound, "unknown series '\(series)'") }
        throw AliceDBError(.notFound, "no data from gateway '\(gateway)'")
    }

    public func scan(_ gateway: String, _ series: String, from: Int64, to: Int64, limit: Int) async throws -> ScanPage {
        let key = PostgresSchema.key(gateway, series)
        var collector = ScanCollector(limit: limit)
        // Points not yet given out, with their order among equal timestamps (segment order, then
        // position): a later chunk starts no earlier than the last chunk's final first_ts, so
        // everything before that is final.
        var pending = [(t: Int64, order: Int, v: Double)]()
        var after: (Int64, Int64)? = nil
        var order = 0
        var sawAny = false
        var chunkSize = PostgresStorage.scanChunks.first
        while true {
            let chunk = try await segments.overlapping(key, from: from, to: to, after: after, limit: chunkSize)
            sawAny = sawAny || !chunk.isEmpty
            for s in chunk {
                let d = try ReceivedSegment.decode(s.body)
                RangeQuery.forEach(d.timestamps, d.values, from: from, to: to) { t, v in
                    pending.append((t, order, v))
                    order += 1
                }
            }
            let done = chunk.count < chunkSize
            let watermark = done ? Int64.max : chunk.last!.first
            pending.sort { ($0.t, $0.order) < ($1.t, $1.order) }
            var used = 0
            var full = false
            while used < pending.count && (done || pending[used].t < watermark) {
                if !collector.take(pending[used].t, pending[used].v) {
                    full = true
                    break
                }
                used += 1
            }
            if full || done { break }
            pending.removeFirst(used)
            after = (chunk.last!.first, chunk.last!.seq)
            chunkSize = min(PostgresStorage.scanChunks.largest, chunkSize * 2)
        }
        if !sawAny { try await requireSeries(gateway, series) }
        return collector.page
    }

    public func get(_ gateway: String, _ series: String, at t: Int64) async throws -> Double? {
        let key = PostgresSchema.key(gateway, series)
        let segments = try await segments.overlapping(key, from: t, to: t)
        if segments.isEmpty { try await requireSeries(gateway, series) }
        // The most recently written wins: the last segment (by seq) holding t, its last such point.
        var best: (seq: Int64, v: Double)? = nil
        for s in segments {
            let d = try ReceivedSegment.decode(s.body)
            var i = RangeQuery.lowerBound(d.timestamps, t)
            while i < d.timestamps.count && d.timestamps[i] == t {
                if best == nil || s.seq >= best!.seq { best = (s.seq, d.values[i]) }
                i += 1
            }
        }
        return best?.v
    }

    public func aggregate(_ gateway: String, _ series: String, from: Int64, to: Int64) async throws -> AggregateResult {
        let key = PostgresSchema.key(gateway, series)
        guard from <= to else {
            try await requireSeries(gateway, series)
            return AggregateResult(.empty)
        }
        // Segments inside the range: their exact summaries, summed by the database.
        var s = try await segments.summaryInside(key, from: from, to: to)
        let partial = try await segments.overlapping(key, from: from, to: to, partialOnly: true)
        for seg in partial {
            let d = try ReceivedSegment.decode(seg.body)
            RangeQuery.summarize(d.timestamps, d.values, from: from, to: to, into: &s)
        }
        if s.count == 0 && partial.isEmpty { try await requireSeries(gateway, series) }
        return AggregateResult(s)
    }

    public func downsample(_ gateway: String, _ series: String, from: Int64, to: Int64, interval: Int64) async throws
        -> [Bucket]
    {
        guard interval > 0 else { throw AliceDBError(.invalidArgument, "interval must be positive") }
        let key = PostgresSchema.key(gateway, series)
        guard from <= to else {
            try await requireSeries(gateway, series)
            return []
        }
        // A segment inside one bucket comes as its summary; the others whole.
        let rows = try await segments.summarized(key, from: from, to: to, bucket: interval)
        if rows.isEmpty { try await requireSeries(gateway, series) }
        var d = Downsampler(from: from, to: to, interval: interval)
        for r in rows {
            if let body = r.body {
                let seg = try ReceivedSegment.decode(body)
                d.add(seg.timestamps, seg.values)
            } else {
                d.add(first: r.first, summary: r.summary)
            }
        }
        return d.result
    }
}

extension PostgresStorage {
    public func pieces(
        _ gateway: String, _ series: String, from: Int64, to: Int64, summarize: @Sendable (Int64, Int64) -> Bool
    )
        async throws -> [SeriesPiece]
    {
        let key = PostgresSchema.key(gateway, series)
        guard from <= to else {
            try await requireSeries(gateway, series)
            return []
        }
        let rows = try await segments.summarized(key, from: from, to: to, bucket: nil)
        if rows.isEmpty { try await requireSeries(gateway, series) }
        // Segments that overlap in time: their points, merged in order.
        if zip(rows, rows.dropFirst()).contains(where: { $1.first <= $0.last }) {
            let p = try await points(gateway, series, from: from, to: to)
            return [.points(timestamps: p.timestamps, values: p.values)]
        }
        var out = [SeriesPiece]()
        var ts = [Int64]()
        var vs = [Double]()
        for r in rows {
            if r.first >= from && r.last <= to && summarize(r.first, r.last) {
                if !ts.isEmpty { out.append(.points(timestamps: ts, values: vs)) }
                ts = []
                vs = []
                out.append(.summary(first: r.first, last: r.last, r.summary))
                continue
            }
            let seg = try ReceivedSegment.decode(r.body ?? [])
            for (t, v) in zip(seg.timestamps, seg.values) where t >= from && t <= to {
                ts.append(t)
                vs.append(v)
            }
        }
        if !ts.isEmpty { out.append(.points(timestamps: ts, values: vs)) }
        return out
    }
}
