/// A parsed PromQL expression: the subset this node evaluates exactly as Prometheus does.
indirect enum PromExpr {
    case number(Double)
    case string(String)
    /// An instant vector selector: `alicedb{series="x"} offset 5m @ 1700000000`.
    case selector(PromSelector)
    /// A range vector selector: `alicedb{series="x"}[5m]`.
    case matrix(PromSelector, range: Int64)
    case call(String, [PromExpr])
    case aggregate(PromAggregation, PromExpr, parameter: PromExpr?)
    case binary(PromBinaryOp, PromExpr, PromExpr, PromMatching)
    case negate(PromExpr)
    case paren(PromExpr)

    /// The PromQL type of what the expression evaluates to.
    var type: PromType {
        switch self {
        case .number: .scalar
        case .string: .string
        case .selector: .vector
        case .matrix: .matrix
        case .call(let name, _): PromFunctions.signatures[name]?.result ?? .vector
        case .aggregate: .vector
        case .binary(_, let l, let r, _): l.type == .scalar && r.type == .scalar ? .scalar : .vector
        case .negate(let e), .paren(let e): e.type
        }
    }
}

enum PromType: String, Sendable {
    case scalar, vector, matrix, string

    /// As Prometheus names it in errors and in `resultType`.
    var apiName: String {
        switch self {
        case .scalar: "scalar"
        case .vector: "instant vector"
        case .matrix: "range vector"
        case .string: "string"
        }
    }
}

/// `@ 1700000000`, `@ start()`, `@ end()`.
enum PromAt: Sendable, Equatable {
    case time(Int64)
    case start
    case end
}

struct PromSelector {
    var matchers: [PromMatcher]
    /// Milliseconds subtracted from each evaluation time (`offset 5m`; negative moves forward).
    var offset: Int64 = 0
    var at: PromAt?
}

struct PromMatcher {
    enum Op: String, Sendable {
        case equal = "="
        case notEqual = "!="
        case match = "=~"
        case noMatch = "!~"
    }
    var label: String
    var op: Op
    var value: String
    /// Anchored at both ends, as Prometheus anchors label regexes.
    var regex: Regex<AnyRegexOutput>?

    init(label: String, op: Op, value: String) throws(QueryError) {
        self.label = label
        self.op = op
        self.value = value
        if op == .match || op == .noMatch {
            do { regex = try Regex("^(?:" + value + ")$") } catch {
                throw .badRequest("invalid regular expression \"\(value)\" for label \(label)")
            }
        }
    }

    /// Whether `v` (the empty string for an absent label) satisfies the matcher.
    func matches(_ v: String) -> Bool {
        switch op {
        case .equal: v == value
        case .notEqual: v != value
        case .match: (try? regex?.wholeMatch(in: v)) != nil
        case .noMatch: (try? regex?.wholeMatch(in: v)) == nil
        }
    }

    /// Whether the empty string matches: a selector needs at least one matcher that does not.
    var matchesEmpty: Bool { matches("") }
}

struct PromAggregation: Sendable {
    enum Op: String, Sendable, CaseIterable {
        case sum, avg, min, max, count, topk, bottomk, quantile, stddev, stdvar, group
    }
    var op: Op
    /// `by (…)` when true, `without (…)` when false; no clause is `by ()`: one group.
    var by = true
    var labels: [String] = []
}

enum PromBinaryOp: String, Sendable {
    case add = "+"
    case sub = "-"
    case mul = "*"
    case div = "/"
    case mod = "%"
    case pow = "^"
    case atan2
    case eq = "=="
    case ne = "!="
    case gt = ">"
    case lt = "<"
    case ge = ">="
    case le = "<="
    case and, or, unless

    var precedence: Int {
        switch self {
        case .or: 1
        case .and, .unless: 2
        case .eq, .ne, .gt, .lt, .ge, .le: 3
        case .add, .sub: 4
        case .mul, .div, .mod, .atan2: 5
        case .pow: 6
        }
    }
    var isComparison: Bool { [.eq, .ne, .gt, .lt, .ge, .le].contains(self) }
    var isSetOperator: Bool { self == .and || self == .or || self == .unless }
}

/// How the two sides of a binary operation between vectors are matched, and `bool`.
struct PromMatching: Sendable {
    enum Card: Sendable { case oneToOne, manyToOne, oneToMany }
    var returnBool = false
    /// `on (…)` when true, `ignoring (…)` (or nothing) when false.
    var on = false
    var labels: [String] = []
    var card = Card.oneToOne
    /// The labels `group_left (…)`/`group_right (…)` copy from the "one" side.
    var include: [String] = []
}
