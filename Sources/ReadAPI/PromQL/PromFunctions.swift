#if canImport(Glibc)
    internal import Glibc
#endif

/// The functions this node evaluates, with Prometheus's argument types, and those over instant vectors.
enum PromFunctions {
    struct Signature {
        var arguments: [PromType]
        /// How many trailing arguments may be left out.
        var optional = 0
        var result: PromType = .vector
    }

    /// Functions over a range vector, evaluated per series and window (`PromEvaluator+Range`).
    static let rangeFunctions: Set<String> = [
        "avg_over_time", "min_over_time", "max_over_time", "sum_over_time", "count_over_time", "last_over_time",
        "present_over_time", "quantile_over_time", "stddev_over_time", "stdvar_over_time", "rate", "irate",
        "increase", "delta", "idelta", "deriv", "resets", "changes", "predict_linear",
    ]

    static let math: [String: @Sendable (Double) -> Double] = [
        "abs": { Swift.abs($0) }, "ceil": { $0.rounded(.up) }, "floor": { $0.rounded(.down) },
        "sqrt": { $0.squareRoot() }, "exp": { Glibc.exp($0) }, "ln": { Glibc.log($0) }, "log2": { Glibc.log2($0) },
        "log10": { Glibc.log10($0) }, "sgn": { $0 > 0 ? 1 : $0 < 0 ? -1 : $0 },
        "sin": { Glibc.sin($0) }, "cos": { Glibc.cos($0) }, "tan": { Glibc.tan($0) }, "asin": { Glibc.asin($0) },
        "acos": { Glibc.acos($0) }, "atan": { Glibc.atan($0) }, "sinh": { Glibc.sinh($0) }, "cosh": { Glibc.cosh($0) },
        "tanh": { Glibc.tanh($0) }, "asinh": { Glibc.asinh($0) }, "acosh": { Glibc.acosh($0) },
        "atanh": { Glibc.atanh($0) }, "deg": { $0 * 180 / .pi }, "rad": { $0 * .pi / 180 },
    ]

    static let calendar: Set<String> = [
        "minute", "hour", "day_of_week", "day_of_month", "day_of_year", "days_in_month", "month", "year",
    ]

    static let signatures: [String: Signature] = {
        var s = [String: Signature]()
        for f in rangeFunctions { s[f] = Signature(arguments: [.matrix]) }
        s["quantile_over_time"] = Signature(arguments: [.scalar, .matrix])
        s["predict_linear"] = Signature(arguments: [.matrix, .scalar])
        for f in math.keys { s[f] = Signature(arguments: [.vector]) }
        for f in calendar { s[f] = Signature(arguments: [.vector], optional: 1) }
        s["round"] = Signature(arguments: [.vector, .scalar], optional: 1)
        s["clamp"] = Signature(arguments: [.vector, .scalar, .scalar])
        s["clamp_min"] = Signature(arguments: [.vector, .scalar])
        s["clamp_max"] = Signature(arguments: [.vector, .scalar])
        s["timestamp"] = Signature(arguments: [.vector])
        s["sort"] = Signature(arguments: [.vector])
        s["sort_desc"] = Signature(arguments: [.vector])
        s["label_replace"] = Signature(arguments: [.vector, .string, .string, .string, .string])
        s["scalar"] = Signature(arguments: [.vector], result: .scalar)
        s["vector"] = Signature(arguments: [.scalar])
        s["time"] = Signature(arguments: [], result: .scalar)
        s["pi"] = Signature(arguments: [], result: .scalar)
        return s
    }()

    /// Prometheus's `quantile`: linear interpolation between the closest ranks, ±Inf outside [0, 1].
    static func quantile(_ q: Double, _ values: [Double]) -> Double {
        guard !values.isEmpty else { return .nan }
        if q < 0 { return -.infinity }
        if q > 1 { return .infinity }
        // Go's sort with NaN first (its Less treats NaN as smallest).
        let v = values.sorted { a, b in a.isNaN ? !b.isNaN : (b.isNaN ? false : a < b) }
        let n = Double(v.count)
        let rank = q * (n - 1)
        let lower = Swift.max(0, rank.rounded(.down))
        let upper = Swift.min(n - 1, lower + 1)
        let weight = rank - rank.rounded(.down)
        return v[Int(lower)] * (1 - weight) + v[Int(upper)] * weight
    }

    /// One step of Kahan–Neumaier summation, as Prometheus's `kahanSumInc`.
    @inline(__always)
    static func kahan(_ inc: Double, _ sum: inout Double, _ c: inout Double) {
        let t = sum + inc
        if Swift.abs(sum) >= Swift.abs(inc) { c += (sum - t) + inc } else { c += (inc - t) + sum }
        sum = t
    }

    /// Civil date of epoch seconds (UTC): year, month 1–12, day 1–31, day of week 0 = Sunday, day of year 1–366.
    static func civil(_ seconds: Double) -> (
        year: Int, month: Int, day: Int, weekday: Int, yearDay: Int, hour: Int, minute: Int
    ) {
        let s = Int64(seconds.rounded(.down))
        let days = s >= 0 ? s / 86_400 : (s - 86_399) / 86_400
        let secs = s - days * 86_400
        // Howard Hinnant's days_from_civil inverse.
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        let y = yoe + era * 400 + (m <= 2 ? 1 : 0)
        let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
        let before = [0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334][Int(m) - 1]
        let yday = before + Int(d) + (leap && m > 2 ? 1 : 0)
        let weekday = Int(((days % 7) + 11) % 7)  // 1970-01-01 was a Thursday (4)
        return (Int(y), Int(m), Int(d), weekday, yday, Int(secs / 3600), Int(secs % 3600 / 60))
    }

    static func calendarValue(_ name: String, _ seconds: Double) -> Double {
        // `civil` takes whole seconds as an Int64: past that (`month(vector(1e300))`) no date, not a trap.
        guard seconds.isFinite, Swift.abs(seconds) < 9e15 else { return .nan }
        let c = civil(seconds)
        switch name {
        case "minute": return Double(c.minute)
        case "hour": return Double(c.hour)
        case "day_of_week": return Double(c.weekday)
        case "day_of_month": return Double(c.day)
        case "day_of_year": return Double(c.yearDay)
        case "month": return Double(c.month)
        case "year": return Double(c.year)
        default:
            let leap = (c.year % 4 == 0 && c.year % 100 != 0) || c.year % 400 == 0
            return Double([31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][c.month - 1])
        }
    }

    /// Go's `math.Max`: NaN wins unless the other side is +Inf.
    static func goMax(_ x: Double, _ y: Double) -> Double {
        if x == .infinity || y == .infinity { return .infinity }
        if x.isNaN || y.isNaN { return .nan }
        if x == 0 && y == 0 { return x.sign == .minus ? y : x }
        return x > y ? x : y
    }

    /// Go's `math.Min`: NaN wins unless the other side is −Inf.
    static func goMin(_ x: Double, _ y: Double) -> Double {
        if x == -.infinity || y == -.infinity { return -.infinity }
        if x.isNaN || y.isNaN { return .nan }
        if x == 0 && y == 0 { return x.sign == .minus ? x : y }
        return x < y ? x : y
    }

    /// Go's `Regexp.Expand` of `$1`, `${1}`, `$name`, `${name}` and `$$`.
    static func expand(_ template: String, _ m: Regex<AnyRegexOutput>.Match) -> String {
        var out = ""
        var chars = Array(template)[...]
        func group(_ name: String) -> String {
            if let n = Int(name) {
                guard n < m.output.count, let sub = m.output[n].substring else { return "" }
                return String(sub)
            }
            guard let sub = m.output[name]?.substring else { return "" }
            return String(sub)
        }
        while let c = chars.popFirst() {
            guard c == "$", let next = chars.first else {
                out.append(c)
                continue
            }
            if next == "$" {
                out.append("$")
                chars = chars.dropFirst()
            } else if next == "{" {
                guard let close = chars.firstIndex(of: "}") else {
                    out.append(c)
                    continue
                }
                out += group(String(chars[chars.index(after: chars.startIndex)..<close]))
                chars = chars[chars.index(after: close)...]
            } else {
                var name = ""
                while let d = chars.first, d.isLetter || d.isNumber || d == "_" {
                    name.append(d)
                    chars = chars.dropFirst()
                }
                if name.isEmpty { out.append(c) } else { out += group(name) }
            }
        }
        return out
    }
}
