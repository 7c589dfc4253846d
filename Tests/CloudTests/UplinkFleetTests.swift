import AgentHarness
import AliceDB
import Foundation
import TestKit
import Testing

/// The uplink across a fleet's changes: tokens in files (as systemd's `LoadCredential` passes them)
/// and rotated with SIGHUP; a node older than the agent's segments. The agent keeps its cursor, so
/// everything arrives once and nothing is sent twice.
@Suite(.serialized) struct UplinkFleetTests {
    static let oldToken = "rotate-me-token-1"
    static let newToken = "rotate-me-token-2"

    func cloudConfig(tokenFile: String) -> (String, String) -> String {
        { data, listen in
            """
            [server]
            listen = "\(listen)"
            [storage]
            path = "\(data)"
            [[gateway]]
            name = "gw-1"
            token_file = "\(tokenFile)"
            [[reader]]
            name = "grafana"
            token = "\(CloudFixture.readerToken)"
            """
        }
    }

    func agentConfig(_ broker: Broker, _ cloud: CloudProcess, tokenFile: String, bandwidth: String)
        -> (String, String) -> String
    {
        { data, listen in
            """
            [mqtt]
            host = "127.0.0.1"
            port = \(broker.port)
            client_id = "reload-gateway"
            [storage]
            path = "\(data)"
            max_buffer_age = 0.2
            [http]
            listen = "\(listen)"
            [uplink]
            url = "\(cloud.url)"
            token_file = "\(tokenFile)"
            max_bandwidth = "\(bandwidth)"
            interval = 0.1
            retry_min = 0.1
            retry_max = 0.3
            [[subscribe]]
            topic = "reload/+"
            series = "reload.{1}"
            """
        }
    }

    static func cloudPoints(_ cloud: CloudProcess) -> Int { CloudFixture.gatewayPoints(port: cloud.port) }

    @Test func sighupRotatesTheTokenAndKeepsTheCursor() async throws {
        let dir = TempDirectory()
        let cloudToken = dir.path + "/cloud-token"
        let agentToken = dir.path + "/agent-token"
        try (Self.oldToken + "\n").write(toFile: cloudToken, atomically: true, encoding: .utf8)
        try (Self.oldToken + "\n").write(toFile: agentToken, atomically: true, encoding: .utf8)
        let broker = try Broker()
        let cloud = try CloudProcess(directory: dir.path + "/cloud", config: cloudConfig(tokenFile: cloudToken))
        let agent = try AgentProcess(
            executable: BuiltExecutable.path("alicedb-agent"), directory: dir.path + "/agent", logLevel: "info",
            config: agentConfig(broker, cloud, tokenFile: agentToken, bandwidth: "1MiB"))
        try await agent.waitConnected()
        func cloudPoints() -> Int { Self.cloudPoints(cloud) }

        // 1. The first token, read from files on both sides.
        try broker.publish("reload/a", (0..<300).map { "\($0)" })
        try await waitUntil(timeout: .seconds(30), "the first points on the cloud node") { cloudPoints() == 300 }

        // 2. The node gets a new token: the agent's uploads are refused, its points wait.
        try (Self.newToken + "\n").write(toFile: cloudToken, atomically: true, encoding: .utf8)
        #expect(cloud.terminate() == 0)
        try cloud.start()
        let failuresBefore = agent.metric("alicedb_uplink_failures_total") ?? 0
        try broker.publish("reload/a", (300..<600).map { "\($0)" })
        try await waitUntil(timeout: .seconds(30), "uploads refused for the old token") {
            (agent.metric("alicedb_uplink_failures_total") ?? 0) > failuresBefore
        }
        #expect(cloudPoints() == 300)

        // 3. SIGHUP with the new token (and another bandwidth cap): the rest arrives, once.
        try (Self.newToken + "\n").write(toFile: agentToken, atomically: true, encoding: .utf8)
        try agentConfig(broker, cloud, tokenFile: agentToken, bandwidth: "512KiB")(agent.data, "127.0.0.1:0").write(
            toFile: agent.configPath, atomically: true, encoding: .utf8)
        kill(agent.pid, SIGHUP)
        try await waitUntil(timeout: .seconds(30), "every point on the cloud node") { cloudPoints() >= 600 }
        #expect(agent.log.contains("uplink settings reloaded"))
        // The cursor stayed: nothing went twice.
        #expect(agent.metric("alicedb_uplink_segments_total{outcome=\"duplicate\"}") == 0)
        try agent.terminate()
        #expect(cloudPoints() == 600)
        let csv = try cloud.request(
            "GET", "/v1/scan?gateway=gw-1&series=reload.a&format=csv", token: CloudFixture.readerToken
        ).body
        let values = csv.split(separator: "\n").dropFirst().map {
            DoubleText.parse(String($0.split(separator: ",")[1]))
        }
        #expect(values == (0..<600).map { Double($0) })
        #expect(cloud.terminate() == 0)
    }

    /// A token file that is missing or empty is an error at the key, before anything starts.
    @Test func aMissingOrEmptyTokenFileIsRefusedAtTheKey() throws {
        let dir = TempDirectory()
        let empty = dir.path + "/empty"
        try "\n".write(toFile: empty, atomically: true, encoding: .utf8)
        for (file, expected) in [(dir.path + "/none", "no such file"), (empty, "is empty")] {
            let path = dir.path + "/agent.toml"
            try """
            [storage]
            path = "\(dir.path)/data"
            [uplink]
            url = "http://127.0.0.1:1"
            token_file = "\(file)"
            [[subscribe]]
            topic = "a/#"
            """.write(toFile: path, atomically: true, encoding: .utf8)
            let p = Process()
            p.executableURL = URL(fileURLWithPath: BuiltExecutable.path("alicedb-agent"))
            p.arguments = ["--config", path, "--check"]
            let err = Pipe()
            p.standardError = err
            try p.run()
            let text = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            p.waitUntilExit()
            #expect(p.terminationStatus == 2)
            #expect(text.contains("agent.toml:5: uplink.token_file:") && text.contains(expected), "\(text)")
        }
    }

    /// A node that cannot read a format feature the agent's segments use refuses the batches
    /// whole (422 naming it); the agent keeps them, shows the feature in /metrics, and ships them
    /// once the node is upgraded (here: restarted without pretending not to read it).
    @Test func anOlderNodeRefusesAndTheSegmentsWaitForItsUpgrade() async throws {
        let dir = TempDirectory()
        let tokenFile = dir.path + "/token"
        try Self.oldToken.write(toFile: tokenFile, atomically: true, encoding: .utf8)
        let broker = try Broker()
        let cloud = try CloudProcess(
            directory: dir.path + "/cloud", environment: ["ALICEDB_CLOUD_REFUSE_FEATURES": "segment-v1"],
            config: cloudConfig(tokenFile: tokenFile))
        let agent = try AgentProcess(
            executable: BuiltExecutable.path("alicedb-agent"), directory: dir.path + "/agent",
            config: agentConfig(broker, cloud, tokenFile: tokenFile, bandwidth: "1MiB"))
        try await agent.waitConnected()
        try broker.publish("reload/a", (0..<400).map { "\($0)" })
        let refused = "alicedb_uplink_unsupported_features{feature=\"segment-v1\"}"
        try await waitUntil(timeout: .seconds(30), "the node's refusal on the agent's /metrics") {
            agent.metric(refused) == 1
        }
        #expect(agent.log.contains("cannot read these segments' format features"))
        #expect(Self.cloudPoints(cloud) == 0)
        let lag = agent.metric("alicedb_uplink_lag_segments") ?? 0
        #expect(lag > 0)

        // The upgrade: the same node without the refusal; the waiting segments go, once.
        #expect(cloud.terminate() == 0)
        cloud.environment = [:]
        try cloud.start()
        try await waitUntil(timeout: .seconds(30), "every point on the upgraded node") {
            Self.cloudPoints(cloud) >= 400
        }
        try await waitUntil(timeout: .seconds(10), "the refusal gone from /metrics") { agent.metric(refused) == nil }
        try agent.terminate()
        #expect(Self.cloudPoints(cloud) == 400)
        #expect(cloud.terminate() == 0)
    }
}
