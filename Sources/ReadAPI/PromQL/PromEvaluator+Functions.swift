/// The functions over instant vectors and scalars (`PromFunctions` has their tables and arithmetic);
/// those over range vectors are in `PromEvaluator+Range`.
extension PromEvaluator {
    func call(_ name: String, _ args: [PromExpr]) async throws(QueryError) -> PromValue {
        if PromFunctions.rangeFunctions.contains(name) { return .vector(try await rangeFunction(name, args)) }
        switch name {
        case "time": return .scalar(steps.map { Double($0) / 1000 })
        case "pi": return .scalar(Array(repeating: .pi, count: steps.count))
        case "vector":
            let v = try await scalarArgument(args[0])
            return .vector([PromSeries(labels: [:], values: v.map { $0 })])
        case "scalar":
            let v = try await vectorArgument(args[0])
            return .scalar(
                steps.indices.map { k in
                    let present = v.compactMap { $0.values[k] }
                    return present.count == 1 ? present[0] : .nan
                })
        case "timestamp":
            if case .selector(let s) = args[0] { return .vector(try await instantSelector(s, sampleTimes: true)) }
            let v = try await vectorArgument(args[0])
            return .vector(
                v.map { s in
                    PromSeries(
                        labels: PromQL.dropName(s.labels),
                        values: s.values.enumerated().map { k, x in x.map { _ in Double(steps[k]) / 1000 } })
                })
        case "sort", "sort_desc":
            let v = try await vectorArgument(args[0])
            guard steps.count == 1 else { return .vector(v) }  // a range query orders by labels anyway
            let desc = name == "sort_desc"
            return .vector(
                v.filter { $0.values[0] != nil }.sorted { a, b in
                    let x = a.values[0]!
                    let y = b.values[0]!
                    if x.isNaN { return false }
                    if y.isNaN { return true }
                    return desc ? x > y : x < y
                })
        case "label_replace": return .vector(try await labelReplace(args))
        default: break
        }
        if PromFunctions.calendar.contains(name) && args.isEmpty {
            return .vector([
                PromSeries(labels: [:], values: steps.map { PromFunctions.calendarValue(name, Double($0) / 1000) })
            ])
        }
        let v = try await vectorArgument(args[0])
        var extra = [[Double]]()
        for a in args.dropFirst() { extra.append(try await scalarArgument(a)) }
        let f: (Int, Double) -> Double
        if let m = PromFunctions.math[name] {
            f = { _, x in m(x) }
        } else if PromFunctions.calendar.contains(name) {
            f = { _, x in x.isFinite ? PromFunctions.calendarValue(name, x) : .nan }
        } else {
            switch name {
            case "round":
                let to = extra.first
                f = { k, x in
                    let inverse = 1 / (to?[k] ?? 1)
                    return (x * inverse + 0.5).rounded(.down) / inverse
                }
            case "clamp":
                let lo = extra[0]
                let hi = extra[1]
                return .vector(
                    v.map { s in
                        PromSeries(
                            labels: PromQL.dropName(s.labels),
                            values: s.values.enumerated().map { k, x in
                                guard let x, lo[k] <= hi[k] else { return nil }
                                return PromFunctions.goMax(lo[k], PromFunctions.goMin(hi[k], x))
                            })
                    })
            case "clamp_min": f = { k, x in PromFunctions.goMax(extra[0][k], x) }
            case "clamp_max": f = { k, x in PromFunctions.goMin(extra[0][k], x) }
            default: throw .badRequest("unsupported function \(name)")
            }
        }
        return .vector(
            v.map { s in
                PromSeries(
                    labels: PromQL.dropName(s.labels), values: s.values.enumerated().map { k, x in x.map { f(k, $0) } })
            })
    }

    private func labelReplace(_ args: [PromExpr]) async throws(QueryError) -> [PromSeries] {
        let v = try await vectorArgument(args[0])
        let dst = try await stringArgument(args[1])
        let replacement = try await stringArgument(args[2])
        let src = try await stringArgument(args[3])
        let pattern = try await stringArgument(args[4])
        let regex: Regex<AnyRegexOutput>
        do { regex = try Regex("^(?:" + pattern + ")$") } catch {
            throw .badRequest("invalid regular expression in label_replace(): \(pattern)")
        }
        guard dst.unicodeScalars.first.map({ $0 == "_" || $0.properties.isAlphabetic }) ?? false else {
            throw .badRequest("invalid destination label name in label_replace(): \(dst)")
        }
        return v.map { s in
            var s = s
            let value = s.labels[src] ?? ""
            guard let m = try? regex.wholeMatch(in: value) else { return s }
            let expanded = PromFunctions.expand(replacement, m)
            s.labels[dst] = expanded.isEmpty ? nil : expanded
            return s
        }
    }
}
