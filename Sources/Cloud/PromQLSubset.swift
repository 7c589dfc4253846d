internal import AliceDB

/// The PromQL a Grafana panel sends for this data: a selector with label matchers, optionally
/// inside one `*_over_time` function — `alicedb{gateway="gw-1", series=~"plant/.*"}`,
/// `max_over_time(alicedb{series="boiler.temp"}[5m])` — or a number (Grafana's `1+1` health check).
struct PromQuery {
    struct Matcher {
        enum Op: String { case equal = "=", notEqual = "!=", match = "=~", noMatch = "!~" }
        var label: String
        var op: Op
        var value: String
        var regex: Regex<AnyRegexOutput>?

        func matches(_ v: String) -> Bool {
            switch op {
            case .equal: v == value
            case .notEqual: v != value
            case .match: (try? regex?.wholeMatch(in: v)) != nil
            case .noMatch: (try? regex?.wholeMatch(in: v)) == nil
            }
        }
    }

    /// The metric name every series answers to.
    static let metricName = "alicedb"

    var matchers: [Matcher] = []
    /// The aggregation per step; nil: a plain selector (each step's average).
    var function: Aggregation?
    /// A number instead of a selector.
    var scalar: Double?

    func matches(gateway: String, series: String) -> Bool {
        matchers.allSatisfy { m in
            switch m.label {
            case "__name__": m.matches(PromQuery.metricName)
            case "gateway": m.matches(gateway)
            case "series": m.matches(series)
            default: m.matches("")  // an absent label is the empty string
            }
        }
    }

    static let functions: [String: Aggregation] = [
        "avg_over_time": .avg, "min_over_time": .min, "max_over_time": .max, "sum_over_time": .sum, "count_over_time": .count,
    ]

    /// Parses the subset; the error says what was expected where.
    static func parse(_ text: String) throws(CloudError) -> PromQuery {
        var s = Scanner(Array(text.unicodeScalars))
        var q = PromQuery()
        s.skipSpace()
        if let n = s.number() {
            var total = n
            s.skipSpace()
            while s.take("+") {
                s.skipSpace()
                guard let m = s.number() else { throw s.fail("a number after '+'") }
                total += m
                s.skipSpace()
            }
            guard s.atEnd else { throw s.fail("the end of a number expression") }
            q.scalar = total
            return q
        }
        var name = s.identifier()
        var wrapped = false
        s.skipSpace()
        if let n = name, s.peek == "(" {
            guard let f = functions[n] else {
                throw CloudError.badRequest("unsupported function '\(n)': use a selector or one of \(functions.keys.sorted().joined(separator: ", "))")
            }
            q.function = f
            wrapped = true
            _ = s.take("(")
            s.skipSpace()
            name = s.identifier()
            s.skipSpace()
        }
        if let name { q.matchers.append(Matcher(label: "__name__", op: .equal, value: name)) }
        if s.take("{") {
            while true {
                s.skipSpace()
                if s.take("}") { break }
                guard let label = s.identifier() else { throw s.fail("a label name") }
                s.skipSpace()
                let op: Matcher.Op
                if s.take("=~") { op = .match } else if s.take("!~") { op = .noMatch } else if s.take("!=") { op = .notEqual } else if s.take("=") {
                    op = .equal
                } else { throw s.fail("=, !=, =~ or !~") }
                s.skipSpace()
                guard let value = s.quoted() else { throw s.fail("a quoted label value") }
                var m = Matcher(label: label, op: op, value: value)
                if op == .match || op == .noMatch {
                    do { m.regex = try Regex(value) } catch { throw CloudError.badRequest("invalid regular expression \"\(value)\": \(error)") }
                }
                q.matchers.append(m)
                s.skipSpace()
                if s.take("}") { break }
                guard s.take(",") else { throw s.fail("',' or '}'") }
            }
        } else if name == nil {
            throw s.fail("a metric name or a {label=\"value\"} selector")
        }
        s.skipSpace()
        if s.take("[") {
            // The range is read and checked; each step's window is the step itself.
            while let c = s.peek, c != "]" { s.advance() }
            guard s.take("]") else { throw s.fail("']'") }
            s.skipSpace()
        }
        if wrapped {
            guard s.take(")") else { throw s.fail("')'") }
            s.skipSpace()
        }
        guard s.atEnd else { throw s.fail("the end of the query") }
        return q
    }

    private struct Scanner {
        let chars: [Unicode.Scalar]
        var i = 0
        init(_ c: [Unicode.Scalar]) { chars = c }
        var atEnd: Bool { i >= chars.count }
        var peek: Unicode.Scalar? { i < chars.count ? chars[i] : nil }
        mutating func advance() { i += 1 }
        mutating func skipSpace() { while let c = peek, c == " " || c == "\t" || c == "\n" || c == "\r" { i += 1 } }
        mutating func take(_ s: String) -> Bool {
            let want = Array(s.unicodeScalars)
            guard i + want.count <= chars.count, Array(chars[i..<(i + want.count)]) == want else { return false }
            i += want.count
            return true
        }
        /// `[a-zA-Z_:][a-zA-Z0-9_:]*`
        mutating func identifier() -> String? {
            let start = i
            while let c = peek {
                let v = c.value
                let letter = (v | 0x20 >= 0x61 && v | 0x20 <= 0x7A) || c == "_" || c == ":"
                guard letter || (i > start && v >= 0x30 && v <= 0x39) else { break }
                i += 1
            }
            return i > start ? String(String.UnicodeScalarView(chars[start..<i])) : nil
        }
        mutating func number() -> Double? {
            let start = i
            while let c = peek, (c.value >= 0x30 && c.value <= 0x39) || c == "." || c == "e" || c == "E" || ((c == "-" || c == "+") && i == start) { i += 1 }
            guard i > start, let d = Double(String(String.UnicodeScalarView(chars[start..<i]))) else {
                i = start
                return nil
            }
            return d
        }
        mutating func quoted() -> String? {
            guard let q = peek, q == "\"" || q == "'" || q == "`" else { return nil }
            i += 1
            var out = String.UnicodeScalarView()
            while let c = peek {
                i += 1
                if c == q { return String(out) }
                if c == "\\" && q != "`", let n = peek {
                    i += 1
                    switch n {
                    case "n": out.append("\n")
                    case "t": out.append("\t")
                    default: out.append(n)
                    }
                } else {
                    out.append(c)
                }
            }
            return nil
        }
        func fail(_ expected: String) -> CloudError {
            CloudError.badRequest("bad query at character \(i + 1): expected \(expected)")
        }
    }
}
