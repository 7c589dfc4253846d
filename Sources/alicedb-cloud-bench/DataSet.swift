import AliceDB
import Foundation

/// The benchmark's input: a data set is a `ts,value` CSV file with a header line.
enum DataSet {
    /// Timestamps and values of one file; lines that do not parse are skipped.
    static func load(_ path: String) throws -> (ts: [Int64], values: [Double]) {
        var ts = [Int64]()
        var values = [Double]()
        for line in try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n").dropFirst() {
            let p = line.split(separator: ",")
            guard p.count == 2, let t = Int64(p[0]), let v = DoubleText.parse(p[1]) else { continue }
            ts.append(t)
            values.append(v)
        }
        return (ts, values)
    }
}
