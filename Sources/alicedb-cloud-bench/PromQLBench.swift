import AgentHarness
import AliceDB
import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1

/// Grafana panels over a month of 1 Hz series, against a fresh `alicedb-cloud` (segment uploads)
/// and a real Prometheus 2.42 (promtool backfill) holding the same points: wall-clock seconds per
/// panel, the load time and the bytes on disk of each, and whether both answer the same shape.
///
/// The `promql` phase of `alicedb-cloud-bench`: its own type with what it needs from the command
/// (its options, the data sets' folder, `--runs`, the HTTP client), apart from the other phases.
struct PromQLBench {
    let options: PromQLOptions
    /// The folder of the data sets the series' values cycle through.
    let folder: String
    /// Timed rounds per panel, after one warm-up.
    let runs: Int
    let client: HTTPClient

    /// Gateways `gw-0…` the series are spread over (series i belongs to `gw-(i % 4)`).
    static let gateways = 4
    /// Points per segment: what an agent with its default `max_buffer_age = 600` ships at 1 Hz.
    static let capacity = 600
    /// The first point, epoch seconds (2023-12-01T00:00Z): a month from here lies inside one of
    /// the 39 366-hour blocks promtool makes with `--max-block-duration=100000h`.
    static let start: Int64 = 1_701_388_800
    /// Steps per range query: 7.5 days at 1 minute, under both servers' 11 000.
    static let chunkSteps: Int64 = 10_800

    /// Loads both servers, measures every panel and prints the tables.
    func run(_ files: [String], dir: String) async throws {
        let n = options.promqlSeries
        let days = options.promqlDays
        let points = days * 86_400
        let sources = try files.map { PromValues(try DataSet.load(folder + "/" + $0).values) }.filter {
            !$0.values.isEmpty
        }
        print(
            "\n### PromQL panels: \(n) series × \(points) points (1 Hz, \(days) days, timestamps 1–5 ms after each second, "
                + "values cycling through \(sources.count) data sets), lossless, \(PromQLBench.capacity)-point segments"
        )
        print("machine: \(CPUTimes.cores) cores, \(Machine.memTotal()) RAM")
        let plan = { (i: Int) in PromSeriesPlan(i, points: points, sources: sources) }

        // The node: each series encoded as an agent would (outbox), uploaded by its gateway.
        let cloud = try BenchNode.start(dir + "/promql-cloud", gateways: PromQLBench.gateways)
        defer { cloud.terminate() }
        var encode = 0.0
        var upload = 0.0
        var stored = 0
        var body = 0
        for i in 0..<n {
            let p = plan(i)
            var t = ContinuousClock.now
            let batches = try encodeSeries(p, sources, dir: dir + "/promql-agent")
            encode += Report.seconds(ContinuousClock.now - t)
            t = ContinuousClock.now
            for b in batches { stored += try await BenchNode.post(client, cloud.url, gateway: p.gateway, b).points }
            upload += Report.seconds(ContinuousClock.now - t)
            body += batches.reduce(0) { $0 + $1.count }
            if (i + 1) % 10 == 0 || i + 1 == n {
                print("  node: \(i + 1)/\(n) series uploaded (\(Report.fixed(upload, 1)) s)")
            }
        }
        guard stored == n * points else {
            throw HarnessError("the cloud node stored \(stored) of \(n * points) points")
        }
        let nodeBytes = Machine.directoryBytes(cloud.data)
        print(
            "alicedb-cloud load: encode (agent side, not counted) \(Report.fixed(encode, 1)) s, upload \(Report.fixed(upload, 1)) s "
                + "(\(body) body bytes, one client); data directory \(nodeBytes) bytes (\(Report.fixed(Double(nodeBytes) / Double(stored), 3)) bytes/point)"
        )

        // Prometheus: as many series as the disk allows, streamed to an OpenMetrics file.
        let promDir = dir + "/promql-prometheus"
        try FileManager.default.createDirectory(atPath: promDir, withIntermediateDirectories: true)
        let perSeries = 70 * points  // OpenMetrics text (~60 bytes a sample) and the TSDB
        let free = Machine.freeBytes(promDir)
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
        let omBytes = try writeOpenMetrics(om, count: promN, plan: plan, sources: sources)
        let write = Report.seconds(ContinuousClock.now - t)
        print("  prometheus: OpenMetrics file \(omBytes) bytes written in \(Report.fixed(write, 1)) s")
        t = ContinuousClock.now
        let status = waitForExit(
            try spawn(
                [
                    Broker.find("promtool"), "tsdb", "create-blocks-from", "openmetrics", "--quiet",
                    "--max-block-duration=100000h", om, promDir + "/data",
                ], output: promDir + "/promtool.log"))
        let backfill = Report.seconds(ContinuousClock.now - t)
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
        let start = Report.seconds(ContinuousClock.now - t)
        let promBytes = Machine.directoryBytes(promDir + "/data")
        print(
            "Prometheus load: OpenMetrics write \(Report.fixed(write, 1)) s + promtool backfill \(Report.fixed(backfill, 1)) s "
                + "+ start \(Report.fixed(start, 1)) s; TSDB \(promBytes) bytes (\(Report.fixed(Double(promBytes) / Double(promN * points), 3)) bytes/point)"
        )

        var rows = [[String]]()
        var checks = [[String]]()
        for panel in PromPanel.all(series: n, days: days) {
            let r = try await measure(panel, node: cloud.url, prometheus: prometheus.url)
            rows.append([panel.query, String(panel.series), String(panel.steps)] + r.row)
            checks.append([panel.query] + r.check)
        }
        print(
            "\n### PromQL panels over \(days) days (wall-clock of the HTTP requests, bodies read; median of \(runs) after one warm-up; one client)\n"
        )
        Report.table(
            ["query", "series", "steps", "alicedb-cloud median s", "Prometheus median s", "alicedb ÷ Prometheus"], rows)
        print("\n### Loads and disk\n")
        Report.table(
            ["server", "series", "load s", "on disk bytes", "bytes/point"],
            [
                [
                    "alicedb-cloud", String(n),
                    "\(Report.fixed(upload, 1)) (upload; agent-side encode \(Report.fixed(encode, 1)) more)",
                    String(nodeBytes), Report.fixed(Double(nodeBytes) / Double(n * points), 3),
                ],
                [
                    "Prometheus 2.42", String(promN),
                    "\(Report.fixed(write + backfill + start, 1)) (write \(Report.fixed(write, 1)) + promtool "
                        + "\(Report.fixed(backfill, 1)) + start \(Report.fixed(start, 1)))", String(promBytes),
                    Report.fixed(Double(promBytes) / Double(promN * points), 3),
                ],
            ])
        print(
            "\n### Answers (series and points summed over a panel's queries; values compared at equal timestamps, relative 1e-9)\n"
        )
        Report.table(
            [
                "query", "series alicedb / Prometheus", "points alicedb / Prometheus", "points at one side only",
                "values differing",
            ], checks)
        if !cloud.log.isEmpty { print("\nalicedb-cloud log (tail):\n" + cloud.log.suffix(2000)) }
    }

    /// The agent's outbox for one series: its segment batches, as uploaded.
    func encodeSeries(_ p: PromSeriesPlan, _ sources: [PromValues], dir: String) throws -> [[UInt8]] {
        try? FileManager.default.removeItem(atPath: dir)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var o = DatabaseOptions(
            memoryBudget: 64 << 20, defaultCapacity: PromQLBench.capacity, maxBufferAgeSeconds: nil)
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
            let b = try db.outbox(maxBytes: BenchNode.batchBytes)
            if b.isEmpty { break }
            batches.append(b.body)
            try db.acknowledge(b)
        }
        try db.close()
        return batches
    }

    /// Streams `count` series to an OpenMetrics file as `PrometheusServer.openMetrics` spells them
    /// (that one builds the whole text in memory: gigabytes here); returns the bytes written.
    func writeOpenMetrics(_ path: String, count: Int, plan: (Int) -> PromSeriesPlan, sources: [PromValues]) throws
        -> Int
    {
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
}
