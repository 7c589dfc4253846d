/// The range arithmetic every query shares, over decoded segments: the engine's own queries and a
/// store that keeps segments elsewhere (the cloud node's PostgreSQL store) give the same answers.
public enum RangeQuery {
    /// Index of the first element of sorted `ts` that is ≥ `t`.
    /// - Complexity: O(log n).
    @inline(__always)
    public static func lowerBound(_ ts: [Int64], _ t: Int64) -> Int {
        var lo = 0
        var hi = ts.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if ts[mid] < t { lo = mid + 1 } else { hi = mid }
        }
        return lo
    }

    /// Calls `body` for each point of `ts`/`values` in `[from, to]`, in order.
    @inline(__always)
    public static func forEach(
        _ ts: [Int64], _ values: [Double], from: Int64, to: Int64, _ body: (Int64, Double) -> Void
    ) {
        var i = lowerBound(ts, from)
        while i < ts.count && ts[i] <= to {
            body(ts[i], values[i])
            i += 1
        }
    }

    /// Adds the points of `ts`/`values` in `[from, to]` to `s`.
    public static func summarize(
        _ ts: [Int64], _ values: [Double], from: Int64, to: Int64, into s: inout SegmentSummary
    ) {
        var i = lowerBound(ts, from)
        while i < ts.count && ts[i] <= to {
            s.count += 1
            s.add(values[i])
            i += 1
        }
    }
}
