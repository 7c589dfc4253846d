internal import AliceFormat

/// JSON string quoting, shared by the CLI and the cloud node (no Foundation on these paths).
package enum JSONText {
    package static func quote(_ s: String) -> String {
        var out = "\""
        for u in s.unicodeScalars {
            switch u {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if u.value < 0x20 {
                    let hex = String(u.value, radix: 16)
                    out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                } else {
                    out.unicodeScalars.append(u)
                }
            }
        }
        return out + "\""
    }

    /// A value as JSON: a number when finite (shortest round-trip text), else a string such as
    /// "nan", "inf" or "-inf" (JSON has no such numbers).
    package static func number(_ v: Double) -> String { v.isFinite ? v.description : "\"\(DoubleText.format(v))\"" }
}

/// CSV fields (RFC 4180), shared by the CLI and the cloud node.
package enum CSVText {
    /// `s` as one field: quoted, with quotes doubled, when it holds a comma, a quote or a newline.
    package static func field(_ s: String) -> String {
        guard s.contains(",") || s.contains("\"") || s.contains("\n") else { return s }
        var out = "\""
        for c in s { out += c == "\"" ? "\"\"" : String(c) }
        return out + "\""
    }
}

/// The Prometheus text exposition format (version 0.0.4), for the agent's and the cloud's /metrics.
package struct PrometheusText {
    package private(set) var text = ""

    package init() {}

    /// One metric family: its help, type and samples (`labels` is `{a="b"}` or empty).
    package mutating func metric(
        _ name: String, _ type: String, _ help: String, _ samples: [(labels: String, value: Double)]
    ) {
        text += "# HELP \(name) \(help)\n# TYPE \(name) \(type)\n"
        for (labels, v) in samples {
            text +=
                "\(name)\(labels) \(v.isFinite && v == v.rounded() && abs(v) < 1e15 ? String(Int64(v)) : String(v))\n"
        }
    }

    /// A label value with `\` and `"` escaped (and newlines, which would end the line).
    package static func escape(_ s: String) -> String {
        var out = ""
        for c in s.unicodeScalars {
            switch c {
            case "\\": out += "\\\\"
            case "\"": out += "\\\""
            case "\n": out += "\\n"
            default: out.unicodeScalars.append(c)
            }
        }
        return out
    }
}
