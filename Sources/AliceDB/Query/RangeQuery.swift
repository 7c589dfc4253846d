/// The range arithmetic every query shares, over decoded segments: the engine's own queries and a
/// store that keeps segments elsewhere (the cloud node's PostgreSQL store) give the same answers.
public enum RangeQuery {
    /// Index of the first element of sorted `ts` that is ≥ `t`.
    /// - Complexity: O(log n).
    @inline(__always)
    public static func lowerBound(_ ts: [Int64], _ t: Int64) -> Int {
        var lo = 0, hi = ts.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if ts[mid] < t { lo = mid + 1 } else { hi = mid }
        }
        return lo
    }

    /// Calls `body` for each point of `ts`/`values` in `[from, to]`, in order.
    @inline(__always)
    public static func forEach(_ ts: [Int64], _ values: [Double], from: Int64, to: Int64, _ body: (Int64, Double) -> Void) {
        var i = lowerBound(ts, from)
        while i < ts.count && ts[i] <= to {
            body(ts[i], values[i])
            i += 1
        }
    }

    /// Adds the points of `ts`/`values` in `[from, to]` to `s`.
    public static func summarize(_ ts: [Int64], _ values: [Double], from: Int64, to: Int64, into s: inout SegmentSummary) {
        var i = lowerBound(ts, from)
        while i < ts.count && ts[i] <= to {
            s.count += 1
            s.add(values[i])
            i += 1
        }
    }
}

/// Buckets `[from + k·interval, from + (k+1)·interval)`, filled from whole-segment summaries where a
/// segment falls in one bucket and from points elsewhere; empty buckets are not reported.
public struct Downsampler: Sendable {
    public let from: Int64
    public let to: Int64
    private let step: UInt64
    private var buckets = [UInt64: SegmentSummary]()

    /// - Precondition: `interval > 0`.
    public init(from: Int64, to: Int64, interval: Int64) {
        precondition(interval > 0)
        self.from = from
        self.to = to
        step = UInt64(interval)
    }

    @inline(__always)
    func bucket(_ t: Int64) -> UInt64 { UInt64(bitPattern: t &- from) / step }

    /// Whether a segment spanning `[first, last]` lies inside the range and in one bucket, so its
    /// summary can stand for its points.
    public func coversWhole(first: Int64, last: Int64) -> Bool {
        first >= from && last <= to && bucket(first) == bucket(last)
    }

    /// Adds a segment's summary to its bucket (only for a segment `coversWhole` accepts).
    public mutating func add(first: Int64, summary: SegmentSummary) {
        buckets[bucket(first), default: .empty].merge(summary)
    }

    /// Adds the points of `ts`/`values` in the range to their buckets.
    public mutating func add(_ ts: [Int64], _ values: [Double]) {
        // Runs of points in one bucket are summed locally to keep the dictionary out of the loop.
        var i = RangeQuery.lowerBound(ts, from)
        while i < ts.count && ts[i] <= to {
            let k = bucket(ts[i])
            var local = SegmentSummary.empty
            while i < ts.count && ts[i] <= to && bucket(ts[i]) == k {
                local.count += 1
                local.add(values[i])
                i += 1
            }
            buckets[k, default: .empty].merge(local)
        }
    }

    /// The non-empty buckets in time order.
    public var result: [Bucket] {
        buckets.keys.sorted().map { k in
            Bucket(start: from &+ Int64(bitPattern: k &* step), result: AggregateResult(buckets[k]!))
        }
    }
}
