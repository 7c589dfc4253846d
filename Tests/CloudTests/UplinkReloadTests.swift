import AgentHarness
import AliceDB
import Foundation
import TestKit
import Testing

/// Tokens in files (as systemd's `LoadCredential` passes them) on both sides, and a token rotated
/// with SIGHUP: the agent keeps its cursor, so everything arrives once and nothing is sent twice.
@Suite(.serialized) struct UplinkReloadTests {
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
        func cloudPoints() -> Int {
            guard let r = try? cloud.request("GET", "/v1/gateways", token: CloudFixture.readerToken), r.status == 200,
                let list = CloudFixture.json(r.body)["gateways"] as? [[String: Any]]
            else { return -1 }
            return list.first { $0["name"] as? String == "gw-1" }?["points"] as? Int ?? 0
        }

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
}
