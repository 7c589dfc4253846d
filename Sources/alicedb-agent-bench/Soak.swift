import Agent
import AgentHarness
import AliceDB
import Foundation

/// The memory soak: `series` topics at `rate` messages/s each for `soakSeconds`; with `--uplink` and
/// `--outage-seconds`, then the cloud node stopped for that long (publishing goes on) and started
/// again until the backlog has drained; then a burst. Samples the agent's VmRSS/VmHWM (and with the
/// uplink the age of the newest point on the node) every 5 s; at the end SIGTERM and counts what was
/// stored (QoS 1: nothing may be lost).
extension AgentBench {
    struct Sample {
        var t: Double
        var phase: String
        var rss: Int
        var hwm: Int
        var messages: Int
        /// Seconds between now and the newest point on the cloud node (nil: no node, or it is down).
        var cloudAge: Double?
    }

    /// A node's newest point this close to now counts as caught up after an outage.
    static let caughtUpSeconds = 90.0

    func soak(_ agentPath: String, _ topics: [String], _ values: [[UInt8]]) async throws {
        let broker = try Broker()
        var cloud: CloudProcess? = nil
        var extra = ""
        if uplink {
            let exe = URL(fileURLWithPath: agentPath).deletingLastPathComponent().appendingPathComponent(
                "alicedb-cloud"
            ).path
            let c = try CloudProcess(directory: broker.dir.appendingPathComponent("cloud").path, executable: exe) {
                data, listen in
                "[server]\nlisten = \"\(listen)\"\nrate_limit = 1000\n[storage]\npath = \"\(data)\"\n[[gateway]]\nname = \"bench\"\ntoken = \"bench-token-0\"\n"
            }
            cloud = c
            extra = "[uplink]\nurl = \"\(c.url)\"\ntoken = \"bench-token-0\"\n"
        }
        defer { cloud?.terminate() }
        let run = try benchAgent(agentPath, broker: broker, qos: 1, protocolName: "3.1.1", extra: extra)
        defer { run.kill() }
        try await run.waitConnected()
        let publisher = try LoadPublisher(port: broker.port)
        let perTick = max(1, topics.count * rate / 100)  // one tick = 10 ms
        // Message j goes to series j mod n; each series publishes consecutive readings of the data
        // set from its own offset, so what it stores is a real series (the bytes/point row).
        let spread = max(1, values.count / topics.count)
        func reading(_ j: Int) -> [UInt8] { values[(j / topics.count + (j % topics.count) * spread) % values.count] }
        let start = Date()
        var sent = 0
        var samples: [Sample] = []
        var walPeak = 0  // the WAL keeps every record since the oldest point still buffered
        var nextSample = 0.0
        if ProcessMemory.readProc("/proc/\(run.pid)/maps")?.contains("libswiftCore.so") == true {
            print(
                "warning: this agent links the Swift runtime dynamically; the packaged one is static and ~8 MiB smaller"
                    + " (swift build -c release --static-swift-stdlib --product alicedb-agent)")
        }
        print(
            "\nsoak: \(topics.count) series × \(rate) msg/s for \(soakSeconds) s\(outageSeconds > 0 && uplink ? ", a \(outageSeconds)-s outage of the node and the drain" : ""), then a burst of \(burst) (QoS 1, default memory_limit\(uplink ? ", uplink to a local alicedb-cloud" : ""))"
        )
        /// Publishes at the soak's rate while `until` is false (checked every 10 ms), sampling every 5 s.
        func publish(_ phase: String, until done: (Double) -> Bool) async throws {
            let phaseStart = Date().timeIntervalSince(start)
            while true {
                let elapsed = Date().timeIntervalSince(start)
                if done(elapsed - phaseStart) { return }
                let due = Int(elapsed * 100) * perTick
                while sent < due + perTick {
                    try publisher.publish(topics[sent % topics.count], reading(sent), qos: 1)
                    sent += 1
                }
                try publisher.flush()
                if elapsed >= nextSample, let m = ProcessMemory.status(of: run.pid) {
                    let age = cloud.flatMap(cloudHoldings).flatMap { h in
                        h.newest == .min ? nil : Double(FileIO.wallMillis() - h.newest) / 1000
                    }
                    let sample = Sample(
                        t: elapsed, phase: phase, rss: m.rss, hwm: m.hwm,
                        messages: run.metric("alicedb_messages_total") ?? 0, cloudAge: age)
                    samples.append(sample)
                    walPeak = max(walPeak, FileIO.directoryBytes(run.data + "/wal"))
                    if samples.count % 12 == 1 {
                        print(
                            String(
                                format: "  t=%4.0f s  %@  VmRSS %.1f MiB  VmHWM %.1f MiB  messages %d%@", elapsed,
                                phase,
                                mib(m.rss), mib(m.hwm), sample.messages,
                                age.map { String(format: "  newest on the node %.0f s old", $0) } ?? ""))
                    }
                    nextSample += 5
                }
                try await Task.sleep(for: .milliseconds(10))
            }
        }
        try await publish("soak") { $0 >= Double(soakSeconds) }
        let beforeOutage = ProcessMemory.status(of: run.pid)
        var drainSeconds: Double? = nil
        if let c = cloud, outageSeconds > 0 {
            c.terminate()
            try await publish("outage") { $0 >= Double(outageSeconds) }
            try c.start()
            let limit = Double(max(300, outageSeconds))
            try await publish("drain") { t in
                if let h = cloudHoldings(c), h.newest != .min,
                    Double(FileIO.wallMillis() - h.newest) / 1000 < AgentBench.caughtUpSeconds
                {
                    drainSeconds = t
                    return true
                }
                return t >= limit
            }
        }
        let beforeBurst = ProcessMemory.status(of: run.pid)
        let burstStart = Date()
        for i in 0..<burst {
            try publisher.publish(topics[(sent + i) % topics.count], reading(sent + i), qos: 1)
        }
        try publisher.drain()
        sent += burst
        var burstPeak = 0
        var lastCount = -1
        var lastChange = Date()
        while true {
            let got = run.metric("alicedb_messages_total") ?? 0
            if let m = ProcessMemory.status(of: run.pid) { burstPeak = max(burstPeak, m.rss) }
            if got >= sent { break }
            if got != lastCount {
                lastCount = got
                lastChange = Date()
            }
            if Date().timeIntervalSince(lastChange) > 15 { break }
            try await Task.sleep(for: .milliseconds(20))
        }
        let burstSeconds = Date().timeIntervalSince(burstStart)
        let end = ProcessMemory.status(of: run.pid)
        let uplinkBytes = run.metric("alicedb_uplink_sent_bytes_total") ?? 0
        let stopSeconds = try run.terminate()
        let stats = try storedStats(run.data)
        let stored = stats.points
        // Flatness: median RSS of the second minute against the median of the soak's last minute.
        func median(_ xs: [Int]) -> Int { xs.isEmpty ? 0 : xs.sorted()[xs.count / 2] }
        let soaked = samples.filter { $0.phase == "soak" }
        let early = median(soaked.filter { $0.t >= 60 && $0.t < 120 }.map(\.rss))
        let late = median(soaked.filter { $0.t >= Double(soakSeconds) - 60 }.map(\.rss))
        var rows: [[String]] = [
            ["messages published (QoS 1)", "\(sent)"],
            ["points stored after SIGTERM", "\(stored)"],
            ["lost", "\(sent - stored)"],
            ["segments written; points per segment", "\(stats.segments); \(stats.points / max(1, stats.segments))"],
            ["bytes/point stored (whole data directory)", String(format: "%.3f", stats.bytesPerPoint)],
            ["largest WAL on disk (5-s samples)", String(format: "%.1f MiB", mib(walPeak))],
            ["median VmRSS, minute 2", String(format: "%.1f MiB", mib(early))],
            ["median VmRSS, the soak's last minute", String(format: "%.1f MiB", mib(late))],
            ["VmHWM at the soak's end", String(format: "%.1f MiB", mib(beforeOutage?.hwm ?? 0))],
        ]
        if let c = cloud {
            let ages = soaked.filter { $0.t >= 120 }.compactMap(\.cloudAge).sorted()
            rows.append([
                "newest point on the node, age after minute 2: median / max",
                ages.isEmpty ? "-" : String(format: "%.0f / %.0f s", ages[ages.count / 2], ages.last!),
            ])
            if outageSeconds > 0 {
                let peak = { (phase: String) in samples.filter { $0.phase == phase }.map(\.rss).max() ?? 0 }
                rows.append(["peak VmRSS during the outage", String(format: "%.1f MiB", mib(peak("outage")))])
                rows.append(["peak VmRSS during the drain", String(format: "%.1f MiB", mib(peak("drain")))])
                rows.append([
                    "drain: seconds until the node's newest point is < \(Int(AgentBench.caughtUpSeconds)) s old",
                    drainSeconds.map { String(format: "%.0f", $0) } ?? "not within the limit",
                ])
                rows.append(["VmHWM before the burst", String(format: "%.1f MiB", mib(beforeBurst?.hwm ?? 0))])
            }
            rows.append([
                "uplink: bytes acknowledged before SIGTERM",
                "\(uplinkBytes) (\(String(format: "%.3f", Double(uplinkBytes) / Double(max(1, stored)))) B/point stored)",
            ])
            rows.append(["uplink: points on the cloud node at the end", "\(cloudPoints(c))"])
        }
        rows += [
            ["burst: seconds to ingest \(burst)", String(format: "%.2f", burstSeconds)],
            ["burst: peak VmRSS", String(format: "%.1f MiB", mib(burstPeak))],
            ["VmHWM at the end", String(format: "%.1f MiB", mib(end?.hwm ?? 0))],
            ["SIGTERM to exit", String(format: "%.2f s", stopSeconds)],
        ]
        printTable(["measure", "value"], rows)
    }
}
