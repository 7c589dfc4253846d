import AgentHarness
import AliceDB
import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1

/// One panel timed against both servers, and the HTTP it takes.
extension PromQLBench {
    /// One panel against both servers: a warm-up (whose answers are compared), then `runs` timed
    /// rounds, the node first in each; a server that fails is reported and skipped from then on.
    /// - Returns: the timing columns and the answer-check columns of the tables.
    func measure(_ panel: PromPanel, node: String, prometheus: String) async throws -> (
        row: [String], check: [String]
    ) {
        let servers: [(name: String, url: String, token: String?)] = [
            ("alicedb-cloud", node, "bench-reader-token"), ("Prometheus", prometheus, nil),
        ]
        var answers = [PromAnswer](repeating: PromAnswer(), count: 2)
        var times = [[Double]](repeating: [], count: 2)
        var failed = [String?](repeating: nil, count: 2)
        for run in 0...max(1, runs) {
            for (s, server) in servers.enumerated() where failed[s] == nil {
                do {
                    var total = 0.0
                    for r in panel.ranges {
                        let (seconds, body) = try await request(
                            server.url, token: server.token, panel.query, r.start, r.end, panel.step)
                        total += seconds
                        if run == 0 { try answers[s].add(body) }
                    }
                    if run > 0 { times[s].append(total) }
                } catch {
                    failed[s] = "\(error)"
                    print("ERROR from \(server.name) on \(panel.query): \(error)")
                }
            }
        }
        let medians = times.map { $0.isEmpty ? nil : $0.sorted()[$0.count / 2] }
        let shown = medians.map { $0.map { Report.fixed($0, 3) } ?? "error" }
        let ratio = medians[0].flatMap { a in medians[1].map { Report.fixed(a / max($0, 1e-9), 2) } } ?? "–"
        let counts = answers.map { a in (a.series.count, a.points) }
        let (oneSide, differing) = PromAnswer.compare(answers[0], answers[1])
        if failed.allSatisfy({ $0 == nil }) && (counts[0].0 != counts[1].0 || counts[0].1 != counts[1].1) {
            print(
                "WARNING: \(panel.query): alicedb-cloud answers \(counts[0].0) series / \(counts[0].1) points, "
                    + "Prometheus \(counts[1].0) series / \(counts[1].1) points")
        }
        print(
            "  \(panel.query) [\(panel.steps) steps of \(panel.step) s, \(panel.ranges.count) queries]: alicedb-cloud \(shown[0]) s, "
                + "Prometheus \(shown[1]) s (runs: "
                + times.map { $0.map { Report.fixed($0, 3) }.joined(separator: " ") }.joined(separator: " | ") + ")"
        )
        return (
            shown + [ratio],
            ["\(counts[0].0) / \(counts[1].0)", "\(counts[0].1) / \(counts[1].1)", String(oneSide), String(differing)]
        )
    }

    /// One `query_range` GET; the seconds until the whole body was read, and the body.
    /// - Throws: `HarnessError` with the status and the start of the body when it is not 200.
    func request(
        _ base: String, token: String?, _ query: String, _ start: Int64, _ end: Int64,
        _ step: Int64
    ) async throws -> (Double, ByteBuffer) {
        var request = HTTPClientRequest(
            url:
                "\(base)/api/v1/query_range?query=\(PromQLBench.percentEncoded(query))&start=\(start)&end=\(end)&step=\(step)"
        )
        if let token { request.headers.add(name: "Authorization", value: "Bearer \(token)") }
        let t = ContinuousClock.now
        let response = try await client.execute(request, timeout: .seconds(1800))
        let body = try await response.body.collect(upTo: 1 << 30)
        let seconds = Report.seconds(ContinuousClock.now - t)
        guard response.status == .ok else {
            throw HarnessError("HTTP \(response.status.code): \(String(buffer: body).prefix(300))")
        }
        return (seconds, body)
    }

    /// A query-string value: everything but RFC 3986's unreserved characters as `%XX`.
    static func percentEncoded(_ s: String) -> String {
        var out = ""
        for b in s.utf8 {
            switch b {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"),
                UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"):
                out.unicodeScalars.append(Unicode.Scalar(b))
            default:
                let h = String(b, radix: 16, uppercase: true)
                out += "%" + (h.count == 1 ? "0" + h : h)
            }
        }
        return out
    }
}
