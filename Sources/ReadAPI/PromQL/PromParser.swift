/// A recursive-descent parser of PromQL, with Prometheus's operator precedences and type checks;
/// errors are `bad_data` answers that say what was expected where.
struct PromParser {
    let chars: [Unicode.Scalar]
    var i = 0
    /// The parser, the type checks and the evaluator recurse on the tree: a query may nest this
    /// deep (parentheses, calls, unary signs) and hold this many binary operators, so that no
    /// query (a POST body may be 1 MiB) can run a thread out of stack. (A frame of `check` is
    /// 9.5 KiB in a debug build under AddressSanitizer: 1 000 levels overflowed a pool thread.)
    static let maxNesting = 64
    static let maxOperators = 256
    private var nesting = 0
    private var operators = 0

    /// Parses and type-checks a whole query.
    static func parse(_ text: String) throws(QueryError) -> PromExpr {
        var p = PromParser(chars: Array(text.unicodeScalars))
        p.skipSpace()
        guard !p.atEnd else { throw .badRequest("parse error: no expression found in input") }
        let e = try p.expression(minPrecedence: 0)
        p.skipSpace()
        guard p.atEnd else { throw p.fail("unexpected character '\(p.chars[p.i])'") }
        try PromParser.check(e)
        return e
    }

    /// A PromQL duration on its own (`1m30s`), in milliseconds; nil if the text is not one.
    static func duration(_ text: String) -> Int64? {
        var p = PromParser(chars: Array(text.unicodeScalars))
        guard let d = try? p.duration(), p.atEnd else { return nil }
        return d
    }

    private init(chars: [Unicode.Scalar]) { self.chars = chars }

    // MARK: Expressions

    private mutating func expression(minPrecedence: Int) throws(QueryError) -> PromExpr {
        nesting += 1
        defer { nesting -= 1 }
        guard nesting <= PromParser.maxNesting else {
            throw fail("the query nests deeper than \(PromParser.maxNesting) levels")
        }
        var lhs = try unary()
        while true {
            skipSpace()
            let save = i
            guard let op = binaryOperator(), op.precedence >= minPrecedence else {
                i = save
                return lhs
            }
            var m = PromMatching()
            skipSpace()
            if keyword("bool") {
                guard op.isComparison else { throw fail("bool modifier can only be used on comparison operators") }
                m.returnBool = true
                skipSpace()
            }
            let on = keyword("on")
            if on || keyword("ignoring") {
                m.on = on
                m.labels = try labelList()
                skipSpace()
                let left = keyword("group_left")
                if left || keyword("group_right") {
                    m.card = left ? .manyToOne : .oneToMany
                    skipSpace()
                    if peek == "(" { m.include = try labelList() }
                }
            }
            // ^ is right-associative, everything else left-associative.
            operators += 1
            guard operators <= PromParser.maxOperators else {
                throw fail("the query has more than \(PromParser.maxOperators) binary operators")
            }
            let rhs = try expression(minPrecedence: op == .pow ? op.precedence : op.precedence + 1)
            lhs = .binary(op, lhs, rhs, m)
        }
    }

    private mutating func binaryOperator() -> PromBinaryOp? {
        for (text, op) in [
            ("==", PromBinaryOp.eq), ("!=", .ne), (">=", .ge), ("<=", .le), (">", .gt), ("<", .lt),
            ("+", .add), ("-", .sub), ("*", .mul), ("/", .div), ("%", .mod), ("^", .pow),
        ]
        where take(text) {
            return op
        }
        for op in [PromBinaryOp.and, .or, .unless, .atan2] where keyword(op.rawValue) { return op }
        return nil
    }

    private mutating func unary() throws(QueryError) -> PromExpr {
        skipSpace()
        if take("-") {
            // Unary minus binds looser than ^: -2^2 is -4.
            let e = try expression(minPrecedence: PromBinaryOp.pow.precedence)
            if case .number(let n) = e { return .number(-n) }
            return .negate(e)
        }
        if take("+") { return try expression(minPrecedence: PromBinaryOp.pow.precedence) }
        return try postfix(try primary())
    }

    /// `[range]`, `offset`, `@` after a selector.
    private mutating func postfix(_ base: PromExpr) throws(QueryError) -> PromExpr {
        var e = base
        while true {
            skipSpace()
            if peek == "[" {
                guard case .selector(let s) = e else { throw fail("ranges only allowed for vector selectors") }
                i += 1
                skipSpace()
                let range = try duration()
                skipSpace()
                if take(":") { throw .badRequest("subqueries are not supported by this node") }
                guard take("]") else { throw fail("expected ']' after the range") }
                e = .matrix(s, range: range)
            } else if keyword("offset") {
                skipSpace()
                let negative = take("-")
                if !negative { _ = take("+") }
                skipSpace()
                let d = try duration()
                e = try modify(e, "offset") { s throws(QueryError) in
                    guard s.offset == 0 else { throw fail("offset may not be set multiple times") }
                    s.offset = negative ? -d : d
                }
            } else if take("@") {
                skipSpace()
                let at: PromAt
                if keyword("start") {
                    try call0()
                    at = .start
                } else if keyword("end") {
                    try call0()
                    at = .end
                } else {
                    let negative = take("-")
                    // Past ±9e15 s the milliseconds leave Int64 (`Int64(_:)` trapped on `@ 1e30`).
                    guard let n = number(), n.isFinite else { throw fail("expected a timestamp after @") }
                    guard Swift.abs(n) < 9e15 else { throw fail("timestamp out of bounds for @ modifier") }
                    at = .time(Int64(((negative ? -n : n) * 1000).rounded()))
                }
                e = try modify(e, "@") { s throws(QueryError) in
                    guard s.at == nil else { throw fail("@ <timestamp> may not be set multiple times") }
                    s.at = at
                }
            } else {
                return e
            }
        }
    }

    private mutating func call0() throws(QueryError) {
        skipSpace()
        guard take("(") else { throw fail("expected '('") }
        skipSpace()
        guard take(")") else { throw fail("expected ')'") }
    }

    private func modify(_ e: PromExpr, _ what: String, _ f: (inout PromSelector) throws(QueryError) -> Void)
        throws(QueryError)
        -> PromExpr
    {
        switch e {
        case .selector(var s):
            try f(&s)
            return .selector(s)
        case .matrix(var s, let r):
            try f(&s)
            return .matrix(s, range: r)
        default:
            throw fail("\(what) modifier must be preceded by an instant vector selector or range vector selector")
        }
    }

    private mutating func primary() throws(QueryError) -> PromExpr {
        skipSpace()
        guard let c = peek else { throw fail("unexpected end of input") }
        if c == "(" {
            i += 1
            let e = try expression(minPrecedence: 0)
            skipSpace()
            guard take(")") else { throw fail("expected ')'") }
            return .paren(e)
        }
        if c == "\"" || c == "'" || c == "`" { return .string(try quoted()) }
        if c == "{" { return .selector(PromSelector(matchers: try matchers(name: nil))) }
        if let n = number() { return .number(n) }
        let start = i
        guard let name = identifier() else { throw fail("unexpected character '\(c)'") }
        let lower = name.lowercased()
        if lower == "inf" || lower == "nan" {
            return .number(lower == "inf" ? .infinity : .nan)
        }
        skipSpace()
        if let op = PromAggregation.Op(rawValue: lower),
            peek == "(" || keyword("by", peekOnly: true)
                || keyword("without", peekOnly: true)
        {
            return try aggregation(op)
        }
        if peek == "(" {
            guard PromFunctions.signatures[name] != nil else {
                throw .badRequest("parse error: unknown or unsupported function \"\(name)\"")
            }
            i += 1
            var args = [PromExpr]()
            skipSpace()
            if !take(")") {
                while true {
                    args.append(try expression(minPrecedence: 0))
                    skipSpace()
                    if !take(",") { break }
                }
                guard take(")") else { throw fail("expected ',' or ')' in the arguments of \(name)") }
            }
            return .call(name, args)
        }
        i = start
        _ = identifier()
        skipSpace()
        return .selector(PromSelector(matchers: try matchers(name: name)))
    }

    private mutating func aggregation(_ op: PromAggregation.Op) throws(QueryError) -> PromExpr {
        var a = PromAggregation(op: op)
        func clause(_ p: inout PromParser) throws(QueryError) -> Bool {
            p.skipSpace()
            if p.keyword("by") { a.by = true } else if p.keyword("without") { a.by = false } else { return false }
            a.labels = try p.labelList()
            return true
        }
        let before = try clause(&self)
        skipSpace()
        guard take("(") else { throw fail("expected '(' after \(op.rawValue)") }
        var args = [PromExpr]()
        while true {
            args.append(try expression(minPrecedence: 0))
            skipSpace()
            if !take(",") { break }
        }
        guard take(")") else { throw fail("expected ')' closing \(op.rawValue)") }
        if !before { _ = try clause(&self) }
        let wantsParameter = [.topk, .bottomk, .quantile].contains(op)
        guard args.count == (wantsParameter ? 2 : 1) else {
            throw .badRequest(
                "parse error: wrong number of arguments for aggregate expression provided, expected \(wantsParameter ? 2 : 1), got \(args.count)"
            )
        }
        return .aggregate(a, args.last!, parameter: wantsParameter ? args[0] : nil)
    }

    /// `{label op "value", …}` after an optional metric name.
    private mutating func matchers(name: String?) throws(QueryError) -> [PromMatcher] {
        var out = [PromMatcher]()
        if let name { out.append(try PromMatcher(label: "__name__", op: .equal, value: name)) }
        skipSpace()
        if take("{") {
            while true {
                skipSpace()
                if take("}") { break }
                guard let label = identifier() else { throw fail("expected a label name") }
                skipSpace()
                let op: PromMatcher.Op
                if take("=~") {
                    op = .match
                } else if take("!~") {
                    op = .noMatch
                } else if take("!=") {
                    op = .notEqual
                } else if take("=") {
                    op = .equal
                } else {
                    throw fail("expected a label matching operator")
                }
                skipSpace()
                out.append(try PromMatcher(label: label, op: op, value: try quoted()))
                skipSpace()
                if take("}") { break }
                guard take(",") else { throw fail("expected ',' or '}' in the label matchers") }
            }
        }
        guard out.contains(where: { !$0.matchesEmpty }) else {
            throw .badRequest("parse error: vector selector must contain at least one non-empty matcher")
        }
        return out
    }

    private mutating func labelList() throws(QueryError) -> [String] {
        skipSpace()
        guard take("(") else { throw fail("expected '(' before the label list") }
        var out = [String]()
        while true {
            skipSpace()
            if take(")") { return out }
            guard let l = identifier() else { throw fail("expected a label name") }
            out.append(l)
            skipSpace()
            if take(")") { return out }
            guard take(",") else { throw fail("expected ',' or ')' in the label list") }
        }
    }
}
