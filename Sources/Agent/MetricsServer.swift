internal import AliceDB
internal import Hummingbird
internal import Logging

/// The agent's loopback HTTP listener: `/healthz` and Prometheus text `/metrics`.
struct MetricsServer {
    let host: String
    let port: Int
    let agent: Agent
    let logger: Logger

    func run() async throws {
        let router = Router()
        let agent = self.agent
        router.get("healthz") { _, _ -> Response in
            let up = await agent.counters.connected
            return Response(
                status: up ? .ok : .serviceUnavailable, headers: [.contentType: "text/plain"],
                body: .init(byteBuffer: ByteBuffer(string: up ? "ok\n" : "broker disconnected\n")))
        }
        router.get("metrics") { _, _ -> Response in
            let text = await agent.prometheusText()
            return Response(
                status: .ok, headers: [.contentType: "text/plain; version=0.0.4"],
                body: .init(byteBuffer: ByteBuffer(string: text)))
        }
        let app = Application(
            router: router, configuration: .init(address: .hostname(host, port: port), serverName: "alicedb-agent"),
            logger: logger)
        try await app.run()
    }
}

extension Agent {
    /// Counters, storage and memory in the Prometheus text exposition format.
    func prometheusText() -> String {
        var out = ""
        func metric(_ name: String, _ type: String, _ help: String, _ samples: [(String, Double)]) {
            out += "# HELP \(name) \(help)\n# TYPE \(name) \(type)\n"
            for (labels, v) in samples { out += "\(name)\(labels) \(v.isFinite && v == v.rounded() && abs(v) < 1e15 ? String(Int64(v)) : String(v))\n" }
        }
        let c = counters
        let w = db.counters
        let stats = try? db.stats()
        metric("alicedb_messages_total", "counter", "MQTT messages received.", [("", Double(c.messages))])
        metric("alicedb_points_total", "counter", "Points handed to the engine.", [("", Double(c.points))])
        metric("alicedb_bad_payloads_total", "counter", "Payloads refused, by subscription.",
               config.subscriptions.map { ("{subscription=\"\(escape($0.topic))\"}", Double(c.badPayloads[$0.topic] ?? 0)) })
        metric("alicedb_unmatched_messages_total", "counter", "Messages no subscription mapped.", [("", Double(c.unmatched))])
        metric("alicedb_broker_connected", "gauge", "1 when connected to the broker.", [("", c.connected ? 1 : 0)])
        metric("alicedb_broker_reconnects_total", "counter", "Connections lost and re-established.", [("", Double(c.reconnects))])
        metric("alicedb_segments_written_total", "counter", "Segments written since start.", [("", Double(w.segments))])
        metric("alicedb_segment_bytes_written_total", "counter", "Segment bytes written since start.", [("", Double(w.segmentBytes))])
        metric("alicedb_late_points_total", "counter", "Points older than their series' flushed data.", [("", Double(w.late))])
        metric("alicedb_retention_deleted_points_total", "counter", "Points deleted by retention.", [("", Double(w.retentionPoints))])
        metric("alicedb_flushes_total", "counter", "MemTable flushes by cause.", [
            ("{cause=\"full\"}", Double(w.flushesFull)), ("{cause=\"budget\"}", Double(w.flushesBudget)),
            ("{cause=\"age\"}", Double(w.flushesAge)), ("{cause=\"explicit\"}", Double(w.flushesExplicit)),
        ])
        if let s = stats {
            metric("alicedb_stored_points", "gauge", "Points stored (segments and MemTables).", [("", Double(s.points))])
            metric("alicedb_disk_bytes", "gauge", "Bytes of the data directory.", [("", Double(s.bytes))])
            metric("alicedb_memtable_points", "gauge", "Points waiting in MemTables.", [("", Double(s.bufferedPoints))])
            metric("alicedb_series", "gauge", "Series in the catalog.", [("", Double(s.series.count))])
        }
        metric("alicedb_memtable_budget_bytes", "gauge", "MemTable memory budget.", [("", Double(config.memoryLimit))])
        metric("alicedb_resident_memory_bytes", "gauge", "Resident set size of the process.", [("", Double(ProcessMemory.residentBytes()))])
        return out
    }

    private func escape(_ s: String) -> String {
        s.replacing("\\", with: "\\\\").replacing("\"", with: "\\\"")
    }
}

enum ProcessMemory {
    /// VmRSS from /proc/self/status (0 where there is no /proc).
    static func residentBytes() -> Int {
        guard let bytes = (try? FileIO.readFile("/proc/self/status")) ?? nil else { return 0 }
        for line in String(decoding: bytes, as: UTF8.self).split(separator: "\n") where line.hasPrefix("VmRSS:") {
            let kb = line.split(separator: " ").dropFirst().first.flatMap { Int($0) } ?? 0
            return kb * 1024
        }
        return 0
    }
}
