internal import AliceDB

/// Count, Kahan sum, min and max of a window's values (NaN counted apart, as Prometheus's
/// `min_over_time` keeps NaN only when every value is NaN and a sum with NaN is NaN).
struct WindowAggregate {
    var count = 0
    var nanCount = 0
    var sum = 0.0
    var compensation = 0.0
    var min = Double.infinity
    var max = -Double.infinity

    @inline(__always)
    mutating func add(_ v: Double) {
        count += 1
        if v.isNaN {
            nanCount += 1
            return
        }
        PromFunctions.kahan(v, &sum, &compensation)
        if v < min { min = v }
        if v > max { max = v }
    }

    mutating func merge(_ s: SegmentSummary) {
        count += s.count
        nanCount += s.nanCount
        guard s.count > s.nanCount else { return }
        PromFunctions.kahan(s.sum, &sum, &compensation)
        if s.min < min { min = s.min }
        if s.max > max { max = s.max }
    }

    func value(_ name: String) -> Double {
        let numeric = count - nanCount
        let total = sum.isInfinite ? sum : sum + compensation
        switch name {
        case "count_over_time": return Double(count)
        case "present_over_time": return 1
        case "sum_over_time": return nanCount > 0 ? .nan : total
        case "avg_over_time": return nanCount > 0 ? .nan : total / Double(count)
        case "min_over_time": return numeric == 0 ? .nan : min
        default: return numeric == 0 ? .nan : max
        }
    }
}
