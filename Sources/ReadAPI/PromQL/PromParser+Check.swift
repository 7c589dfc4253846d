extension PromParser {
    /// Prometheus's static checks: argument types of functions, aggregations and operators.
    static func check(_ e: PromExpr) throws(QueryError) {
        switch e {
        case .number, .string, .selector, .matrix: return
        case .paren(let x):
            try check(x)
        case .negate(let x):
            try check(x)
            guard x.type == .scalar || x.type == .vector else {
                throw .badRequest(
                    "unary expression only allowed on expressions of type scalar or instant vector, got \(x.type.apiName)"
                )
            }
        case .call(let name, let args):
            guard let sig = PromFunctions.signatures[name] else { throw .badRequest("unknown function \(name)") }
            guard args.count >= sig.arguments.count - sig.optional, args.count <= sig.arguments.count else {
                throw .badRequest(
                    "expected \(sig.arguments.count) argument(s) in call to \"\(name)\", got \(args.count)")
            }
            for (k, a) in args.enumerated() {
                try check(a)
                guard a.type == sig.arguments[k] else {
                    throw .badRequest(
                        "expected type \(sig.arguments[k].apiName) in call to function \"\(name)\", got \(a.type.apiName)"
                    )
                }
            }
        case .aggregate(let a, let x, let p):
            try check(x)
            guard x.type == .vector else {
                throw .badRequest("expected type instant vector in aggregation expression, got \(x.type.apiName)")
            }
            if let p {
                try check(p)
                guard p.type == .scalar else {
                    throw .badRequest(
                        "expected type scalar in aggregation parameter of \(a.op.rawValue), got \(p.type.apiName)")
                }
            }
        case .binary(let op, let l, let r, let m):
            try check(l)
            try check(r)
            for side in [l, r] where side.type != .scalar && side.type != .vector {
                throw .badRequest("binary expression must contain only scalar and instant vector types")
            }
            if op.isComparison && l.type == .scalar && r.type == .scalar && !m.returnBool {
                throw .badRequest("comparisons between scalars must use BOOL modifier")
            }
            if op.isSetOperator && (l.type != .vector || r.type != .vector) {
                throw .badRequest("set operator \"\(op.rawValue)\" not allowed in binary scalar expression")
            }
            if op.isSetOperator && m.card != .oneToOne {
                throw .badRequest("no grouping allowed for \"\(op.rawValue)\" operation")
            }
            if (!m.labels.isEmpty || m.card != .oneToOne) && (l.type != .vector || r.type != .vector) {
                throw .badRequest("vector matching only allowed between instant vectors")
            }
        }
    }
}
