internal import AliceDB

/// Functions over range vectors, per series and step window, with Prometheus's arithmetic
/// (Kahan sums, `extrapolatedRate`, `instantValue`, `linearRegression`).
extension PromEvaluator {
    /// Functions a segment's exact summary (count, sum, min, max) answers when a window holds it whole.
    static let summarizable: Set<String> = [
        "sum_over_time", "count_over_time", "avg_over_time", "min_over_time", "max_over_time", "present_over_time",
    ]

    func rangeFunction(_ name: String, _ args: [PromExpr]) async throws(CloudError) -> [PromSeries] {
        var argument: (PromSelector, Int64)? = nil
        var scalar: [Double]? = nil
        for a in args {
            var a = a
            while case .paren(let inner) = a { a = inner }
            if case .matrix(let s, let r) = a { argument = (s, r) } else { scalar = try await scalarArgument(a) }
        }
        guard let (selector, range) = argument else { throw .badRequest("\(name) needs a range vector argument") }
        let times = refTimes(selector)
        guard let first = times.min(), let last = times.max() else { return [] }
        var out = [PromSeries]()
        for labels in try await source.select(selector.matchers) {
            let values: [Double?]
            if PromEvaluator.summarizable.contains(name) {
                values = try await summaryWindows(name, labels, times, range)
            } else {
                let raw = try await source.samples(labels, from: first - range, to: last)
                values = windows(raw.timestamps, times, width: range).enumerated().map { k, r in
                    guard !r.isEmpty else { return nil }
                    let evalTime = selector.at == nil ? steps[k] : start
                    return raw.timestamps[r].withContiguousStorageIfAvailable { ts in
                        raw.values[r].withContiguousStorageIfAvailable { vs in
                            PromEvaluator.apply(
                                name, ts, vs, rangeStart: times[k] - range, rangeEnd: times[k], range: range,
                                evalTime: evalTime, scalar: scalar?[k])
                        } ?? nil
                    } ?? nil
                }
            }
            guard values.contains(where: { $0 != nil }) else { continue }
            out.append(PromSeries(labels: name == "last_over_time" ? labels : dropName(labels), values: values))
        }
        return out
    }

    /// One window's value of a function over raw samples (nil: no output, as Prometheus drops it).
    static func apply(
        _ name: String, _ ts: UnsafeBufferPointer<Int64>, _ vs: UnsafeBufferPointer<Double>, rangeStart: Int64,
        rangeEnd: Int64, range: Int64, evalTime: Int64, scalar: Double?
    ) -> Double? {
        let n = vs.count
        switch name {
        case "last_over_time": return vs[n - 1]
        case "quantile_over_time": return PromFunctions.quantile(scalar ?? .nan, Array(vs))
        case "stddev_over_time", "stdvar_over_time":
            var count = 0.0
            var mean = 0.0
            var cMean = 0.0
            var aux = 0.0
            var cAux = 0.0
            for v in vs {
                count += 1
                let delta = v - (mean + cMean)
                PromFunctions.kahan(delta / count, &mean, &cMean)
                PromFunctions.kahan(delta * (v - (mean + cMean)), &aux, &cAux)
            }
            let variance = (aux + cAux) / count
            return name == "stdvar_over_time" ? variance : variance.squareRoot()
        case "rate", "increase", "delta":
            return extrapolatedRate(
                ts, vs, rangeStart: rangeStart, rangeEnd: rangeEnd, range: range,
                isCounter: name != "delta", isRate: name == "rate")
        case "irate", "idelta":
            guard n >= 2 else { return nil }
            let last = vs[n - 1]
            let previous = vs[n - 2]
            var result = name == "irate" && last < previous ? last : last - previous
            let interval = ts[n - 1] - ts[n - 2]
            guard interval != 0 else { return nil }
            if name == "irate" { result /= Double(interval) / 1000 }
            return result
        case "deriv":
            guard n >= 2 else { return nil }
            return linearRegression(ts, vs, interceptTime: ts[0]).slope
        case "predict_linear":
            guard n >= 2 else { return nil }
            let (slope, intercept) = linearRegression(ts, vs, interceptTime: evalTime)
            return slope * (scalar ?? .nan) + intercept
        case "resets":
            var resets = 0
            for i in 1..<n where vs[i] < vs[i - 1] { resets += 1 }
            return Double(resets)
        case "changes":
            var changes = 0
            for i in 1..<n where vs[i] != vs[i - 1] && !(vs[i].isNaN && vs[i - 1].isNaN) { changes += 1 }
            return Double(changes)
        case "avg_over_time":
            var mean = 0.0
            var c = 0.0
            var count = 0.0
            for v in vs {
                count += 1
                if mean.isInfinite {
                    if v.isInfinite && (mean > 0) == (v > 0) { continue }
                    if !v.isInfinite && !v.isNaN { continue }
                }
                PromFunctions.kahan(v / count - mean / count, &mean, &c)
            }
            return mean.isInfinite ? mean : mean + c
        default:
            var w = WindowAggregate()
            for v in vs { w.add(v) }
            return w.value(name)
        }
    }

    /// Prometheus's `extrapolatedRate`: the change over the samples, counter resets added back,
    /// extrapolated towards the window's edges by at most half a sample interval (or to zero).
    static func extrapolatedRate(
        _ ts: UnsafeBufferPointer<Int64>, _ vs: UnsafeBufferPointer<Double>, rangeStart: Int64, rangeEnd: Int64,
        range: Int64, isCounter: Bool, isRate: Bool
    ) -> Double? {
        let n = vs.count
        guard n >= 2 else { return nil }
        var result = vs[n - 1] - vs[0]
        if isCounter {
            var previous = vs[0]
            for v in vs.dropFirst() {
                if v < previous { result += previous }
                previous = v
            }
        }
        var durationToStart = Double(ts[0] - rangeStart) / 1000
        let durationToEnd = Double(rangeEnd - ts[n - 1]) / 1000
        let sampledInterval = Double(ts[n - 1] - ts[0]) / 1000
        let averageInterval = sampledInterval / Double(n - 1)
        if isCounter && result > 0 && vs[0] >= 0 {
            let durationToZero = sampledInterval * (vs[0] / result)
            if durationToZero < durationToStart { durationToStart = durationToZero }
        }
        let threshold = averageInterval * 1.1
        var extrapolateTo = sampledInterval
        extrapolateTo += durationToStart < threshold ? durationToStart : averageInterval / 2
        extrapolateTo += durationToEnd < threshold ? durationToEnd : averageInterval / 2
        var factor = extrapolateTo / sampledInterval
        if isRate { factor /= Double(range) / 1000 }
        return result * factor
    }

    /// Least squares over (seconds since `interceptTime`, value), Kahan-summed as Prometheus does.
    static func linearRegression(
        _ ts: UnsafeBufferPointer<Int64>, _ vs: UnsafeBufferPointer<Double>, interceptTime: Int64
    )
        -> (slope: Double, intercept: Double)
    {
        var n = 0.0
        var sumX = 0.0
        var cX = 0.0
        var sumY = 0.0
        var cY = 0.0
        var sumXY = 0.0
        var cXY = 0.0
        var sumX2 = 0.0
        var cX2 = 0.0
        let initY = vs[0]
        var constY = true
        for i in 0..<vs.count {
            let v = vs[i]
            if constY && i > 0 && v != initY { constY = false }
            n += 1
            let x = Double(ts[i] - interceptTime) / 1e3
            PromFunctions.kahan(x, &sumX, &cX)
            PromFunctions.kahan(v, &sumY, &cY)
            PromFunctions.kahan(x * v, &sumXY, &cXY)
            PromFunctions.kahan(x * x, &sumX2, &cX2)
        }
        if constY {
            if initY.isInfinite { return (.nan, .nan) }
            return (0, initY)
        }
        sumX += cX
        sumY += cY
        sumXY += cXY
        sumX2 += cX2
        let covXY = sumXY - sumX * sumY / n
        let varX = sumX2 - sumX * sumX / n
        let slope = covXY / varX
        return (slope, sumY / n - slope * sumX / n)
    }

    /// `sum/count/avg/min/max/present_over_time` from exact segment summaries where a window holds a
    /// segment whole, decoding only the segments some window cuts.
    func summaryWindows(_ name: String, _ labels: PromLabels, _ times: [Int64], _ range: Int64)
        async throws(CloudError) -> [Double?]
    {
        guard let first = times.first, let last = times.last else { return [] }
        // Windows are [t − width, t] inclusive.
        let width = leftOpen ? range - 1 : range
        // A segment [f, l] stays whole when every window that meets it holds it.
        let summarize: @Sendable (Int64, Int64) -> Bool = { f, l in
            let k0 = RangeQuery.lowerBound(times, f)
            let k1 = RangeQuery.lowerBound(times, l + width + 1)
            guard k0 < k1 else { return true }
            return times[k0] >= l && times[k1 - 1] <= f + width
        }
        var ts = [Int64]()
        var vs = [Double]()
        var summaries = [(first: Int64, last: Int64, summary: SegmentSummary)]()
        for p in try await source.pieces(labels, from: first - width, to: last, summarize: summarize) {
            switch p {
            case .points(timestamps: let t, values: let v):
                ts += t
                vs += v
            case .summary(first: let f, last: let l, let s):
                summaries.append((f, l, s))
            }
        }
        var out = [Double?]()
        out.reserveCapacity(times.count)
        let pointWindows = windows(ts, times, width: range)
        var sLo = 0
        var sHi = 0
        for (k, t) in times.enumerated() {
            while sLo < summaries.count && summaries[sLo].first < t - width { sLo += 1 }
            if sHi < sLo { sHi = sLo }
            while sHi < summaries.count && summaries[sHi].last <= t { sHi += 1 }
            let r = pointWindows[k]
            if sLo == sHi {
                // Points alone: Prometheus's own arithmetic (its avg is an incremental mean, not sum/count).
                out.append(
                    r.isEmpty
                        ? nil
                        : ts[r].withUnsafeBufferPointer { tb in
                            vs[r].withUnsafeBufferPointer { vb in
                                PromEvaluator.apply(
                                    name, tb, vb, rangeStart: t - range, rangeEnd: t, range: range, evalTime: t,
                                    scalar: nil)
                            }
                        })
                continue
            }
            var w = WindowAggregate()
            for i in r { w.add(vs[i]) }
            for j in sLo..<sHi { w.merge(summaries[j].summary) }
            out.append(w.count == 0 ? nil : w.value(name))
        }
        return out
    }
}

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
