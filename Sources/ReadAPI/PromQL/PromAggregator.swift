/// PromQL's aggregations (`sum by (…)`, `topk`, `quantile`, …) step by step over an evaluated
/// vector, with Prometheus's grouping rules and arithmetic; the evaluator evaluates the arguments.
enum PromAggregator {
    /// The groups of `v` that `a` makes, aggregated at each of `steps` steps.
    /// - Parameter parameter: `topk`'s, `bottomk`'s or `quantile`'s, per step.
    static func aggregate(_ a: PromAggregation, _ v: [PromSeries], parameter: [Double]?, steps: Int)
        throws(QueryError) -> [PromSeries]
    {
        // Groups by the labels `by` keeps or `without` leaves (without also drops the name).
        var groups = [(labels: PromLabels, members: [Int])]()
        var index = [String: Int]()
        for (i, s) in v.enumerated() {
            var g = PromLabels()
            if a.by {
                for n in a.labels { if let value = s.labels[n], !value.isEmpty { g[n] = value } }
            } else {
                g = PromQL.dropName(s.labels)
                for n in a.labels { g[n] = nil }
            }
            let sig = PromQL.signature(g)
            if let j = index[sig] {
                groups[j].members.append(i)
            } else {
                index[sig] = groups.count
                groups.append((g, [i]))
            }
        }
        let groupSignatures = groups.map { PromQL.signature($0.labels) }
        let seriesSignatures = a.op == .topk || a.op == .bottomk ? v.map { PromQL.signature($0.labels) } : []
        var out = PromCollector(steps: steps)
        for k in 0..<steps {
            for (gi, g) in groups.enumerated() {
                let members = g.members.filter { v[$0].values[k] != nil }
                guard !members.isEmpty else { continue }
                let values = members.map { v[$0].values[k]! }
                switch a.op {
                case .topk, .bottomk:
                    let want = parameter![k]
                    guard want >= 1 else { continue }
                    // NaN sorts last either way, as in Prometheus's heaps.
                    let ranked = members.indices.sorted { i, j in
                        let x = values[i]
                        let y = values[j]
                        if x.isNaN { return false }
                        if y.isNaN { return true }
                        return a.op == .topk ? x > y : x < y
                    }
                    for i in ranked.prefix(Int(Swift.min(want, Double(members.count)))) {
                        try out.add(seriesSignatures[members[i]], v[members[i]].labels, k, values[i])
                    }
                default:
                    try out.add(
                        groupSignatures[gi], g.labels, k, aggregateValues(a.op, values, parameter?[k]))
                }
            }
        }
        return out.result
    }

    static func aggregateValues(_ op: PromAggregation.Op, _ values: [Double], _ parameter: Double?) -> Double {
        switch op {
        case .sum: return values.dropFirst().reduce(values[0], +)
        case .count: return Double(values.count)
        case .group: return 1
        case .min: return values.dropFirst().reduce(values[0]) { m, v in m > v || m.isNaN ? v : m }
        case .max: return values.dropFirst().reduce(values[0]) { m, v in m < v || m.isNaN ? v : m }
        case .quantile: return PromFunctions.quantile(parameter ?? .nan, values)
        case .avg:
            var mean = values[0]
            var count = 1.0
            for v in values.dropFirst() {
                count += 1
                if mean.isInfinite {
                    if v.isInfinite && (mean > 0) == (v > 0) { continue }
                    if !v.isInfinite && !v.isNaN { continue }
                }
                mean += v / count - mean / count
            }
            return mean
        case .stddev, .stdvar:
            var mean = values[0]
            var count = 1.0
            var m2 = 0.0
            for v in values.dropFirst() {
                count += 1
                let delta = v - mean
                mean += delta / count
                m2 += delta * (v - mean)
            }
            return op == .stdvar ? m2 / count : (m2 / count).squareRoot()
        case .topk, .bottomk: return .nan  // handled by the caller: they keep series, not groups
        }
    }
}
