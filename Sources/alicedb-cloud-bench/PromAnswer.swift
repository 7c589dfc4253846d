import AgentHarness
import Foundation
import NIOCore

/// A panel's answers from one server, to compare with the other's: series (its labels, sorted)
/// → step (epoch ms) → value.
struct PromAnswer {
    var series: [String: [Int64: Double]] = [:]

    /// Points over every series.
    var points: Int { series.values.reduce(0) { $0 + $1.count } }

    /// Adds a `query_range` answer (`{"data": {"result": [{"metric": …, "values": [[t, "v"], …]}]}}`).
    mutating func add(_ body: ByteBuffer) throws {
        let json = try JSONSerialization.jsonObject(with: Data(body.readableBytesView))
        guard let data = (json as? [String: Any])?["data"] as? [String: Any], let result = data["result"] as? [Any]
        else {
            throw HarnessError("not a query_range answer: \(String(buffer: body).prefix(200))")
        }
        for case let s as [String: Any] in result {
            let metric = (s["metric"] as? [String: Any]) ?? [:]
            let key = metric.keys.sorted().map { "\($0)=\(metric[$0] ?? "")" }.joined(separator: ",")
            var points = series[key] ?? [:]
            for case let pair as [Any] in (s["values"] as? [Any]) ?? [] where pair.count == 2 {
                guard let t = (pair[0] as? NSNumber)?.doubleValue else { continue }
                points[Int64((t * 1000).rounded())] = Double(pair[1] as? String ?? "") ?? .nan
            }
            series[key] = points
        }
    }

    /// Points only one side has (by series and step), and points whose values differ by more than 1e-9 relative.
    static func compare(_ a: PromAnswer, _ b: PromAnswer) -> (oneSide: Int, differing: Int) {
        var oneSide = 0
        var differing = 0
        for key in Set(a.series.keys).union(b.series.keys) {
            let x = a.series[key] ?? [:]
            let y = b.series[key] ?? [:]
            for (t, v) in x {
                guard let w = y[t] else {
                    oneSide += 1
                    continue
                }
                if !(v == w || (v.isNaN && w.isNaN) || abs(v - w) <= 1e-9 * max(abs(v), abs(w))) { differing += 1 }
            }
            for t in y.keys where x[t] == nil { oneSide += 1 }
        }
        return (oneSide, differing)
    }
}
