/// The benchmarks' Markdown output: fixed-point numbers, tables and durations in seconds, the same
/// in every phase so that docs/benchmarks.md can take the tables as printed.
enum Report {
    /// `v` with exactly `digits` decimals (no exponent, no locale).
    static func fixed(_ v: Double, _ digits: Int) -> String {
        var scale = 1.0
        for _ in 0..<digits { scale *= 10 }
        let r = (v * scale).rounded() / scale
        var s = String(r)
        if digits == 0 { return String(Int64(r)) }
        let parts = s.split(separator: ".")
        let frac = parts.count > 1 ? String(parts[1]) : ""
        s = String(parts[0]) + "." + frac + String(repeating: "0", count: max(0, digits - frac.count))
        return s
    }

    /// A Markdown table on stdout.
    static func table(_ header: [String], _ rows: [[String]]) {
        print("| " + header.joined(separator: " | ") + " |")
        print("|" + header.map { _ in " --- |" }.joined())
        for r in rows { print("| " + r.joined(separator: " | ") + " |") }
    }

    static func seconds(_ d: Duration) -> Double {
        Double(d.components.seconds) + Double(d.components.attoseconds) * 1e-18
    }
}
