import AgentHarness
import AliceDB
import ArgumentParser
import AsyncHTTPClient
import CompressNIO
import Foundation
import NIOCore
import NIOHTTP1

/// The uplink and cloud benchmark: bytes sent upstream per point against InfluxDB line protocol
/// gzipped in Telegraf's batches of 5 000, and the cloud node's ingest rate with concurrent
/// gateways. Everything goes to a real `alicedb-cloud` on 127.0.0.1 (the build next to this one).
@main
struct CloudBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "alicedb-cloud-bench",
        abstract: "Uplink bytes per point and cloud ingest throughput, against a real alicedb-cloud.")

    @Argument(help: "A folder of ts,value CSV files.") var folder = "../shared/datasets"
    @Option(help: "Which phases: wire, ingest, postgres, promql (comma-separated).") var phases = "wire,ingest"
    @Option(help: "Concurrent gateways in the ingest phase.") var gateways = 10
    @Option(help: "Ingest runs and PromQL panel runs (the median is reported).") var runs = 3
    @Option(help: "Ingest: each data set is sent this many times as distinct series.") var copies = 20
    @Option(help: "Work directory (default: a fresh one under /tmp).") var work: String?
    @Option(help: "Queries per kind in the query-latency measurement.") var queries = 300
    @Option(help: "Concurrent clients in the query-latency measurement.") var clients = 8
    @OptionGroup var promql: PromQLOptions

    static let lineBatch = 5000

    struct Shipped {
        var name: String
        var points: Int
        var segments: Int
        var batches: [[UInt8]]
        var first: Int64 = 0
        var last: Int64 = 0
    }

    func run() async throws {
        let dir = work ?? NSTemporaryDirectory() + "alicedb-cloud-bench-\(getpid())"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { if work == nil { try? FileManager.default.removeItem(atPath: dir) } }
        let files = try FileManager.default.contentsOfDirectory(atPath: folder).filter { $0.hasSuffix(".csv") }.sorted()
        guard !files.isEmpty else { throw ValidationError("no .csv files in \(folder)") }
        print(
            "alicedb-cloud-bench: \(files.count) data sets from \(folder); cloud node \(BenchNode.executable("alicedb-cloud"))"
        )
        let client = HTTPClient(
            eventLoopGroup: HTTPClient.defaultEventLoopGroup,
            configuration: .init(
                connectionPool: .init(idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: 64)))
        do {
            var shipped = [Int: [Shipped]]()
            if phases.contains("wire") { shipped = try await wire(files, dir: dir, client: client) }
            if phases.contains("ingest") || phases.contains("postgres") {
                if shipped[256] == nil { shipped[256] = try files.map { try outbox($0, capacity: 256, dir: dir) } }
            }
            if phases.contains("ingest") { try await ingest(shipped[256]!, dir: dir, client: client) }
            if phases.contains("postgres") { try await postgres(shipped[256]!, dir: dir, client: client) }
            if phases.contains("promql") {
                try await PromQLBench(options: promql, folder: folder, runs: runs, client: client).run(files, dir: dir)
            }
        } catch {
            try? await client.shutdown()
            throw error
        }
        try await client.shutdown()
    }

    /// The agent's outbox for one data set: points put as they would arrive, fitted losslessly in
    /// MemTables of `capacity` points, shipped in batches of about 1 MiB.
    func outbox(_ file: String, capacity: Int, dir: String) throws -> Shipped {
        let (ts, values) = try DataSet.load(folder + "/" + file)
        let path = dir + "/gw-\(capacity)-\(file)"
        try? FileManager.default.removeItem(atPath: path)
        var o = DatabaseOptions(memoryBudget: 64 << 20, defaultCapacity: capacity, maxBufferAgeSeconds: nil)
        o.outbox = true
        let db = try Database(path: path, options: o)
        let name = String(file.dropLast(4))
        var i = 0
        while i < ts.count {
            let j = min(ts.count, i + 100)
            try db.putBatch(name, timestamps: Array(ts[i..<j]), values: Array(values[i..<j]))
            i = j
        }
        try db.flush()
        var s = Shipped(
            name: name, points: ts.count, segments: 0, batches: [], first: ts.first ?? 0, last: ts.last ?? 0)
        while true {
            let b = try db.outbox(maxBytes: BenchNode.batchBytes)
            if b.isEmpty { break }
            s.batches.append(b.body)
            s.segments += b.segments
            try db.acknowledge(b)
        }
        try db.close()
        return s
    }

    /// What Telegraf's InfluxDB output sends for the same points: line protocol, batches of
    /// 5 000 lines, each gzipped (its `content_encoding = "gzip"`); the bodies' bytes.
    static func lineProtocolBytes(_ name: String, _ ts: [Int64], _ values: [Double]) throws -> Int {
        var total = 0
        var i = 0
        while i < ts.count {
            var text = ""
            for k in i..<min(ts.count, i + lineBatch) {
                text +=
                    "sensor,gateway=gw-1,topic=\(name) value=\(DoubleText.format(values[k])) \(ts[k] &* 1_000_000)\n"
            }
            var buffer = ByteBuffer(string: text)
            total += try buffer.compress(with: .gzip()).readableBytes
            i += lineBatch
        }
        return total
    }

    /// HTTP request bytes besides the body (request line and headers), the same for both: what
    /// the agent's uplink sends.
    static let requestOverhead = Array(
        "POST /v1/segments HTTP/1.1\r\nHost: cloud.example.net:8470\r\nAuthorization: Bearer 0123456789abcdef0123456789abcdef\r\nContent-Type: application/vnd.alicedb.segments\r\nContent-Length: 1048576\r\n\r\n"
            .utf8
    ).count

    func wire(_ files: [String], dir: String, client: HTTPClient) async throws -> [Int: [Shipped]] {
        let cloud = try BenchNode.start(dir + "/cloud-wire", gateways: 1)
        defer { cloud.terminate() }
        var shipped = [Int: [Shipped]]()
        var rows = [[String]]()
        var sums = [0.0, 0.0, 0.0]
        for file in files {
            let (ts, values) = try DataSet.load(folder + "/" + file)
            var perPoint = [Double]()
            for capacity in [16384, 256] {
                let s = try outbox(file, capacity: capacity, dir: dir)
                shipped[capacity, default: []].append(s)
                let bytes = s.batches.reduce(0) { $0 + $1.count + CloudBench.requestOverhead }
                perPoint.append(Double(bytes) / Double(s.points))
                if capacity == 256 {
                    // Really sent and stored: the node must hold every point.
                    var points = 0
                    for b in s.batches { points += try await BenchNode.post(client, cloud.url, gateway: 0, b).points }
                    guard points == s.points else {
                        throw HarnessError("\(file): the cloud node stored \(points) of \(s.points) points")
                    }
                }
            }
            let influxBytes = try CloudBench.lineProtocolBytes(String(file.dropLast(4)), ts, values)
            let batches = (ts.count + CloudBench.lineBatch - 1) / CloudBench.lineBatch
            let influx = Double(influxBytes + batches * CloudBench.requestOverhead) / Double(ts.count)
            perPoint.append(influx)
            for k in 0..<3 { sums[k] += perPoint[k] }
            rows.append(
                [String(file.dropLast(4)), String(ts.count)] + perPoint.map { Report.fixed($0, 3) }
                    + [Report.fixed(influx / perPoint[1], 1) + "×"])
        }
        let n = Double(files.count)
        rows.append(
            ["mean", ""] + sums.map { Report.fixed($0 / n, 3) } + [
                Report.fixed(sums[2] / sums[1], 1) + "× (of means)"
            ])
        print("\n### Bytes sent upstream per point (lossless; HTTP request line and headers included)\n")
        Report.table(
            [
                "data set", "points", "alicedb, 16 384-pt MemTable", "alicedb, 256-pt MemTable",
                "line protocol + gzip, 5 000/batch",
                "line protocol ÷ alicedb (256)",
            ], rows)
        return shipped
    }

    /// What the gateways send: gateway k ships the copies k, k + n, … of every data set, each copy
    /// under its own series names.
    struct Workload {
        var batches: [[[UInt8]]]
        var segments = 0, points = 0, bytes = 0
    }

    func workload(_ sets: [Shipped]) throws -> Workload {
        var w = Workload(batches: [[[UInt8]]](repeating: [], count: gateways))
        for c in 0..<copies {
            for s in sets {
                for b in s.batches {
                    var batch = try SegmentBatch.decode(b)
                    for i in batch.entries.indices { batch.entries[i].series += "#\(c)" }
                    let body = batch.encode()
                    w.batches[c % gateways].append(body)
                    w.bytes += body.count
                }
                w.segments += s.segments
                w.points += s.points
            }
        }
        return w
    }

    /// Every gateway uploads its batches at once, gateway k to `urls[k % urls.count]`; seconds taken.
    func send(_ w: Workload, to urls: [String], client: HTTPClient) async throws -> Double {
        let start = ContinuousClock.now
        let stored = try await withThrowingTaskGroup(of: Int.self) { group in
            for k in 0..<gateways {
                let batches = w.batches[k]
                let url = urls[k % urls.count]
                group.addTask {
                    var n = 0
                    for b in batches { n += try await BenchNode.post(client, url, gateway: k, b).stored }
                    return n
                }
            }
            return try await group.reduce(0, +)
        }
        guard stored == w.segments else { throw HarnessError("the cloud stored \(stored) of \(w.segments) segments") }
        return Report.seconds(ContinuousClock.now - start)
    }

    /// One table row of an ingest measurement (the median run).
    static func ingestRow(_ label: [String], _ w: Workload, _ runs: [Double]) -> [String] {
        let t = runs.sorted()[runs.count / 2]
        return label + [
            String(w.segments), String(w.points), Report.fixed(Double(w.bytes) / 1e6, 2), Report.fixed(t, 2),
            Report.fixed(Double(w.segments) / t, 0), Report.fixed(Double(w.points) / t, 0),
            Report.fixed(Double(w.bytes) / 1e6 / t, 1),
        ]
    }

    static let ingestHeader = ["segments", "points", "body MB", "seconds", "segments/s", "points/s", "MB/s"]

    func ingest(_ sets: [Shipped], dir: String, client: HTTPClient) async throws {
        let w = try workload(sets)
        var results = [Double]()
        for run in 0..<runs {
            let cloud = try BenchNode.start(dir + "/cloud-ingest-\(run)", gateways: gateways)
            results.append(try await send(w, to: [cloud.url], client: client))
            if run == runs - 1 {
                let latency = try await queryLatency(sets, urls: [cloud.url], client: client)
                print(
                    "\n### Query latency, embedded store, one node (\(clients) clients at once, \(queries) queries per kind)\n"
                )
                Report.table(CloudBench.latencyHeader, latency)
            }
            cloud.terminate()
        }
        print(
            "\n### Cloud ingest: \(gateways) gateways at once, \(sets.count) data sets × \(copies) copies, 256-point MemTables (median of \(runs) runs)\n"
        )
        Report.table(CloudBench.ingestHeader, [CloudBench.ingestRow([], w, results)])
        print("runs (s): " + results.map { Report.fixed($0, 2) }.joined(separator: ", "))
    }
}
