/// The arithmetic of the functions over range vectors, one window at a time, as Prometheus does it
/// (Kahan sums, `extrapolatedRate`, `instantValue`, `linearRegression`): pure functions of a window's
/// samples, so that they are tested and measured without a store.
enum PromRangeFunctions {
    /// Functions a segment's exact summary (count, sum, min, max) answers when a window holds it whole.
    static let summarizable: Set<String> = [
        "sum_over_time", "count_over_time", "avg_over_time", "min_over_time", "max_over_time", "present_over_time",
    ]

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
}
