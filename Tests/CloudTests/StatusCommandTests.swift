import AgentHarness
import Foundation
import TestKit
import Testing

/// `alicedb status`: the real CLI against a real agent (with its uplink to a real node) and the node.
@Suite(.serialized) struct StatusCommandTests {
    /// Runs `alicedb` with `arguments`; its exit status, stdout and stderr.
    static func alicedb(_ arguments: [String]) throws -> (status: Int32, out: String, err: String) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: BuiltExecutable.path("alicedb"))
        p.arguments = arguments
        let out = Pipe()
        let err = Pipe()
        p.standardOutput = out
        p.standardError = err
        try p.run()
        let o = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        let e = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        return (p.terminationStatus, o, e)
    }

    @Test func oneScreenForTheAgentAndOneForTheNode() async throws {
        let dir = TempDirectory()
        let broker = try Broker()
        let cloud = try CloudProcess(directory: dir.path + "/cloud", config: CloudFixture.config())
        let agent = try AgentProcess(
            executable: BuiltExecutable.path("alicedb-agent"), directory: dir.path + "/agent"
        ) { data, listen in
            """
            [mqtt]
            host = "127.0.0.1"
            port = \(broker.port)
            client_id = "status-gateway"
            [storage]
            path = "\(data)"
            max_buffer_age = 0.2
            [http]
            listen = "\(listen)"
            [uplink]
            url = "\(cloud.url)"
            token = "\(CloudFixture.gatewayToken)"
            interval = 0.1
            [[subscribe]]
            topic = "plant/+/temp"
            series = "{1}.temp"
            """
        }
        try await agent.waitConnected()
        try broker.publish("plant/boiler/temp", (0..<250).map { "\(Double($0) / 4)" })
        try await waitUntil(timeout: .seconds(30), "the points on the cloud node") {
            (agent.metric("alicedb_uplink_acknowledged_points_total") ?? 0) >= 250
        }
        let address = "127.0.0.1:\(agent.httpPort)"

        let text = try Self.alicedb(["status", "--agent", address])
        #expect(text.status == 0, "\(text.err)")
        for expected in [
            "alicedb-agent 0.4.0", "127.0.0.1:\(broker.port)  connected", "taking messages", "plant/+/temp",
            "uplink         \(cloud.url)", "lag          0 segments", "acknowledged)",
        ] {
            #expect(text.out.contains(expected), "\(expected) in:\n\(text.out)")
        }

        let json = try Self.alicedb(["status", "--agent", "http://" + address, "--json"])
        #expect(json.status == 0, "\(json.err)")
        let doc = CloudFixture.json(json.out)
        #expect((doc["broker"] as? [String: Any])?["connected"] as? Bool == true)
        let subscriptions = doc["subscriptions"] as? [[String: Any]]
        #expect(subscriptions?.first?["topic"] as? String == "plant/+/temp")
        let uplink = doc["uplink"] as? [String: Any]
        #expect(uplink?["lag_segments"] as? Int == 0)
        #expect(uplink?["last_success_ms"] as? Int != nil)
        #expect((doc["storage"] as? [String: Any])?["stored_points"] as? Int == 250)

        let node = try Self.alicedb(["status", "--cloud", cloud.url, "--token", CloudFixture.readerToken])
        #expect(node.status == 0, "\(node.err)")
        #expect(node.out.contains("alicedb-cloud 0.4.0") && node.out.contains("storage   embedded"), "\(node.out)")
        #expect(node.out.contains("gw-1") && node.out.contains("250"), "\(node.out)")
        let nodeJSON = CloudFixture.json(
            try Self.alicedb(["status", "--cloud", cloud.url, "--token", CloudFixture.gatewayToken, "--json"]).out)
        let gateways = nodeJSON["gateways"] as? [[String: Any]]
        #expect(gateways?.count == 1 && gateways?.first?["points"] as? Int == 250, "\(nodeJSON)")

        try agent.terminate()
        let gone = try Self.alicedb(["status", "--agent", address])
        #expect(gone.status == 1)
        #expect(gone.err.contains("no agent answers at http://\(address)"), "\(gone.err)")
        #expect(cloud.terminate() == 0, "\(cloud.log)")
    }
}
