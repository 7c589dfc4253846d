import AgentHarness
import AliceDB
import Foundation
import Testing

/// Fixtures: a cloud node process with two gateways and a reader, and real segment batches.
enum CloudFixture {
    static let gatewayToken = "gw1-secret-token"
    static let otherToken = "gw2-secret-token"
    static let readerToken = "reader-secret-token"

    /// - Parameter postgres: the URL of a PostgreSQL database to keep the data in (else the node's
    ///   own directory).
    static func config(extra: String = "", maxBody: String = "256KiB", rateLimit: Int = 200, postgres: String? = nil)
        -> (String, String) -> String
    {
        { data, listen in
            """
            [server]
            listen = "\(listen)"
            max_body = "\(maxBody)"
            rate_limit = \(rateLimit)
            \(extra)
            [storage]
            \(postgres.map { "kind = \"postgres\"\nurl = \"\($0)\"\nquery_timeout = 3" } ?? "path = \"\(data)\"")
            [[gateway]]
            name = "gw-1"
            token = "\(gatewayToken)"
            [[gateway]]
            name = "gw-2"
            token = "\(otherToken)"
            [[reader]]
            name = "grafana"
            token = "\(readerToken)"
            """
        }
    }

    /// The points the node on `port` holds from gw-1 (`/v1/gateways`, read with the reader's token);
    /// -1 while it does not answer. Plain arguments, so a watch on a thread of its own can call it.
    static func gatewayPoints(port: Int) -> Int {
        guard let r = try? httpRequest(port: port, "GET", "/v1/gateways", token: readerToken), r.status == 200,
            let list = json(r.body)["gateways"] as? [[String: Any]]
        else { return -1 }
        return list.first { $0["name"] as? String == "gw-1" }?["points"] as? Int ?? 0
    }

    /// Segments of real data (two series, one lossy) as a gateway would ship them, in batches.
    static func batches(in dir: String, points: Int = 4000, maxBytes: Int = 1 << 20) throws -> [OutboxBatch] {
        var o = DatabaseOptions(memoryBudget: 64 << 10, defaultCapacity: 700)
        o.outbox = true
        let db = try Database(path: dir, options: o)
        let temp = TestSlices.load("beijing_temp.csv")
        let volts = TestSlices.load("hpc_voltage.csv")
        try db.createSeries("plant/volts", options: SeriesOptions(bound: ErrorBound(absolute: 0.05)))
        try db.putBatch(
            "boiler.temp", timestamps: Array(temp.ts.prefix(points)), values: Array(temp.values.prefix(points)))
        try db.putBatch(
            "plant/volts", timestamps: Array(volts.ts.prefix(points)), values: Array(volts.values.prefix(points)))
        try db.flush()
        var out = [OutboxBatch]()
        while true {
            let b = try db.outbox(maxBytes: maxBytes)
            if b.isEmpty { break }
            out.append(b)
            try db.acknowledge(b)
        }
        try db.close()
        return out
    }

    /// A node on either store: for `.postgres`, a throw-away PostgreSQL server it uses (keep it
    /// alive as long as the node).
    static func node(
        _ kind: StorageKind, _ dir: String, extra: String = "", maxBody: String = "256KiB", rateLimit: Int = 200
    ) throws
        -> (CloudProcess, PostgresServer?)
    {
        let pg = kind == .postgres ? try PostgresServer() : nil
        let cloud = try CloudProcess(
            directory: dir, config: config(extra: extra, maxBody: maxBody, rateLimit: rateLimit, postgres: pg?.url))
        return (cloud, pg)
    }

    /// JSON object of an answer.
    static func json(_ body: String) -> [String: Any] {
        (try? JSONSerialization.jsonObject(with: Data(body.utf8))) as? [String: Any] ?? [:]
    }
}

/// Where a test's cloud node keeps its data: every HTTP-level test runs on both.
enum StorageKind: String, CaseIterable, CustomTestStringConvertible {
    case embedded, postgres
    var testDescription: String { rawValue }
}

/// Slices of the shared data sets committed under Tests/Fixtures.
enum TestSlices {
    static func load(_ name: String) -> (ts: [Int64], values: [Double]) {
        var dir = URL(fileURLWithPath: #filePath)
        for _ in 0..<2 { dir.deleteLastPathComponent() }
        let text =
            (try? String(contentsOf: dir.appendingPathComponent("Fixtures/datasets/\(name)"), encoding: .utf8)) ?? ""
        var ts = [Int64]()
        var values = [Double]()
        for line in text.split(separator: "\n").dropFirst() {
            let p = line.split(separator: ",")
            guard p.count == 2, let t = Int64(p[0]), let v = Double(p[1]) else { continue }
            ts.append(t)
            values.append(v)
        }
        return (ts, values)
    }
}
