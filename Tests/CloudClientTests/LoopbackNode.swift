import AliceDB
import Cloud
import Logging
import ServiceLifecycle
import TestSupport

/// A real cloud node in this process, on 127.0.0.1 and a port the system picks, with its data in
/// a temporary directory: two gateways and a reader.
final class LoopbackNode {
    static let gatewayToken = "gw1-secret-token"
    static let otherToken = "gw2-secret-token"
    static let readerToken = "reader-secret-token"

    let url: String
    let port: Int
    private let group: ServiceGroup
    private let running: Task<Void, any Error>
    private let store: any CloudStorage
    private var stopped = false

    private init(url: String, port: Int, group: ServiceGroup, running: Task<Void, any Error>, store: any CloudStorage) {
        self.url = url
        self.port = port
        self.group = group
        self.running = running
        self.store = store
    }

    /// Starts a node and waits until it listens.
    static func start(in dir: String, maxBody: String = "256KiB") async throws -> LoopbackNode {
        let config = try CloudConfig.parse(
            """
            [server]
            listen = "127.0.0.1:0"
            max_body = "\(maxBody)"
            rate_limit = 1000
            [storage]
            path = "\(dir)/data"
            [[gateway]]
            name = "gw-1"
            token = "\(gatewayToken)"
            [[gateway]]
            name = "gw-2"
            token = "\(otherToken)"
            [[reader]]
            name = "grafana"
            token = "\(readerToken)"
            """, file: "loopback.toml")
        // Never the global logging system in tests: a logger of its own that drops everything.
        let logger = Logger(label: "loopback-node") { _ in SwiftLogNoOpLogHandler() }
        let store = try config.makeStorage(logger: logger)
        try await store.prepare()
        let node = CloudNode(config: config, store: store, logger: logger)
        let (ports, listening) = AsyncStream.makeStream(of: Int.self)
        let app = try node.application { port in listening.yield(port) }
        // The store first, the listener second: shut down in reverse, as the node's own group does.
        let group = ServiceGroup(services: [store, app], logger: logger)
        let running = Task { try await group.run() }
        var it = ports.makeAsyncIterator()
        guard let port = await it.next(), port > 0 else {
            running.cancel()
            throw AliceDBError(.io, "the cloud node did not listen")
        }
        return LoopbackNode(url: "http://127.0.0.1:\(port)", port: port, group: group, running: running, store: store)
    }

    /// Graceful shutdown (what SIGTERM does): the listener stops, then the store closes.
    func stop() async {
        guard !stopped else { return }
        stopped = true
        await group.triggerGracefulShutdown()
        _ = try? await running.value
    }

    /// Segments of real data (two series, one lossy) as a gateway ships them, in encoded batches.
    static func batches(in dir: String, points: Int = 3000, maxBytes: Int = 1024) throws -> [(
        bytes: [UInt8], segments: Int
    )] {
        var o = DatabaseOptions(memoryBudget: 64 << 10, defaultCapacity: 700)
        o.outbox = true
        let db = try Database(path: dir, options: o)
        let temp = TestData.load("beijing_temp.csv", limit: points)!
        let volts = TestData.load("hpc_voltage.csv", limit: points)!
        try db.createSeries("plant/volts", options: SeriesOptions(bound: ErrorBound(absolute: 0.05)))
        try db.putBatch("boiler.temp", timestamps: temp.ts, values: temp.values)
        try db.putBatch("plant/volts", timestamps: volts.ts, values: volts.values)
        try db.flush()
        var out: [(bytes: [UInt8], segments: Int)] = []
        while true {
            let b = try db.outbox(maxBytes: maxBytes)
            if b.isEmpty { break }
            out.append((b.body, b.segments))
            try db.acknowledge(b)
        }
        try db.close()
        return out
    }
}
