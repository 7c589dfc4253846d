import AgentHarness
import AliceDB
import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1

extension CloudBench {
    /// A panel's answers: series (its labels, sorted) → step (epoch ms) → value.
    typealias PromAnswer = [String: [Int64: Double]]

    /// One panel against both servers: a warm-up (whose answers are compared), then `runs` timed
    /// rounds, the node first in each; a server that fails is reported and skipped from then on.
    /// - Returns: the timing columns and the answer-check columns of the tables.
    func promMeasure(_ panel: PromPanel, node: String, prometheus: String, client: HTTPClient) async throws -> (
        row: [String], check: [String]
    ) {
        let servers: [(name: String, url: String, token: String?)] = [
            ("alicedb-cloud", node, "bench-reader-token"), ("Prometheus", prometheus, nil),
        ]
        var answers = [PromAnswer](repeating: [:], count: 2)
        var times = [[Double]](repeating: [], count: 2)
        var failed = [String?](repeating: nil, count: 2)
        for run in 0...max(1, runs) {
            for (s, server) in servers.enumerated() where failed[s] == nil {
                do {
                    var total = 0.0
                    for r in panel.ranges {
                        let (seconds, body) = try await promRequest(
                            client, server.url, token: server.token, panel.query, r.start, r.end, panel.step)
                        total += seconds
                        if run == 0 { try CloudBench.promParse(body, into: &answers[s]) }
                    }
                    if run > 0 { times[s].append(total) }
                } catch {
                    failed[s] = "\(error)"
                    print("ERROR from \(server.name) on \(panel.query): \(error)")
                }
            }
        }
        let medians = times.map { $0.isEmpty ? nil : $0.sorted()[$0.count / 2] }
        let shown = medians.map { $0.map { CloudBench.fixed($0, 3) } ?? "error" }
        let ratio = medians[0].flatMap { a in medians[1].map { CloudBench.fixed(a / max($0, 1e-9), 2) } } ?? "–"
        let counts = answers.map { a in (a.count, a.values.reduce(0) { $0 + $1.count }) }
        let (oneSide, differing) = CloudBench.promCompare(answers[0], answers[1])
        if failed.allSatisfy({ $0 == nil }) && (counts[0].0 != counts[1].0 || counts[0].1 != counts[1].1) {
            print(
                "WARNING: \(panel.query): alicedb-cloud answers \(counts[0].0) series / \(counts[0].1) points, "
                    + "Prometheus \(counts[1].0) series / \(counts[1].1) points")
        }
        print(
            "  \(panel.query) [\(panel.steps) steps of \(panel.step) s, \(panel.ranges.count) queries]: alicedb-cloud \(shown[0]) s, "
                + "Prometheus \(shown[1]) s (runs: "
                + times.map { $0.map { CloudBench.fixed($0, 3) }.joined(separator: " ") }.joined(separator: " | ") + ")"
        )
        return (
            shown + [ratio],
            ["\(counts[0].0) / \(counts[1].0)", "\(counts[0].1) / \(counts[1].1)", String(oneSide), String(differing)]
        )
    }

    /// One `query_range` GET; the seconds until the whole body was read, and the body.
    /// - Throws: `HarnessError` with the status and the start of the body when it is not 200.
    func promRequest(
        _ client: HTTPClient, _ base: String, token: String?, _ query: String, _ start: Int64, _ end: Int64,
        _ step: Int64
    ) async throws -> (Double, ByteBuffer) {
        var request = HTTPClientRequest(
            url:
                "\(base)/api/v1/query_range?query=\(CloudBench.percentEncoded(query))&start=\(start)&end=\(end)&step=\(step)"
        )
        if let token { request.headers.add(name: "Authorization", value: "Bearer \(token)") }
        let t = ContinuousClock.now
        let response = try await client.execute(request, timeout: .seconds(1800))
        let body = try await response.body.collect(upTo: 1 << 30)
        let seconds = CloudBench.seconds(ContinuousClock.now - t)
        guard response.status == .ok else {
            throw HarnessError("HTTP \(response.status.code): \(String(buffer: body).prefix(300))")
        }
        return (seconds, body)
    }

    /// Adds a `query_range` answer (`{"data": {"result": [{"metric": …, "values": [[t, "v"], …]}]}}`).
    static func promParse(_ body: ByteBuffer, into answer: inout PromAnswer) throws {
        let json = try JSONSerialization.jsonObject(with: Data(body.readableBytesView))
        guard let data = (json as? [String: Any])?["data"] as? [String: Any], let result = data["result"] as? [Any]
        else {
            throw HarnessError("not a query_range answer: \(String(buffer: body).prefix(200))")
        }
        for case let s as [String: Any] in result {
            let metric = (s["metric"] as? [String: Any]) ?? [:]
            let key = metric.keys.sorted().map { "\($0)=\(metric[$0] ?? "")" }.joined(separator: ",")
            var points = answer[key] ?? [:]
            for case let pair as [Any] in (s["values"] as? [Any]) ?? [] where pair.count == 2 {
                guard let t = (pair[0] as? NSNumber)?.doubleValue else { continue }
                points[Int64((t * 1000).rounded())] = Double(pair[1] as? String ?? "") ?? .nan
            }
            answer[key] = points
        }
    }

    /// Points only one side has (by series and step), and points whose values differ by more than 1e-9 relative.
    static func promCompare(_ a: PromAnswer, _ b: PromAnswer) -> (oneSide: Int, differing: Int) {
        var oneSide = 0
        var differing = 0
        for key in Set(a.keys).union(b.keys) {
            let x = a[key] ?? [:]
            let y = b[key] ?? [:]
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

    /// The sizes of the regular files under `path` (what `du -sb` counts, directories aside).
    static func directoryBytes(_ path: String) -> Int {
        guard let files = FileManager.default.enumerator(atPath: path) else { return 0 }
        var total = 0
        while let f = files.nextObject() as? String {
            var st = stat()
            if lstat(path + "/" + f, &st) == 0 && (st.st_mode & S_IFMT) == S_IFREG { total += Int(st.st_size) }
        }
        return total
    }

    /// Bytes an unprivileged writer may still use on the file system holding `path` (as `df`).
    static func freeBytes(_ path: String) -> Int {
        var s = statvfs()
        guard statvfs(path, &s) == 0 else { return 0 }
        return Int(s.f_bavail) * Int(s.f_frsize)
    }

    /// MemTotal from /proc/meminfo, in GiB.
    static func memTotal() -> String {
        let text = (try? String(contentsOfFile: "/proc/meminfo", encoding: .utf8)) ?? ""
        let kb =
            text.split(separator: "\n").first { $0.hasPrefix("MemTotal:") }?.split(separator: " ").dropFirst().first
            .flatMap { Double($0) } ?? 0
        return CloudBench.fixed(kb / 1_048_576, 1) + " GiB"
    }
}
