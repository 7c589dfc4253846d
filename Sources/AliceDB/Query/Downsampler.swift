internal import AliceFormat

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
