internal import AliceFormat

/// The queries over one series: its segments in the store, then its MemTable buffer, merged in
/// time order. A value made under the engine's lock and used before it is released.
struct SeriesReader {
    let series: UInt32
    let store: SegmentStore
    /// The series' unflushed points (nil: none buffered).
    let buffer: SeriesBuffer?

    /// Segments of the series that overlap `[from, to]`, in index order.
    func overlapping(_ from: Int64, _ to: Int64) throws(AliceDBError) -> [SegmentRef] {
        try store.refs(series, from: from, to: to).refs
    }

    @inline(__always)
    func lowerBound(_ ts: [Int64], _ t: Int64) -> Int { RangeQuery.lowerBound(ts, t) }

    /// Calls `body` for every point in `[from, to]`, in time order (ties: arrival order), until it
    /// returns false: a page of a long range decodes only the segments it takes points from.
    func scan(from: Int64, to: Int64, _ body: (Int64, Double) -> Bool) throws(AliceDBError) {
        guard from <= to else { return }
        let (refs, overlaps) = try store.refs(series, from: from, to: to)
        var needsSort = overlaps
        var lastT = Int64.min
        var collected = [DataPoint]()
        var going = true
        func emit(_ t: Int64, _ v: Double) {
            if needsSort { collected.append(DataPoint(t, v)) } else { going = body(t, v) }
        }
        if let buffer, buffer.count > 0, let lastRef = refs.last,
            buffer.first <= lastRef.lastTimestamp
        {
            needsSort = true
        }
        for ref in refs where going {
            guard let d = try store.decodeForQuery(ref) else { continue }
            var i = lowerBound(d.timestamps, from)
            while going && i < d.timestamps.count && d.timestamps[i] <= to {
                emit(d.timestamps[i], d.values[i])
                i += 1
            }
            lastT = max(lastT, ref.lastTimestamp)
        }
        if going, let (ts, values) = buffer?.points(from: from, to: to) {
            var i = lowerBound(ts, from)
            while going && i < ts.count && ts[i] <= to {
                emit(ts[i], values[i])
                i += 1
            }
        }
        if needsSort {
            // Stable: segments come in (start, flush) order and the MemTable last.
            let order = collected.indices.sorted { (collected[$0].timestamp, $0) < (collected[$1].timestamp, $1) }
            for i in order where !body(collected[i].timestamp, collected[i].value) { return }
        }
    }

    /// The value stored at exactly `t` (the most recently written if there are several).
    func get(at t: Int64) throws(AliceDBError) -> Double? {
        if let (ts, values) = buffer?.points(from: t, to: t) {
            var i = lowerBound(ts, t)
            var found: Double? = nil
            while i < ts.count && ts[i] == t {
                found = values[i]
                i += 1
            }
            if let found { return found }
        }
        var result: Double? = nil
        var resultLSN: UInt64 = 0
        for ref in try overlapping(t, t) {
            guard let d = try store.decodeForQuery(ref) else { continue }
            var i = lowerBound(d.timestamps, t)
            while i < d.timestamps.count && d.timestamps[i] == t {
                if result == nil || ref.lsn >= resultLSN {
                    result = d.values[i]
                    resultLSN = ref.lsn
                }
                i += 1
            }
        }
        return result
    }

    /// Count, sum, min, max over `[from, to]`: summaries for whole segments, the model inside partial ones.
    func aggregate(from: Int64, to: Int64) throws(AliceDBError) -> AggregateResult {
        var s = SegmentSummary.empty
        guard from <= to else { return AggregateResult(s) }
        let (whole, refs) = try store.aggregateParts(series, from: from, to: to)
        s.merge(whole)
        for ref in refs {
            if ref.firstTimestamp >= from && ref.lastTimestamp <= to {
                if let summary = try store.summaryForQuery(ref) { s.merge(summary) }
                continue
            }
            guard let d = try store.decodeForQuery(ref) else { continue }
            RangeQuery.summarize(d.timestamps, d.values, from: from, to: to, into: &s)
        }
        if let (ts, values) = buffer?.points(from: from, to: to) {
            RangeQuery.summarize(ts, values, from: from, to: to, into: &s)
        }
        return AggregateResult(s)
    }

    /// Buckets `[from + k·interval, from + (k+1)·interval)` over `[from, to]`; empty buckets omitted.
    func downsample(from: Int64, to: Int64, interval: Int64) throws(AliceDBError) -> [Bucket] {
        guard interval > 0 else { throw AliceDBError(.invalidArgument, "interval must be positive") }
        guard from <= to else { return [] }
        var d = Downsampler(from: from, to: to, interval: interval)
        for ref in try overlapping(from, to) {
            if d.coversWhole(first: ref.firstTimestamp, last: ref.lastTimestamp) {
                guard let summary = try store.summaryForQuery(ref) else { continue }
                d.add(first: ref.firstTimestamp, summary: summary)
                continue
            }
            guard let seg = try store.decodeForQuery(ref) else { continue }
            d.add(seg.timestamps, seg.values)
        }
        if let (ts, values) = buffer?.points(from: from, to: to) { d.add(ts, values) }
        return d.result
    }

    /// The data of `[from, to]` in time order: a segment that lies inside it and that `summarize`
    /// accepts as its exact summary, everything else as points. Overlapping segments (or MemTable
    /// points inside a segment's span) come as points, sorted.
    func pieces(from: Int64, to: Int64, summarize: (Int64, Int64) -> Bool) throws(AliceDBError)
        -> [SeriesPiece]
    {
        guard from <= to else { return [] }
        let (refs, overlaps) = try store.refs(series, from: from, to: to)
        let memory = buffer?.points(from: from, to: to)
        let memoryFirst = memory.flatMap { m in m.0.first(where: { $0 >= from }) } ?? .max
        if overlaps || (refs.last.map { memoryFirst <= $0.lastTimestamp } ?? false) {
            var ts = [Int64]()
            var vs = [Double]()
            try scan(from: from, to: to) { t, v in
                ts.append(t)
                vs.append(v)
                return true
            }
            return [.points(timestamps: ts, values: vs)]
        }
        var out = [SeriesPiece]()
        var ts = [Int64]()
        var vs = [Double]()
        func take(_ t: [Int64], _ v: [Double]) {
            let lo = lowerBound(t, from)
            let hi = to == .max ? t.count : lowerBound(t, to + 1)
            guard lo < hi else { return }
            ts.append(contentsOf: t[lo..<hi])
            vs.append(contentsOf: v[lo..<hi])
        }
        for ref in refs {
            if ref.firstTimestamp >= from && ref.lastTimestamp <= to
                && summarize(ref.firstTimestamp, ref.lastTimestamp),
                let summary = try store.summaryForQuery(ref)
            {
                if !ts.isEmpty {
                    out.append(.points(timestamps: ts, values: vs))
                    ts = []
                    vs = []
                }
                out.append(.summary(first: ref.firstTimestamp, last: ref.lastTimestamp, summary))
                continue
            }
            guard let d = try store.decodeForQuery(ref) else { continue }
            take(d.timestamps, d.values)
        }
        if let (t, v) = memory { take(t, v) }
        if !ts.isEmpty { out.append(.points(timestamps: ts, values: vs)) }
        return out
    }
}
