import Foundation

/// One line of Tests/Fixtures/promql/queries.txt: an instant or range query with absolute times.
struct PromConformanceQuery {
    var line: Int
    var source: String
    var isRange: Bool
    /// The HTTP parameters besides `query`: `time`, or `start`, `end` and `step`.
    var parameters: [(String, String)]
    var query: String
    /// The errorType both must answer (`bad_data`, `execution`), or nil for a query that succeeds.
    var expectedError: String?

    /// The path and query string of the GET request.
    var path: String {
        let all = [("query", query)] + parameters
        let text = all.map { "\($0.0)=\(PromConformanceQuery.percentEncoded($0.1))" }.joined(separator: "&")
        return (isRange ? "/api/v1/query_range?" : "/api/v1/query?") + text
    }

    /// Reads the query file: `instant time=T | QUERY`, `range start=T end=T step=S | QUERY`, an optional
    /// `expect=ERRORTYPE` among the parameters; `T` relative (`+3600`) to `origin` (unix seconds) or absolute.
    /// `{{+N}}` in a query becomes the unix seconds of `origin + N`.
    static func parse(_ text: String, origin: Double) throws -> [PromConformanceQuery] {
        var out = [PromConformanceQuery]()
        for (index, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = raw.trimmingCharacters(in: .whitespaces)
            if line.isEmpty || line.hasPrefix("#") { continue }
            func fail(_ why: String) -> any Error {
                QueryFileError(description: "queries.txt:\(index + 1): \(why): \(line)")
            }
            guard let bar = line.firstIndex(of: "|") else { throw fail("no '|' between the parameters and the query") }
            let words = line[..<bar].split(separator: " ").map(String.init)
            var query = line[line.index(after: bar)...].trimmingCharacters(in: .whitespaces)
            guard let kind = words.first, kind == "instant" || kind == "range", !query.isEmpty else {
                throw fail("expected 'instant …' or 'range …' and a query")
            }
            var parameters = [(String, String)]()
            var expected: String?
            for word in words.dropFirst() {
                let kv = word.split(separator: "=", maxSplits: 1).map(String.init)
                guard kv.count == 2 else { throw fail("'\(word)' is not NAME=VALUE") }
                switch kv[0] {
                case "time", "start", "end":
                    guard let t = time(kv[1], origin) else { throw fail("bad time '\(kv[1])'") }
                    parameters.append((kv[0], t))
                case "step": parameters.append(("step", kv[1]))
                case "expect": expected = kv[1]
                default: throw fail("unknown parameter '\(kv[0])'")
                }
            }
            let names = Set(parameters.map(\.0))
            guard names == (kind == "range" ? ["start", "end", "step"] : ["time"]) else {
                throw fail("\(kind) needs \(kind == "range" ? "start, end and step" : "time")")
            }
            while let open = query.range(of: "{{"),
                let close = query.range(of: "}}", range: open.upperBound..<query.endIndex)
            {
                guard let t = time(String(query[open.upperBound..<close.lowerBound]), origin) else {
                    throw fail("bad time in {{…}}")
                }
                query.replaceSubrange(open.lowerBound..<close.upperBound, with: t)
            }
            out.append(
                PromConformanceQuery(
                    line: index + 1, source: line, isRange: kind == "range", parameters: parameters, query: query,
                    expectedError: expected))
        }
        return out
    }

    /// `+N`/`-N` seconds after `origin`, or absolute seconds; as the text of unix seconds.
    static func time(_ text: String, _ origin: Double) -> String? {
        guard let n = Double(text) else { return nil }
        let t = text.hasPrefix("+") || text.hasPrefix("-") ? origin + n : n
        return t == t.rounded() ? String(Int64(t)) : t.description
    }

    static func percentEncoded(_ s: String) -> String {
        var out = ""
        for b in s.utf8 {
            switch b {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "."),
                UInt8(ascii: "~"):
                out.unicodeScalars.append(Unicode.Scalar(b))
            default:
                let hex = String(b, radix: 16, uppercase: true)
                out += "%" + (hex.count == 1 ? "0" + hex : hex)
            }
        }
        return out
    }
}

struct QueryFileError: Error, CustomStringConvertible {
    var description: String
}

/// A Prometheus HTTP API answer, reduced to what two engines must agree on: status and errorType,
/// resultType, and per label set its (timestamp, value) points. A scalar is one point under `{}`.
struct PromAnswer {
    var status: String
    var errorType: String?
    var resultType: String?
    var series: [[String: String]: [(t: Double, v: String)]] = [:]
    var body: String

    /// Whether it is a vector or matrix without series.
    var isEmpty: Bool { (resultType == "vector" || resultType == "matrix") && series.isEmpty }

    init(_ httpStatus: Int, _ body: String) {
        self.body = body
        let object = (try? JSONSerialization.jsonObject(with: Data(body.utf8))) as? [String: Any]
        guard let object, let status = object["status"] as? String else {
            status = "not JSON (HTTP \(httpStatus))"
            return
        }
        self.status = status
        errorType = object["errorType"] as? String
        let data = object["data"] as? [String: Any]
        resultType = data?["resultType"] as? String
        if resultType == "scalar" || resultType == "string" {
            if let p = PromAnswer.point(data?["result"]) { series[[:]] = [p] }
            return
        }
        for item in data?["result"] as? [Any] ?? [] {
            guard let item = item as? [String: Any] else { continue }
            let labels = item["metric"] as? [String: String] ?? [:]
            if let p = PromAnswer.point(item["value"]) { series[labels, default: []].append(p) }
            for v in item["values"] as? [Any] ?? [] {
                if let p = PromAnswer.point(v) { series[labels, default: []].append(p) }
            }
        }
    }

    static func point(_ any: Any?) -> (t: Double, v: String)? {
        guard let pair = any as? [Any], pair.count == 2, let t = (pair[0] as? NSNumber)?.doubleValue else { return nil }
        return (t, pair[1] as? String ?? "\(pair[1])")
    }

    /// How `self` (the node's answer) first differs from `prometheus`'s, or nil when they agree:
    /// the same status and errorType; on success the same resultType, label sets, timestamps, and
    /// values within 1e-9 relative (NaN equals NaN, infinities only themselves).
    func difference(from prometheus: PromAnswer) -> String? {
        if status != prometheus.status { return "status \(status) vs \(prometheus.status)" }
        if status != "success" {
            if errorType == prometheus.errorType { return nil }
            return "errorType \(errorType ?? "-") vs \(prometheus.errorType ?? "-")"
        }
        if resultType != prometheus.resultType {
            return "resultType \(resultType ?? "-") vs \(prometheus.resultType ?? "-")"
        }
        let mine = Set(series.keys)
        let theirs = Set(prometheus.series.keys)
        if let extra = mine.subtracting(theirs).sorted(by: PromAnswer.labelOrder).first {
            return "series only in the node: \(PromAnswer.text(extra)) (\(mine.count) vs \(theirs.count) series)"
        }
        if let missing = theirs.subtracting(mine).sorted(by: PromAnswer.labelOrder).first {
            return "series only in Prometheus: \(PromAnswer.text(missing)) (\(mine.count) vs \(theirs.count) series)"
        }
        for labels in theirs.sorted(by: PromAnswer.labelOrder) {
            let a = series[labels] ?? []
            let b = prometheus.series[labels] ?? []
            for (p, q) in zip(a, b) {
                if p.t != q.t { return "\(PromAnswer.text(labels)): a point at \(p.t) vs \(q.t)" }
                if !PromAnswer.sameValue(p.v, q.v) { return "\(PromAnswer.text(labels)) at \(p.t): \(p.v) vs \(q.v)" }
            }
            if a.count != b.count {
                let extra = a.count > b.count ? "node's \(a[b.count].t)" : "Prometheus' \(b[a.count].t)"
                return "\(PromAnswer.text(labels)): \(a.count) vs \(b.count) points (first extra: \(extra))"
            }
        }
        return nil
    }

    static func sameValue(_ a: String, _ b: String) -> Bool {
        if a == b { return true }
        guard let x = number(a), let y = number(b) else { return false }
        if x.isNaN || y.isNaN { return x.isNaN && y.isNaN }
        if x.isInfinite || y.isInfinite { return x == y }
        return abs(x - y) <= 1e-9 * max(abs(x), abs(y))
    }

    static func number(_ s: String) -> Double? {
        switch s {
        case "NaN": .nan
        case "+Inf", "Inf": .infinity
        case "-Inf": -.infinity
        default: Double(s)
        }
    }

    static func text(_ labels: [String: String]) -> String {
        "{" + labels.sorted { $0.key < $1.key }.map { "\($0.key)=\"\($0.value)\"" }.joined(separator: ",") + "}"
    }

    static func labelOrder(_ a: [String: String], _ b: [String: String]) -> Bool { text(a) < text(b) }

    /// The body cut to `limit` characters, for a failure message.
    func shortened(_ limit: Int = 400) -> String {
        let flat = body.replacingOccurrences(of: "\n", with: " ")
        return flat.count <= limit ? flat : String(flat.prefix(limit)) + "… (\(flat.count) chars)"
    }
}
