internal import HTTPTypes

#if canImport(Glibc)
    internal import Glibc
#endif

/// Aggregations and binary operators, step by step, with Prometheus's label rules.
extension PromEvaluator {
    /// A label set as one comparable string (label order does not matter).
    static func signature(_ l: PromLabels) -> String {
        l.sorted { $0.key < $1.key }.map { "\($0.key)\u{1}\($0.value)" }.joined(separator: "\u{2}")
    }

    /// Step-by-step samples gathered into series by label set; two samples of one label set at one
    /// step are Prometheus's "vector cannot contain metrics with the same labelset".
    struct Collector {
        let steps: Int
        var order = [String]()
        var series = [String: PromSeries]()

        init(steps: Int) { self.steps = steps }

        mutating func add(_ labels: PromLabels, _ k: Int, _ v: Double) throws(CloudError) {
            try add(PromEvaluator.signature(labels), labels, k, v)
        }

        /// - Parameter sig: `signature(labels)`, when the caller has it already.
        mutating func add(_ sig: String, _ labels: @autoclosure () -> PromLabels, _ k: Int, _ v: Double)
            throws(CloudError)
        {
            if series[sig] == nil {
                order.append(sig)
                series[sig] = PromSeries(labels: labels(), values: Array(repeating: nil, count: steps))
            }
            guard series[sig]!.values[k] == nil else {
                throw CloudError(.unprocessableContent, "vector cannot contain metrics with the same labelset")
            }
            series[sig]!.values[k] = v
        }

        var result: [PromSeries] { order.compactMap { series[$0] } }
    }

    // MARK: Aggregations

    func aggregate(_ a: PromAggregation, _ x: PromExpr, parameter p: PromExpr?) async throws(CloudError) -> PromValue {
        let v = try await vectorArgument(x)
        var parameter: [Double]? = nil
        if let p { parameter = try await scalarArgument(p) }
        // Groups by the labels `by` keeps or `without` leaves (without also drops the name).
        var groups = [(labels: PromLabels, members: [Int])]()
        var index = [String: Int]()
        for (i, s) in v.enumerated() {
            var g = PromLabels()
            if a.by {
                for n in a.labels { if let value = s.labels[n], !value.isEmpty { g[n] = value } }
            } else {
                g = dropName(s.labels)
                for n in a.labels { g[n] = nil }
            }
            let sig = PromEvaluator.signature(g)
            if let j = index[sig] {
                groups[j].members.append(i)
            } else {
                index[sig] = groups.count
                groups.append((g, [i]))
            }
        }
        let groupSignatures = groups.map { PromEvaluator.signature($0.labels) }
        let seriesSignatures = a.op == .topk || a.op == .bottomk ? v.map { PromEvaluator.signature($0.labels) } : []
        var out = Collector(steps: steps.count)
        for k in steps.indices {
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
                        groupSignatures[gi], g.labels, k, PromEvaluator.aggregateValues(a.op, values, parameter?[k]))
                }
            }
        }
        return .vector(out.result)
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

    // MARK: Binary operators

    func binary(_ op: PromBinaryOp, _ l: PromExpr, _ r: PromExpr, _ m: PromMatching) async throws(CloudError)
        -> PromValue
    {
        let lv = try await eval(l)
        let rv = try await eval(r)
        switch (lv, rv) {
        case (.scalar(let a), .scalar(let b)):
            return .scalar(
                zip(a, b).map { x, y in
                    let (value, keep) = PromEvaluator.elementOp(op, x, y)
                    return op.isComparison ? (keep ? 1 : 0) : value
                })
        case (.vector(let v), .scalar(let s)): return .vector(vectorScalar(op, v, s, swap: false, m.returnBool))
        case (.scalar(let s), .vector(let v)): return .vector(vectorScalar(op, v, s, swap: true, m.returnBool))
        case (.vector(let a), .vector(let b)):
            return .vector(op.isSetOperator ? setOperation(op, a, b, m) : try vectorVector(op, a, b, m))
        default: throw .badRequest("binary expression must contain only scalar and instant vector types")
        }
    }

    /// Prometheus's `vectorElemBinop`: the value and, for comparisons, whether the sample is kept.
    static func elementOp(_ op: PromBinaryOp, _ l: Double, _ r: Double) -> (Double, Bool) {
        switch op {
        case .add: (l + r, true)
        case .sub: (l - r, true)
        case .mul: (l * r, true)
        case .div: (l / r, true)
        case .pow: (Glibc.pow(l, r), true)
        case .mod: (Glibc.fmod(l, r), true)
        case .atan2: (Glibc.atan2(l, r), true)
        case .eq: (l, l == r)
        case .ne: (l, l != r)
        case .gt: (l, l > r)
        case .lt: (l, l < r)
        case .ge: (l, l >= r)
        case .le: (l, l <= r)
        case .and, .or, .unless: (.nan, false)
        }
    }

    private func vectorScalar(_ op: PromBinaryOp, _ v: [PromSeries], _ s: [Double], swap: Bool, _ returnBool: Bool)
        -> [PromSeries]
    {
        v.compactMap { series in
            let labels = !op.isComparison || returnBool ? dropName(series.labels) : series.labels
            let values: [Double?] = series.values.enumerated().map { k, x in
                guard let x else { return nil }
                let (l, r) = swap ? (s[k], x) : (x, s[k])
                var (value, keep) = PromEvaluator.elementOp(op, l, r)
                if op.isComparison && swap { value = r }
                if returnBool { return keep ? 1 : 0 }
                return keep ? value : nil
            }
            return values.contains { $0 != nil } ? PromSeries(labels: labels, values: values) : nil
        }
    }

    /// The labels two sides are matched on: only `on (…)`, or all but `ignoring (…)` and the name.
    private func matchKey(_ l: PromLabels, _ m: PromMatching) -> String {
        var key = PromLabels()
        if m.on {
            for n in m.labels { if let v = l[n], !v.isEmpty { key[n] = v } }
        } else {
            key = dropName(l)
            for n in m.labels { key[n] = nil }
        }
        return PromEvaluator.signature(key)
    }

    private func vectorVector(_ op: PromBinaryOp, _ a: [PromSeries], _ b: [PromSeries], _ m: PromMatching)
        throws(CloudError) -> [PromSeries]
    {
        // The "one" side goes right.
        let (lhs, rhs) = m.card == .oneToMany ? (b, a) : (a, b)
        let lKeys = lhs.map { matchKey($0.labels, m) }
        let rKeys = rhs.map { matchKey($0.labels, m) }
        // The result's labels before `group_x (…)` copies any: the left side's, less what the operation drops.
        let resultLabels = lhs.map { s in
            var labels = s.labels
            if !op.isComparison || m.returnBool { labels["__name__"] = nil }
            if m.card == .oneToOne {
                if m.on {
                    labels = labels.filter { m.labels.contains($0.key) }
                } else {
                    for n in m.labels { labels[n] = nil }
                }
            }
            return labels
        }
        let resultSignatures = resultLabels.map(PromEvaluator.signature)
        var out = Collector(steps: steps.count)
        for k in steps.indices {
            var right = [String: Int]()
            for (j, s) in rhs.enumerated() where s.values[k] != nil {
                guard right[rKeys[j]] == nil else {
                    throw CloudError(
                        .unprocessableContent,
                        "found duplicate series for the match group on the \(m.card == .oneToMany ? "left" : "right") hand-side of the operation; many-to-many matching not allowed: matching labels must be unique on one side"
                    )
                }
                right[rKeys[j]] = j
            }
            var matched = Set<String>()
            for (i, s) in lhs.enumerated() {
                guard let x = s.values[k], let j = right[lKeys[i]], let y = rhs[j].values[k] else { continue }
                let (vl, vr) = m.card == .oneToMany ? (y, x) : (x, y)
                var (value, keep) = PromEvaluator.elementOp(op, vl, vr)
                if m.returnBool {
                    value = keep ? 1 : 0
                } else if !keep {
                    continue
                }
                if m.card == .oneToOne {
                    guard matched.insert(lKeys[i]).inserted else {
                        throw CloudError(
                            .unprocessableContent,
                            "multiple matches for labels: many-to-one matching must be explicit (group_left/group_right)"
                        )
                    }
                }
                if m.include.isEmpty {
                    try out.add(resultSignatures[i], resultLabels[i], k, value)
                } else {
                    var labels = resultLabels[i]
                    for n in m.include {
                        if let v = rhs[j].labels[n], !v.isEmpty { labels[n] = v } else { labels[n] = nil }
                    }
                    try out.add(labels, k, value)
                }
            }
        }
        return out.result
    }

    private func setOperation(_ op: PromBinaryOp, _ a: [PromSeries], _ b: [PromSeries], _ m: PromMatching)
        -> [PromSeries]
    {
        let aKeys = a.map { matchKey($0.labels, m) }
        let bKeys = b.map { matchKey($0.labels, m) }
        var left = a
        var right = b
        for k in steps.indices {
            let inRight = Set(b.indices.filter { b[$0].values[k] != nil }.map { bKeys[$0] })
            let inLeft = Set(a.indices.filter { a[$0].values[k] != nil }.map { aKeys[$0] })
            for i in a.indices where left[i].values[k] != nil {
                let found = inRight.contains(aKeys[i])
                if (op == .and && !found) || (op == .unless && found) { left[i].values[k] = nil }
            }
            for j in b.indices where op != .or || inLeft.contains(bKeys[j]) { right[j].values[k] = nil }
        }
        let kept = op == .or ? left + right : left
        return kept.filter { $0.values.contains { $0 != nil } }
    }
}
