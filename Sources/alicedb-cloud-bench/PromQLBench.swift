import AgentHarness
import AliceDB
import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1

/// Grafana panels over a month of 1 Hz series, against a fresh `alicedb-cloud` (segment uploads)
/// and a real Prometheus 2.42 (promtool backfill) holding the same points: wall-clock seconds per
/// panel, the load time and the bytes on disk of each, and whether both answer the same shape.
extension CloudBench {
    /// Gateways `gw-0…` the series are spread over (series i belongs to `gw-(i % 4)`).
    static let promGateways = 4
    /// Points per segment: what an agent with its default `max_buffer_age = 600` ships at 1 Hz.
    static let promCapacity = 600
    /// The first point, epoch seconds (2023-12-01T00:00Z): a month from here lies inside one of
    /// the 39 366-hour blocks promtool makes with `--max-block-duration=100000h`.
    static let promStart: Int64 = 1_701_388_800
    /// Steps per range query: 7.5 days at 1 minute, under both servers' 11 000.
    static let promChunkSteps: Int64 = 10_800

    /// One data set's values and their OpenMetrics spellings (`PrometheusServer.value`), end to end.
    struct PromValues {
        var values: [Double]
        var text: [UInt8] = []
        var starts: [Int] = [0]

        init(_ values: [Double]) {
            self.values = values
            for v in values {
                text.append(contentsOf: PrometheusServer.value(v).utf8)
                starts.append(text.count)
            }
        }
    }

    /// Series i: labels, where its values come from, and its timestamps: a 1 s grid from
    /// `promStart`, each point 1 to 5 ms late (a gateway's clock; never on a step boundary).
    struct PromSeriesPlan {
        var gateway: Int
        var name: String
        var source: Int
        var offset: Int
        var timestamps: [Int64]

        func value(_ k: Int, _ sources: [PromValues]) -> Int { (offset + k) % sources[source].values.count }
    }

    func promPlan(_ i: Int, points: Int, sources: [PromValues]) -> PromSeriesPlan {
        var rng = SplitMix(seed: UInt64(i) &+ 0x5EED)
        let ts = (0..<points).map { k in (CloudBench.promStart + Int64(k)) * 1000 + 1 + Int64(rng.next() % 5) }
        let source = i % sources.count
        let lap = i / sources.count
        return PromSeriesPlan(
            gateway: i % CloudBench.promGateways, name: "s\(i)", source: source,
            offset: (lap * 10_007) % sources[source].values.count, timestamps: ts)
    }

    func promql(_ files: [String], dir: String, client: HTTPClient) async throws {
        let n = promqlSeries
        let points = promqlDays * 86_400
        let sources = try files.map { PromValues(try CloudBench.load(folder + "/" + $0).values) }.filter {
            !$0.values.isEmpty
        }
        print(
            "\n### PromQL panels: \(n) series × \(points) points (1 Hz, \(promqlDays) days, timestamps 1–5 ms after each second, "
                + "values cycling through \(sources.count) data sets), lossless, \(CloudBench.promCapacity)-point segments"
        )
        print("machine: \(CPUTimes.cores) cores, \(CloudBench.memTotal()) RAM")
        let plan = { (i: Int) in self.promPlan(i, points: points, sources: sources) }

        // The node: each series encoded as an agent would (outbox), uploaded by its gateway.
        let cloud = try startCloud(dir + "/promql-cloud", gateways: CloudBench.promGateways)
        defer { cloud.terminate() }
        var encode = 0.0
        var upload = 0.0
        var stored = 0
        var body = 0
        for i in 0..<n {
            let p = plan(i)
            var t = ContinuousClock.now
            let batches = try promEncode(p, sources, dir: dir + "/promql-agent")
            encode += CloudBench.seconds(ContinuousClock.now - t)
            t = ContinuousClock.now
            for b in batches { stored += try await post(client, cloud.url, gateway: p.gateway, b).points }
            upload += CloudBench.seconds(ContinuousClock.now - t)
            body += batches.reduce(0) { $0 + $1.count }
            if (i + 1) % 10 == 0 || i + 1 == n {
                print("  node: \(i + 1)/\(n) series uploaded (\(CloudBench.fixed(upload, 1)) s)")
            }
        }
        guard stored == n * points else {
            throw HarnessError("the cloud node stored \(stored) of \(n * points) points")
        }
        let nodeBytes = CloudBench.directoryBytes(cloud.data)
        print(
            "alicedb-cloud load: encode (agent side, not counted) \(CloudBench.fixed(encode, 1)) s, upload \(CloudBench.fixed(upload, 1)) s "
                + "(\(body) body bytes, one client); data directory \(nodeBytes) bytes (\(CloudBench.fixed(Double(nodeBytes) / Double(stored), 3)) bytes/point)"
        )

        // Prometheus: as many series as the disk allows, streamed to an OpenMetrics file.
        let promDir = dir + "/promql-prometheus"
        try FileManager.default.createDirectory(atPath: promDir, withIntermediateDirectories: true)
        let perSeries = 70 * points  // OpenMetrics text (~60 bytes a sample) and the TSDB
        let free = CloudBench.freeBytes(promDir)
        let promN = min(n, max(1, (free - (4 << 30)) / perSeries))
        print(
            "disk: \(free / 1_000_000) MB free; the OpenMetrics file needs about \(promN * 62 * points / 1_000_000) MB")
        if promN < n {
            print(
                "WARNING: Prometheus gets only \(promN) of \(n) series (not enough disk): the all-series panels differ in size"
            )
        }
        let om = promDir + "/backfill.om"
        var t = ContinuousClock.now
        let omBytes = try promWrite(om, count: promN, plan: plan, sources: sources)
        let write = CloudBench.seconds(ContinuousClock.now - t)
        print("  prometheus: OpenMetrics file \(omBytes) bytes written in \(CloudBench.fixed(write, 1)) s")
        t = ContinuousClock.now
        let status = waitForExit(
            try spawn(
                [
                    Broker.find("promtool"), "tsdb", "create-blocks-from", "openmetrics", "--quiet",
                    "--max-block-duration=100000h", om, promDir + "/data",
                ], output: promDir + "/promtool.log"))
        let backfill = CloudBench.seconds(ContinuousClock.now - t)
        try? FileManager.default.removeItem(atPath: om)
        guard status == 0 else {
            throw HarnessError(
                "promtool failed (\(status)): \((try? String(contentsOfFile: promDir + "/promtool.log", encoding: .utf8)) ?? "")"
            )
        }
        // PrometheusServer backfills its (here empty) samples into the same `data` and serves it.
        t = ContinuousClock.now
        let prometheus = try PrometheusServer(directory: promDir, series: [])
        defer { prometheus.kill() }
        let start = CloudBench.seconds(ContinuousClock.now - t)
        let promBytes = CloudBench.directoryBytes(promDir + "/data")
        print(
            "Prometheus load: OpenMetrics write \(CloudBench.fixed(write, 1)) s + promtool backfill \(CloudBench.fixed(backfill, 1)) s "
                + "+ start \(CloudBench.fixed(start, 1)) s; TSDB \(promBytes) bytes (\(CloudBench.fixed(Double(promBytes) / Double(promN * points), 3)) bytes/point)"
        )

        var rows = [[String]]()
        var checks = [[String]]()
        for panel in promPanels(n) {
            let r = try await promMeasure(panel, node: cloud.url, prometheus: prometheus.url, client: client)
            rows.append([panel.query, String(panel.series), String(panel.steps)] + r.row)
            checks.append([panel.query] + r.check)
        }
        print(
            "\n### PromQL panels over \(promqlDays) days (wall-clock of the HTTP requests, bodies read; median of \(runs) after one warm-up; one client)\n"
        )
        CloudBench.table(
            ["query", "series", "steps", "alicedb-cloud median s", "Prometheus median s", "alicedb ÷ Prometheus"], rows)
        print("\n### Loads and disk\n")
        CloudBench.table(
            ["server", "series", "load s", "on disk bytes", "bytes/point"],
            [
                [
                    "alicedb-cloud", String(n),
                    "\(CloudBench.fixed(upload, 1)) (upload; agent-side encode \(CloudBench.fixed(encode, 1)) more)",
                    String(nodeBytes), CloudBench.fixed(Double(nodeBytes) / Double(n * points), 3),
                ],
                [
                    "Prometheus 2.42", String(promN),
                    "\(CloudBench.fixed(write + backfill + start, 1)) (write \(CloudBench.fixed(write, 1)) + promtool "
                        + "\(CloudBench.fixed(backfill, 1)) + start \(CloudBench.fixed(start, 1)))", String(promBytes),
                    CloudBench.fixed(Double(promBytes) / Double(promN * points), 3),
                ],
            ])
        print(
            "\n### Answers (series and points summed over a panel's queries; values compared at equal timestamps, relative 1e-9)\n"
        )
        CloudBench.table(
            [
                "query", "series alicedb / Prometheus", "points alicedb / Prometheus", "points at one side only",
                "values differing",
            ], checks)
        if !cloud.log.isEmpty { print("\nalicedb-cloud log (tail):\n" + cloud.log.suffix(2000)) }
    }

    /// The agent's outbox for one series: its segment batches, as uploaded.
    func promEncode(_ p: PromSeriesPlan, _ sources: [PromValues], dir: String) throws -> [[UInt8]] {
        try? FileManager.default.removeItem(atPath: dir)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var o = DatabaseOptions(
            memoryBudget: 64 << 20, defaultCapacity: CloudBench.promCapacity, maxBufferAgeSeconds: nil)
        o.outbox = true
        let db = try Database(path: dir, options: o)
        let src = sources[p.source].values
        var i = 0
        while i < p.timestamps.count {
            let j = min(p.timestamps.count, i + 1000)
            try db.putBatch(
                p.name, timestamps: Array(p.timestamps[i..<j]), values: (i..<j).map { src[p.value($0, sources)] })
            i = j
        }
        try db.flush()
        var batches = [[UInt8]]()
        while true {
            let b = try db.outbox(maxBytes: CloudBench.batchBytes)
            if b.isEmpty { break }
            batches.append(b.body)
            try db.acknowledge(b)
        }
        try db.close()
        return batches
    }

    /// Streams `count` series to an OpenMetrics file as `PrometheusServer.openMetrics` spells them
    /// (that one builds the whole text in memory: gigabytes here); returns the bytes written.
    func promWrite(_ path: String, count: Int, plan: (Int) -> PromSeriesPlan, sources: [PromValues]) throws -> Int {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        guard fd >= 0 else { throw HarnessError("cannot create \(path): errno \(errno)") }
        defer { close(fd) }
        var buffer = [UInt8]()
        var total = 0
        buffer.reserveCapacity(9 << 20)
        func drain() throws {
            var done = 0
            while done < buffer.count {
                let w = buffer.withUnsafeBytes { write(fd, $0.baseAddress! + done, $0.count - done) }
                guard w > 0 else { throw HarnessError("writing \(path): errno \(errno)") }
                done += w
            }
            total += buffer.count
            buffer.removeAll(keepingCapacity: true)
        }
        buffer.append(contentsOf: "# TYPE alicedb gauge\n".utf8)
        for i in 0..<count {
            let p = plan(i)
            let src = sources[p.source]
            let head = Array("alicedb{gateway=\"gw-\(p.gateway)\",series=\"\(p.name)\"} ".utf8)
            for (k, t) in p.timestamps.enumerated() {
                let v = p.value(k, sources)
                buffer.append(contentsOf: head)
                buffer.append(contentsOf: src.text[src.starts[v]..<src.starts[v + 1]])
                buffer.append(32)
                buffer.append(contentsOf: try PrometheusServer.time(t).utf8)
                buffer.append(10)
                if buffer.count >= 8 << 20 { try drain() }
            }
            if (i + 1) % 10 == 0 { print("  prometheus: \(i + 1)/\(count) series written") }
        }
        buffer.append(contentsOf: "# EOF\n".utf8)
        try drain()
        return total
    }

    /// A panel: one PromQL expression over the month, as consecutive range queries.
    struct PromPanel {
        var query: String
        var series: Int
        var step: Int64
        var steps: Int64
        var ranges: [(start: Int64, end: Int64)]
    }

    /// Steps `promStart + step`, … up to the month's end, cut into queries of at most `promChunkSteps`.
    func promPanel(_ query: String, series: Int, step: Int64) -> PromPanel {
        let steps = Int64(promqlDays) * 86_400 / step
        let first = CloudBench.promStart + step
        let ranges = stride(from: Int64(0), to: steps, by: Int(CloudBench.promChunkSteps)).map { k in
            (start: first + k * step, end: first + (min(k + CloudBench.promChunkSteps, steps) - 1) * step)
        }
        return PromPanel(query: query, series: series, step: step, steps: steps, ranges: ranges)
    }

    func promPanels(_ n: Int) -> [PromPanel] {
        var out = [PromPanel]()
        for (selector, count) in [("alicedb{series=\"s0\"}", 1), ("alicedb", n)] {
            out.append(promPanel(selector, series: count, step: 60))
            out.append(promPanel("avg_over_time(\(selector)[1m])", series: count, step: 60))
            out.append(promPanel("max_over_time(\(selector)[5m])", series: count, step: 60))
            out.append(promPanel("rate(\(selector)[5m])", series: count, step: 60))
            out.append(promPanel("avg_over_time(\(selector)[1h])", series: count, step: 3600))
            out.append(promPanel("sum_over_time(\(selector)[1h])", series: count, step: 3600))
        }
        out.append(promPanel("sum(avg_over_time(alicedb[1h]))", series: n, step: 3600))
        out.append(promPanel("avg by (gateway) (alicedb)", series: n, step: 60))
        return out
    }
}
