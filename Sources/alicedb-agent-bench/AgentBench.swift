import Agent
import AgentHarness
import AliceDB
import ArgumentParser
import Foundation

@main
struct AgentBenchTool: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "alicedb-agent-bench",
        abstract: "The agent's benchmark, and a replay of a CSV over MQTT.",
        subcommands: [AgentBench.self, Replay.self], defaultSubcommand: AgentBench.self)
}

/// The agent's throughput and memory benchmark: a real mosquitto on loopback, the real
/// `alicedb-agent` executable as a child process, and a publisher replaying a real data set.
struct AgentBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "measure",
        abstract:
            "Throughput (QoS 0 against mosquitto_sub, QoS 1) and resident memory of alicedb-agent under a soak and a burst."
    )

    @Option(help: "A CSV (ts,value) whose value texts become the payloads.")
    var dataset: String = "../shared/datasets/beijing_temp.csv"
    @Option(help: "Phases to run, comma-separated: throughput, soak.")
    var phases: String = "throughput,soak"
    @Option(help: "Messages per throughput run.")
    var messages: Int = 300_000
    @Option(help: "Series (topics) in every phase.")
    var series: Int = 1000
    @Option(help: "Soak: messages per second per series.")
    var rate: Int = 10
    @Option(help: "Soak length, seconds.")
    var soakSeconds: Int = 600
    @Option(help: "Messages in the burst after the soak.")
    var burst: Int = 50_000
    @Option(help: "The agent's tcp_nodelay: true or false.")
    var nodelay: Bool = true
    @Option(help: "The agent executable (default: alicedb-agent beside this program).")
    var agent: String?
    @Flag(help: "Soak with [uplink] on: the agent ships to a real alicedb-cloud (beside this program).")
    var uplink = false

    func run() async throws {
        let values = try loadValues(dataset)
        let agentPath =
            agent
            ?? URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
            .deletingLastPathComponent().appendingPathComponent("alicedb-agent").path
        guard FileManager.default.isExecutableFile(atPath: agentPath) else {
            throw ValidationError("no agent executable at \(agentPath) (build it, or pass --agent)")
        }
        let topics = (0..<series).map { String(format: "bench/s%04d", $0) }
        print("alicedb-agent-bench: \(agentPath), payloads from \(dataset) (\(values.count) values), \(series) series")
        print("machine: \(ProcessInfo.processInfo.activeProcessorCount) cores, \(machineName())")
        let wanted = Set(phases.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) })
        if wanted.contains("throughput") {
            var rows: [[String]] = []
            func rate(_ x: Double?) -> String { x.map { String(format: "%.0f", $0) } ?? "incomplete" }
            for (qos, proto) in [(0, "3.1.1"), (1, "3.1.1"), (1, "5")] {
                // QoS 0: both on one stream at once, as a user would compare them; then each alone.
                // QoS 1: each alone (a slow receiver would pace the other through the broker's queue).
                var runs: [(String, Rates)] = []
                if qos == 0 {
                    runs.append(
                        (
                            "both at once",
                            try await throughput(
                                agentPath, topics, values, qos: qos, protocolName: proto, agent: true, sub: true)
                        ))
                }
                let a = try await throughput(
                    agentPath, topics, values, qos: qos, protocolName: proto, agent: true, sub: false)
                let b = try await throughput(
                    agentPath, topics, values, qos: qos, protocolName: proto, agent: false, sub: true)
                runs.append(("each alone", Rates(agent: a.agent, sub: b.sub, received: a.received, stored: a.stored)))
                for (how, r) in runs {
                    rows.append([
                        "\(qos)", proto, how, "\(messages)", "\(r.received)", "\(r.stored)", rate(r.agent), rate(r.sub),
                        (r.agent != nil && r.sub != nil) ? String(format: "%.2f", r.agent! / r.sub!) : "-",
                    ])
                }
            }
            printTable(
                [
                    "QoS", "protocol", "receivers", "messages", "agent got", "stored", "agent msg/s",
                    "mosquitto_sub msg/s", "agent ÷ sub",
                ], rows)
        }
        if wanted.contains("soak") { try await soak(agentPath, topics, values) }
    }

    // MARK: phases

    /// The agent under test: default settings but for the broker, the QoS and the protocol.
    func benchAgent(_ path: String, broker: Broker, qos: Int, protocolName: String, extra: String = "") throws
        -> AgentProcess
    {
        try AgentProcess(executable: path, directory: broker.dir.appendingPathComponent("agent").path) { data, listen in
            """
            [mqtt]
            host = "127.0.0.1"
            port = \(broker.port)
            client_id = "bench-agent"
            qos = \(qos)
            protocol = "\(protocolName)"
            tcp_nodelay = \(nodelay)
            [storage]
            path = "\(data)"
            [http]
            listen = "\(listen)"
            [[subscribe]]
            topic = "bench/#"
            series = "{topic}"
            format = "number"
            \(extra)
            """
        }
    }

    /// What one throughput run measured.
    struct Rates {
        var agent: Double?
        var sub: Double?
        var received = 0
        var stored = 0
    }

    /// Publishes `messages` as fast as possible to the receivers asked for (the agent, `mosquitto_sub`
    /// or both on the same stream at once); each one's rate is messages ÷ (its last arrival − first publish).
    func throughput(
        _ agentPath: String, _ topics: [String], _ values: [[UInt8]], qos: Int, protocolName: String,
        agent withAgent: Bool, sub withSub: Bool
    ) async throws -> Rates {
        let broker = try Broker()
        var run: AgentProcess? = nil
        defer { run?.kill() }
        if withAgent {
            run = try benchAgent(agentPath, broker: broker, qos: qos, protocolName: protocolName)
            try await run!.waitConnected()
        }
        var subPid: pid_t = 0
        if withSub {
            subPid = try spawn([
                Broker.find("mosquitto_sub"), "-h", "127.0.0.1", "-p", "\(broker.port)", "-t", "bench/#", "-q",
                "\(qos)",
                "-V", protocolName == "5" ? "mqttv5" : "mqttv311", "-C", "\(messages)", "-W", "120",
            ])
            try await Task.sleep(for: .milliseconds(500))
        }
        let publisher = try LoadPublisher(port: broker.port)
        let start = Date()
        do {
            for i in 0..<messages {
                try publisher.publish(topics[i % topics.count], values[i % values.count], qos: qos)
            }
            try publisher.drain()
        } catch {
            print(broker.log.split(separator: "\n").suffix(15).joined(separator: "\n"))
            throw error
        }
        var agentDone: Date? = nil
        var subDone: Date? = nil
        var last = -1
        var lastChange = Date()
        while (withAgent && agentDone == nil) || (withSub && subDone == nil) {
            try await Task.sleep(for: .milliseconds(10))
            if withSub && subDone == nil {
                var status: Int32 = 0
                if waitpid(subPid, &status, WNOHANG) == subPid { subDone = Date() }
            }
            if let run, agentDone == nil {
                let got = run.metric("alicedb_messages_total") ?? 0
                if got >= messages { agentDone = Date() }
                if got != last {
                    last = got
                    lastChange = Date()
                }
            }
            if Date().timeIntervalSince(lastChange) > 10
                && (!withSub || subDone != nil || Date().timeIntervalSince(start) > 130)
            {
                break
            }
        }
        if withSub && subDone == nil {
            kill(subPid, SIGKILL)
            waitForExit(subPid)
        }
        var r = Rates()
        r.agent = agentDone.map { Double(messages) / $0.timeIntervalSince(start) }
        r.sub = subDone.map { Double(messages) / $0.timeIntervalSince(start) }
        if let run {
            r.received = run.metric("alicedb_messages_total") ?? 0
            try run.terminate()
            r.stored = try storedStats(run.data).points
        }
        return r
    }

    /// `series` topics at `rate` messages/s each for `soakSeconds`, then a burst; samples the agent's
    /// VmRSS/VmHWM every 5 s; at the end SIGTERM and counts what was stored (QoS 1: nothing may be lost).
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
        var samples: [(t: Double, rss: Int, hwm: Int, messages: Int)] = []
        var walPeak = 0  // the WAL keeps every record since the oldest point still buffered
        var nextSample = 0.0
        if ProcessMemory.readProc("/proc/\(run.pid)/maps")?.contains("libswiftCore.so") == true {
            print(
                "warning: this agent links the Swift runtime dynamically; the packaged one is static and ~8 MiB smaller"
                    + " (swift build -c release --static-swift-stdlib --product alicedb-agent)")
        }
        print(
            "\nsoak: \(topics.count) series × \(rate) msg/s for \(soakSeconds) s, then a burst of \(burst) (QoS 1, default memory_limit\(uplink ? ", uplink to a local alicedb-cloud" : ""))"
        )
        while true {
            let elapsed = Date().timeIntervalSince(start)
            if elapsed >= Double(soakSeconds) { break }
            let due = Int(elapsed * 100) * perTick
            while sent < due + perTick {
                try publisher.publish(topics[sent % topics.count], reading(sent), qos: 1)
                sent += 1
            }
            try publisher.flush()
            if elapsed >= nextSample, let m = ProcessMemory.status(of: run.pid) {
                samples.append((elapsed, m.rss, m.hwm, run.metric("alicedb_messages_total") ?? 0))
                walPeak = max(walPeak, FileIO.directoryBytes(run.data + "/wal"))
                if samples.count % 12 == 1 {
                    print(
                        String(
                            format: "  t=%4.0f s  VmRSS %.1f MiB  VmHWM %.1f MiB  messages %d", elapsed, mib(m.rss),
                            mib(m.hwm), samples.last!.messages))
                }
                nextSample += 5
            }
            try await Task.sleep(for: .milliseconds(10))
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
        // Flatness: median RSS of the second minute against the median of the last minute.
        func median(_ xs: [Int]) -> Int { xs.isEmpty ? 0 : xs.sorted()[xs.count / 2] }
        let early = median(samples.filter { $0.t >= 60 && $0.t < 120 }.map(\.rss))
        let late = median(samples.filter { $0.t >= Double(soakSeconds) - 60 }.map(\.rss))
        printTable(
            ["measure", "value"],
            [
                ["messages published (QoS 1)", "\(sent)"],
                ["points stored after SIGTERM", "\(stored)"],
                ["lost", "\(sent - stored)"],
                [
                    "segments written; points per segment",
                    "\(stats.segments); \(stats.points / max(1, stats.segments))",
                ],
                ["bytes/point stored (whole data directory)", String(format: "%.3f", stats.bytesPerPoint)],
                ["largest WAL on disk during the soak (5-s samples)", String(format: "%.1f MiB", mib(walPeak))],
                ["median VmRSS, minute 2", String(format: "%.1f MiB", mib(early))],
                ["median VmRSS, last minute", String(format: "%.1f MiB", mib(late))],
                ["VmHWM before the burst", String(format: "%.1f MiB", mib(beforeBurst?.hwm ?? 0))],
                ["burst: seconds to ingest \(burst)", String(format: "%.2f", burstSeconds)],
                ["burst: peak VmRSS", String(format: "%.1f MiB", mib(burstPeak))],
                ["VmHWM at the end", String(format: "%.1f MiB", mib(end?.hwm ?? 0))],
                ["SIGTERM to exit", String(format: "%.2f s", stopSeconds)],
            ]
                + (cloud.map { c in
                    [
                        [
                            "uplink: bytes acknowledged before SIGTERM",
                            "\(uplinkBytes) (\(String(format: "%.3f", Double(uplinkBytes) / Double(max(1, stored)))) B/point stored)",
                        ],
                        ["uplink: points on the cloud node at the end", "\(cloudPoints(c))"],
                    ]
                } ?? []))
    }
}

// MARK: helpers

/// Points the cloud node holds for the gateway `bench`.
func cloudPoints(_ cloud: CloudProcess) -> Int {
    guard let r = try? cloud.request("GET", "/v1/series?gateway=bench&format=csv", token: "bench-token-0"),
        r.status == 200
    else { return -1 }
    return r.body.split(separator: "\n").dropFirst().reduce(0) { total, line in
        let fields = line.split(separator: ",", omittingEmptySubsequences: false)
        return total + (fields.count >= 9 ? Int(fields[fields.count - 8]) ?? 0 : 0)
    }
}

func mib(_ bytes: Int) -> Double { Double(bytes) / 1_048_576 }

func machineName() -> String {
    guard let text = ProcessMemory.readProc("/proc/cpuinfo"),
        let line = text.split(separator: "\n").first(where: { $0.hasPrefix("model name") }),
        let colon = line.firstIndex(of: ":")
    else { return "unknown CPU" }
    return line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
}

/// The value column's texts (the payloads the sensors would send).
func loadValues(_ path: String) throws -> [[UInt8]] {
    let text = try String(contentsOfFile: path, encoding: .utf8)
    var out: [[UInt8]] = []
    for line in text.split(separator: "\n").dropFirst() {
        guard let comma = line.firstIndex(of: ",") else { continue }
        let v = line[line.index(after: comma)...].trimmingCharacters(in: .whitespaces)
        if !v.isEmpty { out.append(Array(v.utf8)) }
    }
    guard !out.isEmpty else { throw ValidationError("\(path): no values") }
    return out
}

func storedStats(_ data: String) throws -> DatabaseStats {
    let db = try Database(path: data, options: DatabaseOptions(readOnly: true))
    defer { try? db.close() }
    return try db.stats()
}

func printTable(_ header: [String], _ rows: [[String]]) {
    let widths = header.indices.map { c in ([header[c]] + rows.map { $0[c] }).map(\.count).max() ?? 0 }
    func line(_ cells: [String]) -> String {
        "| "
            + cells.enumerated().map { $1.padding(toLength: widths[$0], withPad: " ", startingAt: 0) }.joined(
                separator: " | ") + " |"
    }
    print(line(header))
    print("| " + widths.map { String(repeating: "-", count: $0) }.joined(separator: " | ") + " |")
    for r in rows { print(line(r)) }
}
