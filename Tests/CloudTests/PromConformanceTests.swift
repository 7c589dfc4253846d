import AgentHarness
import AliceDB
import Foundation
import TestKit
import Testing

/// alicedb-cloud's Prometheus API against a real Prometheus (Debian 12's 2.42) holding the same
/// samples: every query of Tests/Fixtures/promql/queries.txt goes to both, and the answers must agree.
@Suite(.serialized) struct PromConformanceTests {
    @Test func nodeAnswersPromQLAsPrometheusDoes() throws {
        let started = Date()
        let dir = TempDirectory()
        let data = PromConformanceData.series()
        let prometheus = try PrometheusServer(directory: dir.path + "/prometheus", series: data)
        let cloud = try CloudProcess(directory: dir.path + "/cloud", config: CloudFixture.config(rateLimit: 100_000))
        try PromConformanceData.upload(data, to: cloud, scratch: dir.path + "/gateways")
        let loaded = Date().timeIntervalSince(started)

        let queries = try PromConformanceQuery.parse(
            try String(contentsOf: PromConformanceData.queryFile, encoding: .utf8),
            origin: Double(PromConformanceData.origin) / 1000)
        let samples = data.map(\.values.count).reduce(0, +)
        print("queries.txt: \(queries.count) queries over \(data.count) series, \(samples) samples")
        #expect(data.allSatisfy { $0.values.count >= 30 }, "a data set did not load")
        #expect(queries.count >= 150)

        var equal = 0
        var differ = [String]()
        var prometheusEmpty = 0
        var prometheusWrong = [String]()
        for q in queries {
            let n = try cloud.request("GET", q.path, token: CloudFixture.readerToken)
            let p = try prometheus.request(q.path)
            let node = PromAnswer(n.status, n.body)
            let prom = PromAnswer(p.status, p.body)
            // The file is checked against Prometheus itself first: refusals refused, the rest answered.
            if let expected = q.expectedError {
                if prom.status != "error" || prom.errorType != expected {
                    prometheusWrong.append("line \(q.line): expected \(expected), Prometheus: \(prom.shortened(200))")
                }
            } else if prom.status != "success" {
                prometheusWrong.append("line \(q.line): Prometheus refused it: \(prom.shortened(200))")
            } else if prom.isEmpty {
                prometheusEmpty += 1
            }
            let difference: String?
            if let expected = q.expectedError {
                difference =
                    node.status == "error" && node.errorType == expected
                    ? nil : "expected an error \(expected), node: status \(node.status) \(node.errorType ?? "")"
            } else {
                difference = node.difference(from: prom)
            }
            guard let difference else {
                equal += 1
                continue
            }
            differ.append(
                "✗ queries.txt:\(q.line): \(q.source)\n    first difference: \(difference)\n"
                    + "    node:       \(node.shortened())\n    prometheus: \(prom.shortened())")
        }
        for d in differ { print(d) }
        for w in prometheusWrong { print("query file: \(w)") }
        let answered = queries.filter { $0.expectedError == nil }.count
        print("Prometheus answered \(prometheusEmpty) of \(answered) queries with no series")
        print("PromQL conformance: \(queries.count) queries, \(equal) equal, \(differ.count) differ")
        let total = Date().timeIntervalSince(started)
        print("PromQL conformance: loading took \(tenths(loaded)) s, everything \(tenths(total)) s")
        #expect(prometheusWrong.isEmpty, "the query file does not match Prometheus' behaviour")
        #expect(prometheusEmpty * 10 < answered, "too many queries miss the data")
        #expect(differ.count == 0, "\(differ.count) of \(queries.count) PromQL answers differ from Prometheus'")
        withExtendedLifetime(prometheus) {}
    }

    /// The comparison finds each kind of difference, and only those.
    @Test func answersThatDifferAreFound() {
        func vector(_ points: String) -> String {
            "{\"status\":\"success\",\"data\":{\"resultType\":\"vector\",\"result\":[\(points)]}}"
        }
        let a = "{\"metric\":{\"series\":\"a\"},\"value\":[1704067200.5,\"1.5\"]}"
        let base = PromAnswer(200, vector(a))
        let same: [String] = [
            vector(a), vector(a.replacingOccurrences(of: "\"1.5\"", with: "\"1.5000000000001\"")),
            vector(a.replacingOccurrences(of: "1704067200.5,", with: "1704067200.500,")),
        ]
        for body in same { #expect(PromAnswer(200, body).difference(from: base) == nil, "\(body)") }
        let different: [(String, String)] = [
            (vector(a.replacingOccurrences(of: "\"1.5\"", with: "\"1.50001\"")), "at 1704067200.5: 1.50001 vs 1.5"),
            (vector(a.replacingOccurrences(of: "1704067200.5,", with: "1704067200.501,")), "a point at"),
            (vector(a.replacingOccurrences(of: "\"a\"", with: "\"b\"")), "series only in the node: {series=\"b\"}"),
            (vector(""), "series only in Prometheus"),
            (vector(a + "," + a.replacingOccurrences(of: "\"a\"", with: "\"c\"")), "series only in the node"),
            (vector(a.replacingOccurrences(of: "\"1.5\"", with: "\"NaN\"")), "NaN vs 1.5"),
            (vector(a).replacingOccurrences(of: "\"vector\"", with: "\"matrix\""), "resultType matrix vs vector"),
            ("{\"status\":\"error\",\"errorType\":\"bad_data\",\"error\":\"x\"}", "status error vs success"),
            ("not json", "status not JSON"),
        ]
        for (body, expected) in different {
            let d = PromAnswer(200, body).difference(from: base)
            #expect(d?.contains(expected) == true, "\(body): \(d ?? "no difference")")
        }
        let nan = PromAnswer(200, vector(a.replacingOccurrences(of: "\"1.5\"", with: "\"NaN\"")))
        #expect(nan.difference(from: nan) == nil)
        let inf = PromAnswer(200, vector(a.replacingOccurrences(of: "\"1.5\"", with: "\"+Inf\"")))
        #expect(inf.difference(from: inf) == nil)
        #expect(inf.difference(from: base) != nil && base.difference(from: inf) != nil)
        let matrix = "{\"status\":\"success\",\"data\":{\"resultType\":\"matrix\",\"result\":[{\"metric\":{},"
        let two = PromAnswer(200, matrix + "\"values\":[[1,\"1\"],[2,\"2\"]]}]}}")
        let one = PromAnswer(200, matrix + "\"values\":[[1,\"1\"]]}]}}")
        #expect(one.difference(from: two)?.contains("1 vs 2 points") == true)
        let refused = PromAnswer(400, "{\"status\":\"error\",\"errorType\":\"bad_data\",\"error\":\"parse error\"}")
        let failed = PromAnswer(422, "{\"status\":\"error\",\"errorType\":\"execution\",\"error\":\"duplicate\"}")
        #expect(refused.difference(from: refused) == nil && failed.difference(from: refused) != nil)
    }

    /// The harness itself: values and timestamps come back from Prometheus exactly as written, and
    /// Prometheus 2.42's windows include their left edge (what the node must do as well).
    @Test func prometheusServesTheSamplesAsWritten() throws {
        let dir = TempDirectory()
        let t0 = PromConformanceData.origin
        let values: [Double] = [
            0.1, 1e-05, .leastNonzeroMagnitude, .greatestFiniteMagnitude, -0.0, 123456.789, -2.5e-300,
            .nan, .infinity, -.infinity,
        ]
        let odd: [Int64] = [15, 1, 999, 7, 14, 16, 1, 999, 2, 501]  // ms that `seconds · 1000` may truncate
        var times = [Int64]()
        for (i, ms) in odd.enumerated() { times.append(t0 + Int64(i) * 60_000 + ms) }
        let minutes = (0..<5).map { t0 + Int64($0) * 60_000 }
        let edge = PrometheusServer.Series(
            gateway: "gw-2", series: "edge", timestamps: minutes, values: [1, 2, 3, 4, 5])
        let exact = PrometheusServer.Series(gateway: "gw-1", series: "exact", timestamps: times, values: values)
        // Milliseconds that float64(seconds) · 1000 truncates (1.001 s reads as 1000 ms): written nudged.
        let early = PrometheusServer.Series(
            gateway: "gw-1", series: "early", timestamps: [1001, 1003], values: [1, 2])
        #expect(try PrometheusServer.time(1001) == "1.00101" && PrometheusServer.time(t0 + 15) == "1704067200.015")
        let prometheus = try PrometheusServer(directory: dir.path, series: [exact, edge, early])
        func ask(_ query: String, at seconds: Int64) throws -> PromAnswer {
            let path = "/api/v1/query?query=\(PromConformanceQuery.percentEncoded(query))&time=\(seconds)"
            let r = try prometheus.request(path)
            return PromAnswer(r.status, r.body)
        }
        // Every sample back, bit for bit, with its millisecond (the range selector returns them raw).
        let raw = try ask("alicedb{series=\"exact\"}[20m]", at: t0 / 1000 + 900)
        let points = raw.series.values.first ?? []
        #expect(points.count == values.count, "\(raw.shortened())")
        for (i, p) in points.enumerated() where i < values.count {
            #expect(Int64((p.t * 1000).rounded()) == times[i], "\(p.t) vs \(times[i])")
            let v = PromAnswer.number(p.v)
            let same = v?.bitPattern == values[i].bitPattern || (v?.isNaN == true && values[i].isNaN)
            #expect(same, "\(p.v) vs \(values[i])")
        }
        let firsts = try ask("alicedb{series=\"early\"}[5s]", at: 2).series.values.first?.map(\.t)
        #expect(firsts == [1.001, 1.003])
        // A sample exactly at t − range is inside the window [t − range, t]; the one at t too.
        let s = t0 / 1000
        let window = try ask("count_over_time(alicedb{series=\"edge\"}[60s])", at: s + 120)
        let count = window.series.values.first?.first?.v
        print("Prometheus: count_over_time([60s]) at t0+120 s, samples at t0+60 s and t0+120 s: \(count ?? "none")")
        #expect(count == "2", "\(window.shortened())")
        // The same for the lookback of an instant selector: a sample exactly 5 minutes old is found.
        let lookback = try ask("alicedb{series=\"edge\"}", at: s + 240 + 300)
        #expect(lookback.series.values.first?.first?.v == "5", "\(lookback.shortened())")
        #expect(try ask("alicedb{series=\"edge\"}", at: s + 240 + 301).isEmpty)
        // The flags keep Prometheus on loopback and off the system's port.
        let ready = try prometheus.request("/-/ready").status
        #expect(prometheus.port != 9090 && ready == 200)
        prometheus.kill()
        #expect(!Broker.canConnect(prometheus.port))
    }
}

/// Seconds with one decimal, without `String(format:)`.
private func tenths(_ seconds: Double) -> String { ((seconds * 10).rounded() / 10).description }

/// The samples both engines hold: real data sets on realistic clocks starting at `origin`.
enum PromConformanceData {
    /// 2024-01-01T00:00:00Z in epoch milliseconds.
    static let origin: Int64 = 1_704_067_200_000

    static var queryFile: URL {
        var dir = URL(fileURLWithPath: #filePath)
        for _ in 0..<2 { dir.deleteLastPathComponent() }
        return dir.appendingPathComponent("Fixtures/promql/queries.txt")
    }

    /// Seven series on two gateways (see the head of queries.txt): 60 s, 15 s with jitter, hourly,
    /// a counter with resets, a series with gaps past the 5-minute lookback, and a tiny hand-made one.
    static func series() -> [PrometheusServer.Series] {
        let n = 4000
        func minutes(_ count: Int) -> [Int64] { (0..<count).map { origin + Int64($0) * 60_000 } }
        /// A data set's own clock, moved to start at `origin`.
        func moved(_ ts: ArraySlice<Int64>) -> [Int64] { ts.map { origin + $0 - ts.first! } }
        var out = [PrometheusServer.Series]()
        let basel = TestSlices.load("elf_basel_temp.csv").values.prefix(n)
        out.append(.init(gateway: "gw-1", series: "temp", timestamps: minutes(basel.count), values: Array(basel)))
        let city = TestSlices.load("alp_city_temperature.csv").values.prefix(n)
        out.append(.init(gateway: "gw-2", series: "temp", timestamps: minutes(city.count), values: Array(city)))
        // 15 s with 0-9 ms of jitter, as a gateway's clock stamps readings.
        let pressure = TestSlices.load("elf_air_pressure.csv").values.prefix(n)
        let jittered = (0..<pressure.count).map { origin + Int64($0) * 15_000 + Int64(($0 * 7919) % 10) }
        out.append(.init(gateway: "gw-1", series: "pressure", timestamps: jittered, values: Array(pressure)))
        // A counter: the running sum of the positive readings, back to 0 every 700 points.
        let power = TestSlices.load("hpc_global_active_power.csv")
        let powerTs = moved(power.ts.prefix(n))
        let powerValues = Array(power.values.prefix(n))
        var total = 0.0
        let energy = powerValues.enumerated().map { i, v in
            if i % 700 == 0 { total = 0 }
            total += max(0, v)
            return total
        }
        out.append(.init(gateway: "gw-1", series: "energy", timestamps: powerTs, values: energy))
        // Gaps of 20 min, 90 min and 7 min (past the lookback) cut into the power readings.
        let gaps = [600..<620, 1500..<1590, 2800..<2807]
        let kept = powerTs.indices.filter { i in !gaps.contains { $0.contains(i) } }
        let (keptTs, keptValues) = (kept.map { powerTs[$0] }, kept.map { powerValues[$0] })
        out.append(.init(gateway: "gw-2", series: "power", timestamps: keptTs, values: keptValues))
        // Hourly readings on their real clock: every step between them is past the lookback.
        let beijing = TestSlices.load("beijing_temp.csv")
        let (hours, outdoor) = (moved(beijing.ts.prefix(2000)), Array(beijing.values.prefix(2000)))
        out.append(.init(gateway: "gw-2", series: "outdoor", timestamps: hours, values: outdoor))
        out.append(.init(gateway: "gw-2", series: "edge", timestamps: minutes(30), values: (1...30).map(Double.init)))
        return out
    }

    /// Stores `series` in the node as their gateways would: a lossless outbox per gateway, its
    /// segment batches POSTed to `/v1/segments` with that gateway's token.
    static func upload(_ series: [PrometheusServer.Series], to cloud: CloudProcess, scratch: String) throws {
        let tokens = ["gw-1": CloudFixture.gatewayToken, "gw-2": CloudFixture.otherToken]
        for (gateway, token) in tokens.sorted(by: { $0.key < $1.key }) {
            var o = DatabaseOptions(memoryBudget: 64 << 10, defaultCapacity: 700)
            o.outbox = true
            let db = try Database(path: scratch + "/" + gateway, options: o)
            for s in series where s.gateway == gateway {
                try db.putBatch(s.series, timestamps: s.timestamps, values: s.values)
            }
            try db.flush()
            var stored = 0
            while true {
                let b = try db.outbox(maxBytes: 128 << 10)
                if b.isEmpty { break }
                let r = try cloud.request("POST", "/v1/segments", token: token, body: b.body)
                guard r.status == 200 else {
                    throw HarnessError("POST /v1/segments for \(gateway): \(r.status) \(r.body)")
                }
                stored += CloudFixture.json(r.body)["stored"] as? Int ?? 0
                try db.acknowledge(b)
            }
            try db.close()
            #expect(stored > 0, "\(gateway): nothing stored")
        }
    }
}
