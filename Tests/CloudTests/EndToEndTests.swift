import AgentHarness
import AliceDB
import Foundation
import TestKit
import Testing

/// mosquitto → alicedb-agent → alicedb-cloud, all real processes on loopback, with the cloud node
/// stopped for a while and the agent killed mid-upload: every published point ends up on the
/// cloud node exactly once, within its bound, and both answer the same aggregates.
@Suite(.serialized) struct EndToEndTests {
    struct Series {
        var topic: String
        var name: String
        var bound: Double
        var ts: [Int64]
        var values: [Double]
    }

    static func data(perSeries n: Int) -> [Series] {
        let base: Int64 = 1_700_000_000_000
        func make(_ file: String, _ topic: String, _ name: String, _ bound: Double) -> Series {
            let d = TestSlices.load(file)
            return Series(
                topic: topic, name: name, bound: bound, ts: (0..<n).map { base + Int64($0) * 1000 },
                values: Array(d.values.prefix(n)))
        }
        return [
            make("hpc_voltage.csv", "e2e/volts/json", "volts.v", 0),
            make("elf_air_pressure.csv", "e2e/air/json", "air.v", 0),
            make("beijing_temp.csv", "lossy/temp/json", "temp.v", 0.05),
        ]
    }

    func agentConfig(_ broker: Broker, _ cloud: CloudProcess) -> (String, String) -> String {
        { data, listen in
            """
            [mqtt]
            host = "127.0.0.1"
            port = \(broker.port)
            client_id = "e2e-gateway"
            clean_session = false
            qos = 1
            [storage]
            path = "\(data)"
            memory_limit = "16KiB"  # short segments, so the catch-up below takes several batches
            max_buffer_age = 0.5
            [http]
            listen = "\(listen)"
            [uplink]
            url = "\(cloud.url)"
            token = "\(CloudFixture.gatewayToken)"
            batch_bytes = "4KiB"
            max_bandwidth = "1KiB"  # the catch-up must last long enough to be killed in the middle
            interval = 0.2
            timeout = 5
            retry_min = 0.1
            retry_max = 0.5
            [[subscribe]]
            topic = "e2e/+/json"
            format = "json"
            fields = { "{1}.v" = "v" }
            timestamp = "ts"
            [[subscribe]]
            topic = "lossy/+/json"
            format = "json"
            fields = { "{1}.v" = "v" }
            timestamp = "ts"
            max_error = 0.05
            """
        }
    }

    func publish(_ series: [Series], _ range: Range<Int>, port: Int) throws {
        let p = try LoadPublisher(port: port)
        for i in range {
            for s in series {
                try p.publish(
                    s.topic, Array("{\"ts\": \(s.ts[i]), \"v\": \(DoubleText.format(s.values[i]))}".utf8), qos: 1)
            }
        }
        try p.drain()
    }

    func cloudPoints(_ cloud: CloudProcess) -> Int { CloudFixture.gatewayPoints(port: cloud.port) }

    @Test func outageAndKillLoseNothingAndStoreNothingTwice() async throws {
        let dir = TempDirectory()
        let broker = try Broker()
        let cloud = try CloudProcess(directory: dir.path + "/cloud", config: CloudFixture.config())
        let n = 1500
        let series = Self.data(perSeries: 3 * n)
        let total = series.count * 3 * n
        var agent = try AgentProcess(
            executable: BuiltExecutable.path("alicedb-agent"), directory: dir.path + "/agent",
            config: agentConfig(broker, cloud))
        try await agent.waitConnected()

        // 1. Normal operation: points reach the cloud node.
        try publish(series, 0..<n, port: broker.port)
        try await waitUntil(timeout: .seconds(30), "the first segments on the cloud node") { cloudPoints(cloud) > 0 }

        // 2. The cloud node is down: the agent keeps everything and retries.
        #expect(cloud.terminate() == 0)
        try publish(series, n..<(2 * n), port: broker.port)
        try await agent.waitMessages(series.count * 2 * n)
        try await waitUntil(timeout: .seconds(20), "failed uploads") {
            (agent.metric("alicedb_uplink_failures_total") ?? 0) > 0
        }
        #expect((agent.metric("alicedb_uplink_lag_segments") ?? 0) > 0)

        // 3. Back up: the agent catches up; killed with SIGKILL in the middle of it.
        // The watch that kills runs on a thread of its own, started before anything here awaits: a
        // task on the cooperative pool can starve while the parallel suites keep both cores busy, and
        // see the catch-up only once it is over. It waits for every message at the agent first (a
        // SIGKILL may lose the last ~10 ms of acknowledged messages, see docs/semantics.md).
        let (agentPID, cloudPort, agentPort) = (agent.pid, cloud.port, agent.httpPort)
        try cloud.start()
        let watch = ThreadWatch(timeout: .seconds(90), "every message at the agent, then the catch-up under way") {
            (AgentProcess.metric(port: agentPort, "alicedb_messages_total") ?? 0) >= total
                && CloudFixture.gatewayPoints(port: cloudPort) > total / 3
        } then: {
            kill(agentPID, SIGKILL)
        }
        try publish(series, (2 * n)..<(3 * n), port: broker.port)
        try await watch.wait()
        agent.kill()
        let atKill = cloudPoints(cloud)
        #expect(atKill < total, "the upload was over before the kill: the test did not kill it mid-upload")

        // 4. Restarted: it recovers its WAL and cursor and ships the rest, once.
        agent = try AgentProcess(
            executable: BuiltExecutable.path("alicedb-agent"), directory: dir.path + "/agent",
            config: agentConfig(broker, cloud))
        try await waitUntil(timeout: .seconds(90), "every point on the cloud node") { cloudPoints(cloud) >= total }
        try agent.terminate()
        #expect(cloudPoints(cloud) == total)

        let gateway = try Database(path: agent.data, options: DatabaseOptions(readOnly: true))
        for s in series {
            let local = try gateway.scan(s.name)
            #expect(local.map(\.timestamp) == s.ts, "\(s.name): the gateway holds every published point once")
            #expect(
                zip(local, s.values).allSatisfy {
                    s.bound == 0 ? $0.value.bitPattern == $1.bitPattern : abs($0.value - $1) <= s.bound
                })
            let csv = try cloud.request(
                "GET", "/v1/scan?gateway=gw-1&series=\(s.name)&format=csv", token: CloudFixture.readerToken
            ).body
            let rows = csv.split(separator: "\n").dropFirst().map { $0.split(separator: ",") }
            #expect(
                rows.map { Int64($0[0]) } == local.map(\.timestamp), "\(s.name): the cloud holds the same points once")
            #expect(zip(rows, local).allSatisfy { DoubleText.parse(String($0[1]))?.bitPattern == $1.value.bitPattern })
            let agg = CloudFixture.json(
                try cloud.request(
                    "GET", "/v1/aggregate?gateway=gw-1&series=\(s.name)", token: CloudFixture.readerToken
                ).body)
            let mine = try gateway.aggregate(s.name)
            #expect(
                agg["count"] as? Int == mine.count && agg["min"] as? Double == mine.min
                    && agg["max"] as? Double == mine.max)
            #expect(abs((agg["sum"] as? Double ?? .nan) - mine.sum) <= abs(mine.sum) * 1e-12, "\(s.name)")
        }
        #expect(cloud.terminate() == 0)
    }

    /// HTTPS with the node's CA and a client certificate; without the certificate the node refuses.
    @Test func uplinkOverMutualTLS() async throws {
        let dir = TempDirectory()
        let pki = try TestPKI(in: dir.path)
        let broker = try Broker()
        let cloud = try CloudProcess(
            directory: dir.path + "/cloud",
            config: CloudFixture.config(
                extra:
                    "tls_cert_file = \"\(pki.cert)\"\ntls_key_file = \"\(pki.key)\"\ntls_client_ca_file = \"\(pki.ca)\""
            ))
        func agentConfig(_ name: String, clientCert: Bool) -> (String, String) -> String {
            { data, listen in
                """
                [mqtt]
                host = "127.0.0.1"
                port = \(broker.port)
                client_id = "\(name)"
                [storage]
                path = "\(data)"
                max_buffer_age = 0.3
                [http]
                listen = "\(listen)"
                [uplink]
                url = "https://127.0.0.1:\(cloud.port)"
                token = "\(CloudFixture.gatewayToken)"
                ca_file = "\(pki.ca)"
                \(clientCert ? "cert_file = \"\(pki.clientCert)\"\nkey_file = \"\(pki.clientKey)\"" : "")
                interval = 0.2
                retry_min = 0.1
                retry_max = 0.3
                [[subscribe]]
                topic = "tls/+"
                series = "tls.{1}"
                """
            }
        }
        let agent = try AgentProcess(
            executable: BuiltExecutable.path("alicedb-agent"), directory: dir.path + "/agent",
            config: agentConfig("tls-gw", clientCert: true))
        let stranger = try AgentProcess(
            executable: BuiltExecutable.path("alicedb-agent"), directory: dir.path + "/stranger",
            config: agentConfig("tls-x", clientCert: false))
        try await agent.waitConnected()
        try await stranger.waitConnected()
        try broker.publish("tls/a", (0..<200).map { String(Double($0) / 4) })
        try await agent.waitMessages(200)
        try await waitUntil(timeout: .seconds(30), "the points on the cloud node over HTTPS") {
            (agent.metric("alicedb_uplink_acknowledged_points_total") ?? 0) >= 200
        }
        try await waitUntil(timeout: .seconds(10), "the stranger's refused uploads") {
            (stranger.metric("alicedb_uplink_failures_total") ?? 0) > 0
        }
        #expect(stranger.metric("alicedb_uplink_batches_total") == 0)
        try agent.terminate()
        try stranger.terminate()
        let db = try Database(path: cloud.data + "/gateways/gw-1", options: DatabaseOptions(readOnly: true))
        #expect(try db.scan("tls.a").map(\.value) == (0..<200).map { Double($0) / 4 })
        #expect(cloud.terminate() == 0)
    }

    /// A node whose max_body is below the agent's batch_bytes: 413, then smaller batches get through.
    @Test func smallerBatchesWhenTheNodeRefusesTheSize() async throws {
        let dir = TempDirectory()
        let broker = try Broker()
        let cloud = try CloudProcess(directory: dir.path + "/cloud", config: CloudFixture.config(maxBody: "8KiB"))
        let agent = try AgentProcess(executable: BuiltExecutable.path("alicedb-agent"), directory: dir.path + "/agent")
        { data, listen in
            """
            [mqtt]
            host = "127.0.0.1"
            port = \(broker.port)
            client_id = "small-batches"
            [storage]
            path = "\(data)"
            memory_limit = "64KiB"
            max_buffer_age = 0.3
            [http]
            listen = "\(listen)"
            [uplink]
            url = "\(cloud.url)"
            token = "\(CloudFixture.gatewayToken)"
            batch_bytes = "64KiB"
            interval = 0.2
            retry_min = 0.05
            retry_max = 0.2
            [[subscribe]]
            topic = "big/+"
            series = "big.{1}"
            """
        }
        try await agent.waitConnected()
        // The node is down until every point is in segments: the first batch is then all of them.
        #expect(cloud.terminate() == 0)
        let values = TestSlices.load("ucr_motestrain.csv").values.prefix(6000)  // many digits: large frames
        let publisher = try LoadPublisher(port: broker.port)
        for (i, v) in values.enumerated() {
            try publisher.publish("big/s\(i % 4)", Array(DoubleText.format(v).utf8), qos: 1)
        }
        try publisher.drain()
        try await agent.waitMessages(values.count)
        try await waitUntil(timeout: .seconds(30), "every point in segments") {
            agent.metric("alicedb_memtable_points") == 0
        }
        try cloud.start()
        try await waitUntil(timeout: .seconds(60), "every point acknowledged") {
            (agent.metric("alicedb_uplink_acknowledged_points_total") ?? 0) >= values.count
        }
        let metrics = try cloud.request("GET", "/metrics", token: nil).body
        #expect(
            metrics.contains("route=\"/v1/segments\",status=\"413\""),
            "the node never refused a batch: the test did not test")
        try agent.terminate()
        let db = try Database(path: cloud.data + "/gateways/gw-1", options: DatabaseOptions(readOnly: true))
        #expect(try db.stats().points == values.count)
        #expect(cloud.terminate() == 0)
    }
}
