internal import AliceDB

/// Evaluates PromQL over the steps `start, start + step, …, ≤ end` as Prometheus 2.x does: an
/// instant selector takes the newest sample in `[t − lookback, t]`, a range selector the samples in
/// `[t − range, t]` (Prometheus 3 opens both on the left: `leftOpen`).
struct PromEvaluator: Sendable {
    let source: any PromSource
    let start: Int64
    let end: Int64
    let step: Int64
    let steps: [Int64]
    var lookback: Int64 = 300_000
    var leftOpen = false

    init(source: any PromSource, start: Int64, end: Int64, step: Int64) {
        self.source = source
        self.start = start
        self.end = end
        self.step = step
        var s = [Int64]()
        var t = start
        while t <= end {
            s.append(t)
            if step <= 0 { break }
            t += step
        }
        steps = s
    }

    func eval(_ e: PromExpr) async throws(QueryError) -> PromValue {
        switch e {
        case .number(let n): return .scalar(Array(repeating: n, count: steps.count))
        case .string(let s): return .string(s)
        case .paren(let x): return try await eval(x)
        case .negate(let x):
            switch try await eval(x) {
            case .scalar(let v): return .scalar(v.map { -$0 })
            case .vector(let v):
                return .vector(
                    v.map { PromSeries(labels: PromQL.dropName($0.labels), values: $0.values.map { $0.map { -$0 } }) })
            default: throw .badRequest("unary minus needs a scalar or an instant vector")
            }
        case .selector(let s): return .vector(try await instantSelector(s))
        case .matrix(let s, let range):
            guard steps.count == 1 else {
                throw .badRequest(
                    "invalid expression type \"range vector\" for range query, must be Scalar or instant Vector")
            }
            let times = refTimes(s)
            var out = [PromSamples]()
            for labels in try await source.select(s.matchers) {
                var raw = try await source.samples(labels, from: times[0] - range, to: times[0])
                let lo = window(raw.timestamps, from: times[0] - range)
                raw.timestamps.removeFirst(lo)
                raw.values.removeFirst(lo)
                raw.labels = labels
                if !raw.timestamps.isEmpty { out.append(raw) }
            }
            return .matrix(out)
        case .call(let name, let args):
            let v = try await call(name, args)
            if case .vector(let series) = v { try PromEvaluator.requireDistinct(series) }
            return v
        case .aggregate(let a, let x, let p): return try await aggregate(a, x, parameter: p)
        case .binary(let op, let l, let r, let m): return try await binary(op, l, r, m)
        }
    }

    /// Prometheus's "vector cannot contain metrics with the same labelset": two series with one label
    /// set (a function dropped the name, `label_replace` made them equal) may not meet at a step.
    static func requireDistinct(_ v: [PromSeries]) throws(QueryError) {
        var seen = [String: Int]()
        for (i, s) in v.enumerated() {
            let sig = PromQL.signature(s.labels)
            if let j = seen[sig] {
                if zip(v[j].values, s.values).contains(where: { $0 != nil && $1 != nil }) {
                    throw QueryError(.unprocessableContent, "vector cannot contain metrics with the same labelset")
                }
            } else {
                seen[sig] = i
            }
        }
    }

    /// Each step's time as a selector sees it: `@` fixes it, `offset` moves it back.
    func refTimes(_ s: PromSelector) -> [Int64] {
        let fixed: Int64? =
            switch s.at {
            case .time(let t): t
            case .start: start
            case .end: end
            case nil: nil
            }
        return steps.map { (fixed ?? $0) - s.offset }
    }

    /// The first index of `ts` inside a window that starts at `from` (open or closed as configured).
    func window(_ ts: [Int64], from: Int64) -> Int {
        leftOpen ? RangeQuery.lowerBound(ts, from + 1) : RangeQuery.lowerBound(ts, from)
    }

    /// The samples each step's window holds: `[t − width, t]` per reference time, as index ranges.
    func windows(_ ts: [Int64], _ times: [Int64], width: Int64) -> [Range<Int>] {
        var out = [Range<Int>]()
        out.reserveCapacity(times.count)
        var lo = 0
        var hi = 0
        var previous = Int64.min
        for t in times {
            if t < previous {
                lo = 0
                hi = 0
            }  // not monotone (never with one offset): restart
            previous = t
            let from = leftOpen ? t - width + 1 : t - width
            while lo < ts.count && ts[lo] < from { lo += 1 }
            if hi < lo { hi = lo }
            while hi < ts.count && ts[hi] <= t { hi += 1 }
            out.append(lo..<hi)
        }
        return out
    }

    /// Each step's newest sample in its lookback window: its value, or (`sampleTimes`, for
    /// `timestamp(selector)`) its time in seconds, the metric name dropped.
    func instantSelector(_ s: PromSelector, sampleTimes: Bool = false) async throws(QueryError) -> [PromSeries] {
        let times = refTimes(s)
        guard let first = times.min(), let last = times.max() else { return [] }
        var out = [PromSeries]()
        for labels in try await source.select(s.matchers) {
            let raw = try await source.samples(labels, from: first - lookback, to: last)
            let values = windows(raw.timestamps, times, width: lookback).map { r -> Double? in
                guard let i = r.last else { return nil }
                return sampleTimes ? Double(raw.timestamps[i]) / 1000 : raw.values[i]
            }
            out.append(PromSeries(labels: sampleTimes ? PromQL.dropName(labels) : labels, values: values))
        }
        return out
    }

    /// The value of a scalar argument at every step.
    func scalarArgument(_ e: PromExpr) async throws(QueryError) -> [Double] {
        guard case .scalar(let v) = try await eval(e) else { throw .badRequest("expected a scalar argument") }
        return v
    }

    func vectorArgument(_ e: PromExpr) async throws(QueryError) -> [PromSeries] {
        guard case .vector(let v) = try await eval(e) else { throw .badRequest("expected an instant vector argument") }
        return v
    }

    func stringArgument(_ e: PromExpr) async throws(QueryError) -> String {
        guard case .string(let s) = try await eval(e) else { throw .badRequest("expected a string argument") }
        return s
    }
}
