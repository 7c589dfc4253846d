/// Aggregations and binary operators: the evaluator evaluates the operands, `PromAggregator` and
/// `PromOperators` combine them step by step.
extension PromEvaluator {
    func aggregate(_ a: PromAggregation, _ x: PromExpr, parameter p: PromExpr?) async throws(QueryError) -> PromValue {
        let v = try await vectorArgument(x)
        var parameter: [Double]? = nil
        if let p { parameter = try await scalarArgument(p) }
        return .vector(try PromAggregator.aggregate(a, v, parameter: parameter, steps: steps.count))
    }

    func binary(_ op: PromBinaryOp, _ l: PromExpr, _ r: PromExpr, _ m: PromMatching) async throws(QueryError)
        -> PromValue
    {
        let lv = try await eval(l)
        let rv = try await eval(r)
        switch (lv, rv) {
        case (.scalar(let a), .scalar(let b)): return .scalar(PromOperators.scalarScalar(op, a, b))
        case (.vector(let v), .scalar(let s)):
            return .vector(PromOperators.vectorScalar(op, v, s, swap: false, m.returnBool))
        case (.scalar(let s), .vector(let v)):
            return .vector(PromOperators.vectorScalar(op, v, s, swap: true, m.returnBool))
        case (.vector(let a), .vector(let b)):
            return .vector(
                op.isSetOperator
                    ? PromOperators.setOperation(op, a, b, m, steps: steps.count)
                    : try PromOperators.vectorVector(op, a, b, m, steps: steps.count))
        default: throw .badRequest("binary expression must contain only scalar and instant vector types")
        }
    }
}
