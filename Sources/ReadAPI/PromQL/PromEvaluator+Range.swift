internal import AliceDB

/// Functions over range vectors, per series and step window: the evaluator selects the series and
/// cuts the windows (from exact segment summaries where it can), `PromRangeFunctions` computes each
/// window's value.
extension PromEvaluator {
    func rangeFunction(_ name: String, _ args: [PromExpr]) async throws(QueryError) -> [PromSeries] {
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
            if PromRangeFunctions.summarizable.contains(name) {
                values = try await summaryWindows(name, labels, times, range)
            } else {
                let raw = try await source.samples(labels, from: first - range, to: last)
                values = windows(raw.timestamps, times, width: range).enumerated().map { k, r in
                    guard !r.isEmpty else { return nil }
                    let evalTime = selector.at == nil ? steps[k] : start
                    return raw.timestamps[r].withContiguousStorageIfAvailable { ts in
                        raw.values[r].withContiguousStorageIfAvailable { vs in
                            PromRangeFunctions.apply(
                                name, ts, vs, rangeStart: times[k] - range, rangeEnd: times[k], range: range,
                                evalTime: evalTime, scalar: scalar?[k])
                        } ?? nil
                    } ?? nil
                }
            }
            guard values.contains(where: { $0 != nil }) else { continue }
            out.append(PromSeries(labels: name == "last_over_time" ? labels : PromQL.dropName(labels), values: values))
        }
        return out
    }

    /// `sum/count/avg/min/max/present_over_time` from exact segment summaries where a window holds a
    /// segment whole, decoding only the segments some window cuts.
    func summaryWindows(_ name: String, _ labels: PromLabels, _ times: [Int64], _ range: Int64)
        async throws(QueryError) -> [Double?]
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
                                PromRangeFunctions.apply(
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
