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
    @Option(
        help:
            "With --uplink: after the soak, stop the cloud node for this many seconds (publishing goes on), then measure the backlog's drain."
    )
    var outageSeconds: Int = 0

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
}

// MARK: helpers

/// Points the cloud node holds for the gateway `bench`, and its newest point's timestamp (the
/// agent's arrival time, ms); nil when the node does not answer.
func cloudHoldings(_ cloud: CloudProcess) -> (points: Int, newest: Int64)? {
    guard let r = try? cloud.request("GET", "/v1/series?gateway=bench&format=csv", token: "bench-token-0"),
        r.status == 200
    else { return nil }
    var points = 0
    var newest = Int64.min
    for line in r.body.split(separator: "\n").dropFirst() {
        // series,points,segments,bytes,bytes_per_point,first,last,max_error,max_error_pct (names may hold commas)
        let fields = line.split(separator: ",", omittingEmptySubsequences: false)
        guard fields.count >= 9 else { continue }
        points += Int(fields[fields.count - 8]) ?? 0
        newest = max(newest, Int64(fields[fields.count - 3]) ?? .min)
    }
    return (points, newest)
}

func cloudPoints(_ cloud: CloudProcess) -> Int { cloudHoldings(cloud)?.points ?? -1 }

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
