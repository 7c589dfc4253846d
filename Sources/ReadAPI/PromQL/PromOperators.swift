#if canImport(Glibc)
    internal import Glibc
#endif

/// PromQL's binary operators over evaluated operands, step by step, with Prometheus's label rules:
/// vector matching (`on`, `ignoring`, `group_left`, `group_right`), `bool`, and the set operators.
/// The evaluator evaluates both sides and picks the case.
enum PromOperators {
    /// Two scalars, step by step (a comparison gives 1 or 0: there is no sample to drop).
    static func scalarScalar(_ op: PromBinaryOp, _ a: [Double], _ b: [Double]) -> [Double] {
        zip(a, b).map { x, y in
            let (value, keep) = elementOp(op, x, y)
            return op.isComparison ? (keep ? 1 : 0) : value
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

    static func vectorScalar(_ op: PromBinaryOp, _ v: [PromSeries], _ s: [Double], swap: Bool, _ returnBool: Bool)
        -> [PromSeries]
    {
        v.compactMap { series in
            let labels = !op.isComparison || returnBool ? PromQL.dropName(series.labels) : series.labels
            let values: [Double?] = series.values.enumerated().map { k, x in
                guard let x else { return nil }
                let (l, r) = swap ? (s[k], x) : (x, s[k])
                var (value, keep) = elementOp(op, l, r)
                if op.isComparison && swap { value = r }
                if returnBool { return keep ? 1 : 0 }
                return keep ? value : nil
            }
            return values.contains { $0 != nil } ? PromSeries(labels: labels, values: values) : nil
        }
    }

    /// The labels two sides are matched on: only `on (…)`, or all but `ignoring (…)` and the name.
    static func matchKey(_ l: PromLabels, _ m: PromMatching) -> String {
        var key = PromLabels()
        if m.on {
            for n in m.labels { if let v = l[n], !v.isEmpty { key[n] = v } }
        } else {
            key = PromQL.dropName(l)
            for n in m.labels { key[n] = nil }
        }
        return PromQL.signature(key)
    }

    static func vectorVector(
        _ op: PromBinaryOp, _ a: [PromSeries], _ b: [PromSeries], _ m: PromMatching, steps: Int
    ) throws(QueryError) -> [PromSeries] {
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
        let resultSignatures = resultLabels.map(PromQL.signature)
        var out = PromCollector(steps: steps)
        for k in 0..<steps {
            var right = [String: Int]()
            for (j, s) in rhs.enumerated() where s.values[k] != nil {
                guard right[rKeys[j]] == nil else {
                    throw QueryError(
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
                var (value, keep) = elementOp(op, vl, vr)
                if m.returnBool {
                    value = keep ? 1 : 0
                } else if !keep {
                    continue
                }
                if m.card == .oneToOne {
                    guard matched.insert(lKeys[i]).inserted else {
                        throw QueryError(
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

    static func setOperation(_ op: PromBinaryOp, _ a: [PromSeries], _ b: [PromSeries], _ m: PromMatching, steps: Int)
        -> [PromSeries]
    {
        let aKeys = a.map { matchKey($0.labels, m) }
        let bKeys = b.map { matchKey($0.labels, m) }
        var left = a
        var right = b
        for k in 0..<steps {
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
