import AliceDB
import ArgumentParser

#if canImport(Glibc)
    import Glibc
#endif

/// How results are printed.
enum OutputFormat: String, ExpressibleByArgument, CaseIterable {
    case table, csv, json
}

/// A cell of a result table: keeps numbers numbers for JSON.
enum Cell {
    case int(Int64)
    case double(Double)
    case text(String)
    case null

    var text: String {
        switch self {
        case .int(let i): String(i)
        case .double(let d): DoubleText.format(d)
        case .text(let s): s
        case .null: ""
        }
    }

    var json: String {
        switch self {
        case .int(let i): String(i)
        case .double(let d): JSONText.number(d)
        case .text(let s): JSON.quote(s)
        case .null: "null"
        }
    }
}

enum JSON {
    static func quote(_ s: String) -> String { JSONText.quote(s) }
}

/// Buffered standard output (print() per line is slow for millions of rows).
struct StdoutBuffer {
    private var bytes: [UInt8] = []
    init() { bytes.reserveCapacity(1 << 16) }
    mutating func write(_ s: String) {
        bytes.append(contentsOf: s.utf8)
        if bytes.count >= 1 << 16 { flush() }
    }
    mutating func flush() {
        var done = 0
        while done < bytes.count {
            let n = bytes.withUnsafeBytes { Glibc.write(1, $0.baseAddress! + done, $0.count - done) }
            if n <= 0 { break }
            done += n
        }
        bytes.removeAll(keepingCapacity: true)
    }
}

struct Table {
    var columns: [String]
    var rows: [[Cell]] = []

    init(_ columns: [String]) { self.columns = columns }

    mutating func add(_ row: [Cell]) { rows.append(row) }

    func render(_ format: OutputFormat) {
        var out = StdoutBuffer()
        switch format {
        case .csv:
            out.write(columns.joined(separator: ",") + "\n")
            for r in rows { out.write(r.map { CSVText.field($0.text) }.joined(separator: ",") + "\n") }
        case .json:
            out.write("[")
            for (i, r) in rows.enumerated() {
                out.write(i == 0 ? "\n  {" : ",\n  {")
                out.write(zip(columns, r).map { "\(JSON.quote($0)): \($1.json)" }.joined(separator: ", "))
                out.write("}")
            }
            out.write(rows.isEmpty ? "]\n" : "\n]\n")
        case .table:
            var widths = columns.map(\.count)
            for r in rows {
                for (i, c) in r.enumerated() where i < widths.count { widths[i] = max(widths[i], c.text.count) }
            }
            func line(_ cells: [String], numeric: [Bool]) -> String {
                cells.enumerated().map { i, s in
                    let pad = String(repeating: " ", count: widths[i] - s.count)
                    return numeric[i] ? pad + s : s + pad
                }.joined(separator: "  ")
            }
            out.write(line(columns, numeric: columns.map { _ in false }) + "\n")
            out.write(widths.map { String(repeating: "-", count: $0) }.joined(separator: "  ") + "\n")
            for r in rows {
                let numeric = r.map { if case .text = $0 { false } else { true } }
                out.write(line(r.map(\.text), numeric: numeric) + "\n")
            }
        }
        out.flush()
    }
}

enum Terminal {
    static var stdoutIsTTY: Bool { isatty(1) == 1 }
    static var stderrIsTTY: Bool { isatty(2) == 1 }

    static func err(_ s: String) {
        var bytes = Array((s + "\n").utf8)
        _ = bytes.withUnsafeMutableBytes { Glibc.write(2, $0.baseAddress!, $0.count) }
    }
}

/// Fixed-point number text without Foundation's String(format:).
func fixed(_ v: Double, _ digits: Int) -> String {
    guard v.isFinite else { return v.description }
    var scale = 1.0
    for _ in 0..<digits { scale *= 10 }
    let r = (abs(v) * scale).rounded()
    guard r < 9e18 else { return v.description }
    let n = Int64(r)
    let ip = n / Int64(scale)
    let fp = n % Int64(scale)
    var s = (v < 0 && n != 0 ? "-" : "") + String(ip)
    if digits > 0 {
        let f = String(fp)
        s += "." + String(repeating: "0", count: digits - f.count) + f
    }
    return s
}

extension Terminal {
    static func errInline(_ s: String) {
        var bytes = Array(s.utf8)
        _ = bytes.withUnsafeMutableBytes { Glibc.write(2, $0.baseAddress!, $0.count) }
    }
}

enum Clock {
    static var now: ContinuousClock.Instant { ContinuousClock.now }
    static func seconds(since start: ContinuousClock.Instant) -> Double {
        let d = ContinuousClock.now - start
        return Double(d.components.seconds) + Double(d.components.attoseconds) * 1e-18
    }
}
