internal import AliceDB

/// Prometheus's HTTP API spellings: parameters in, JSON out.
enum PromQL {
    /// The metric name every series answers to.
    static let metricName = "alicedb"

    /// Unix seconds with a fraction, or RFC 3339; as epoch milliseconds.
    static func time(_ text: String?, _ name: String, default d: Int64? = nil) throws(QueryError) -> Int64 {
        guard let text, !text.isEmpty else {
            guard let d else { throw .badRequest("missing parameter '\(name)'") }
            return d
        }
        if let s = Double(text), s.isFinite, abs(s) < 9e15 { return Int64((s * 1000).rounded()) }
        if let ms = RFC3339.millis(text) { return ms }
        throw .badRequest("invalid parameter \"\(name)\": cannot parse \"\(text.prefix(40))\" to a valid timestamp")
    }

    /// Seconds (`15`, `0.5`) or a duration (`15s`, `1m30s`); in milliseconds, positive.
    static func duration(_ text: String?, _ name: String) throws(QueryError) -> Int64 {
        guard let text, !text.isEmpty else { throw .badRequest("missing parameter '\(name)'") }
        var ms: Int64? = nil
        if let s = Double(text), s.isFinite, abs(s) < 1e12 {
            ms = Int64((s * 1000).rounded())
        } else {
            ms = PromParser.duration(text)
        }
        guard let ms else {
            throw .badRequest("invalid parameter \"\(name)\": cannot parse \"\(text.prefix(40))\" to a valid duration")
        }
        guard ms > 0 else {
            throw .badRequest("zero or negative query resolution step widths are not accepted. Try a positive integer")
        }
        return ms
    }

    /// Epoch milliseconds as Prometheus writes a timestamp: seconds, with the milliseconds if any.
    static func seconds(_ ms: Int64) -> String {
        let s = ms / 1000
        let r = abs(ms % 1000)
        if r == 0 { return String(s) }
        let frac = String(r)
        return (ms < 0 && s == 0 ? "-" : "") + String(s) + "." + String(repeating: "0", count: 3 - frac.count) + frac
    }

    /// A value as Go's `strconv.FormatFloat(v, 'f', -1, 64)`: the shortest digits that read back
    /// the same, never an exponent; `NaN`, `+Inf`, `-Inf`.
    static func float(_ v: Double) -> String {
        if v.isNaN { return "NaN" }
        if v.isInfinite { return v > 0 ? "+Inf" : "-Inf" }
        var text = v.description
        // Most values: no exponent, and Go writes a whole number without ".0".
        if !text.utf8.contains(UInt8(ascii: "e")) {
            if text.hasSuffix(".0") { text.removeLast(2) }
            return text == "-0" ? "-0" : text
        }
        var sign = ""
        if text.hasPrefix("-") {
            sign = "-"
            text.removeFirst()
        }
        var exponent = 0
        if let e = text.firstIndex(where: { $0 == "e" || $0 == "E" }) {
            exponent = Int(text[text.index(after: e)...]) ?? 0
            text = String(text[..<e])
        }
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        let whole = String(parts[0])
        let fraction = parts.count > 1 ? String(parts[1]) : ""
        var digits = Array(whole + fraction)
        var point = whole.count + exponent
        while digits.count > 1 && digits.first == "0" && point > 1 {
            digits.removeFirst()
            point -= 1
        }
        var out: String
        if point <= 0 {
            out = "0." + String(repeating: "0", count: -point) + String(digits)
        } else if point >= digits.count {
            out = String(digits) + String(repeating: "0", count: point - digits.count)
        } else {
            out = String(digits[..<point]) + "." + String(digits[point...])
        }
        if out.contains(".") {
            while out.hasSuffix("0") { out.removeLast() }
            if out.hasSuffix(".") { out.removeLast() }
        }
        while out.count > 1 && out.hasPrefix("0") && !out.hasPrefix("0.") { out.removeFirst() }
        return sign + out
    }

    /// A label set as one comparable string (label order does not matter).
    static func signature(_ l: PromLabels) -> String {
        l.sorted { $0.key < $1.key }.map { "\($0.key)\u{1}\($0.value)" }.joined(separator: "\u{2}")
    }

    /// The labels less the metric name (what most functions and operators give).
    static func dropName(_ l: PromLabels) -> PromLabels {
        var l = l
        l["__name__"] = nil
        return l
    }

    /// A label set as a JSON object, names sorted.
    static func labels(_ l: PromLabels) -> String {
        "{"
            + l.sorted { $0.key < $1.key }.map { "\(JSONText.quote($0.key)): \(JSONText.quote($0.value))" }.joined(
                separator: ", ") + "}"
    }

    /// Prometheus's `labels.Compare`: pair by pair in name order, names first, then values.
    static func less(_ a: PromLabels, _ b: PromLabels) -> Bool {
        let x = a.sorted { $0.key < $1.key }
        let y = b.sorted { $0.key < $1.key }
        for (p, q) in zip(x, y) {
            if p.key != q.key { return p.key < q.key }
            if p.value != q.value { return p.value < q.value }
        }
        return x.count < y.count
    }

    /// Series of the same label set (from `or`, or from functions that drop the name) as one.
    static func merged(_ v: [PromSeries]) -> [PromSeries] {
        var order = [String]()
        var bySignature = [String: PromSeries]()
        for s in v {
            let sig = PromQL.signature(s.labels)
            if var m = bySignature[sig] {
                for (k, x) in s.values.enumerated() where m.values[k] == nil { m.values[k] = x }
                bySignature[sig] = m
            } else {
                order.append(sig)
                bySignature[sig] = s
            }
        }
        return order.compactMap { bySignature[$0] }
    }

    /// A range query's answer: the series with any value, sorted by labels.
    static func matrix(_ v: [PromSeries], _ steps: [Int64]) -> String {
        let items = merged(v).filter { $0.values.contains { $0 != nil } }.sorted { less($0.labels, $1.labels) }.map {
            s in
            let points = s.values.enumerated().compactMap { k, x in x.map { "[\(seconds(steps[k])), \"\(float($0))\"]" }
            }
            return "{\"metric\": \(labels(s.labels)), \"values\": [\(points.joined(separator: ", "))]}"
        }
        return "{\"resultType\": \"matrix\", \"result\": [\(items.joined(separator: ", "))]}"
    }
}
