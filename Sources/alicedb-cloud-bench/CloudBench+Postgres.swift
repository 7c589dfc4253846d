import AgentHarness
import AliceDB
import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1

/// The shared-store measurements: ingest and query latency with one and two `alicedb-cloud` nodes
/// on one PostgreSQL (a throw-away cluster on loopback with fsync on, as in production), and the
/// query latency of the embedded store for comparison.
extension CloudBench {
    func postgres(_ sets: [Shipped], dir: String, client: HTTPClient) async throws {
        let w = try workload(sets)
        var ingestRows = [[String]]()
        var latencyRows = [[String]]()
        for nodes in [1, 2] {
            var results = [Double]()
            for run in 0..<runs {
                let pg = try PostgresServer(fsync: true)
                let cloud = try (0..<nodes).map {
                    try BenchNode.start(dir + "/pg-\(nodes)-\(run)-\($0)", gateways: gateways, postgres: pg.url)
                }
                let size = "SELECT pg_database_size('\(pg.database)')"
                let empty = Double(try pg.psql(size).trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0
                let before = CPUTimes.read(cloud.map(\.pid))
                results.append(try await send(w, to: cloud.map(\.url), client: client))
                let used = CPUTimes.read(cloud.map(\.pid)) - before
                print(
                    "\(nodes) node(s), run \(run + 1): CPU seconds: nodes \(Report.fixed(used.nodes, 2)), this client "
                        + "\(Report.fixed(used.me, 2)), everything else (PostgreSQL) \(Report.fixed(used.busy - used.nodes - used.me, 2)); "
                        + "machine busy \(Report.fixed(used.busy, 2)) of \(Report.fixed(results.last! * Double(CPUTimes.cores), 2)) core-seconds"
                )
                if run == runs - 1 {
                    _ = try pg.psql("CHECKPOINT")
                    let grown = (Double(try pg.psql(size).trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0) - empty
                    print(
                        "PostgreSQL database grew by \(Int(grown)) bytes for \(w.points) points and \(w.bytes) body bytes "
                            + "(\(Report.fixed(grown / Double(w.points), 3)) bytes/point with rows, indexes and pages)"
                    )
                    latencyRows += try await queryLatency(sets, urls: cloud.map(\.url), client: client).map {
                        ["\(nodes)"] + $0
                    }
                }
                for c in cloud { c.terminate() }
                pg.stop()
            }
            ingestRows.append(CloudBench.ingestRow(["\(nodes)"], w, results))
            print("\(nodes) node(s), runs (s): " + results.map { Report.fixed($0, 2) }.joined(separator: ", "))
        }
        print(
            "\n### Cloud ingest on PostgreSQL: \(gateways) gateways at once spread over the nodes, \(sets.count) data sets × \(copies) copies (median of \(runs) runs)\n"
        )
        Report.table(["nodes"] + CloudBench.ingestHeader, ingestRows)
        print(
            "\n### Query latency on PostgreSQL (\(clients) clients at once spread over the nodes, \(queries) queries per kind)\n"
        )
        Report.table(["nodes"] + CloudBench.latencyHeader, latencyRows)
    }

    static let latencyHeader = ["query", "median ms", "p90 ms", "queries/s"]

    /// Median and 90th-percentile latency of three query kinds on random series: a 1 000-point scan
    /// page from a random start, a whole-series aggregate, and a 100-bucket downsample of the whole
    /// series. Client k asks `urls[k % urls.count]`.
    func queryLatency(_ sets: [Shipped], urls: [String], client: HTTPClient) async throws -> [[String]] {
        var rows = [[String]]()
        let kinds = ["scan 1 000 points", "aggregate, whole series", "downsample, 100 buckets"]
        for (kind, label) in kinds.enumerated() {
            var rng = SplitMix(seed: UInt64(kind + 1))
            let paths: [String] = (0..<queries).map { _ in
                let c = Int(rng.next() % UInt64(copies))
                let s = sets[Int(rng.next() % UInt64(sets.count))]
                let series = "\(s.name)%23\(c)"
                let gateway = "gw-\(c % gateways)"
                let span = max(1, s.last - s.first)
                switch kind {
                case 0:
                    return
                        "/v1/scan?gateway=\(gateway)&series=\(series)&limit=1000&from=\(s.first + Int64(rng.next() % UInt64(span)))"
                case 1: return "/v1/aggregate?gateway=\(gateway)&series=\(series)"
                default: return "/v1/downsample?gateway=\(gateway)&series=\(series)&interval=\(max(1, span / 100 + 1))"
                }
            }
            let start = ContinuousClock.now
            let times = try await withThrowingTaskGroup(of: [Double].self) { group in
                for k in 0..<clients {
                    let mine = stride(from: k, to: paths.count, by: clients).map { paths[$0] }
                    let url = urls[k % urls.count]
                    group.addTask {
                        var out = [Double]()
                        for p in mine {
                            let t = ContinuousClock.now
                            var request = HTTPClientRequest(url: url + p)
                            request.headers.add(name: "Authorization", value: "Bearer bench-reader-token")
                            let response = try await client.execute(request, timeout: .seconds(60))
                            let body = try await response.body.collect(upTo: 64 << 20)
                            guard response.status == .ok else {
                                throw HarnessError("\(p): \(response.status.code) \(String(buffer: body).prefix(200))")
                            }
                            out.append(Report.seconds(ContinuousClock.now - t) * 1000)
                        }
                        return out
                    }
                }
                return try await group.reduce(into: [Double]()) { $0 += $1 }.sorted()
            }
            let wall = Report.seconds(ContinuousClock.now - start)
            rows.append([
                label, Report.fixed(times[times.count / 2], 2), Report.fixed(times[times.count * 9 / 10], 2),
                Report.fixed(Double(times.count) / wall, 0),
            ])
        }
        return rows
    }
}
