import Agent
import AgentHarness
import AliceDB
import Foundation
import Logging
import TestKit
import Testing

/// The agent's services shut down in reverse order: intake first (every point to the engine and
/// into segments), then the uplink (which ships them within its deadline), then the database closes.
@Suite(.serialized) struct AgentLifecycleTests {
    @Test func gracefulShutdownFlushesThenShipsThenCloses() async throws {
        let broker = try Broker()
        let dir = broker.dir.appendingPathComponent("lifecycle").path
        let cloud = try CloudProcess(directory: dir + "/cloud") { data, listen in
            """
            [server]
            listen = "\(listen)"
            [storage]
            path = "\(data)"
            [[gateway]]
            name = "gw-1"
            token = "gw1-lifecycle-token"
            [[reader]]
            name = "reader"
            token = "reader-lifecycle-token"
            """
        }
        // The uplink polls once an hour: what reaches the node was shipped by the shutdown's drain.
        let cfg = try config(
            broker, dir + "/data",
            extra: """
                [uplink]
                url = "\(cloud.url)"
                token = "gw1-lifecycle-token"
                interval = 3600
                """)
        let agent = try Agent(config: cfg, logger: Logger(label: "test"))
        let run = Task { try await agent.run() }
        try await waitUntil(timeout: .seconds(60), "the agent connected to the broker") {
            await agent.counters.connected
        }
        try broker.publish("sensors/boiler/temperature", (0..<500).map { "\(20 + Double($0) / 4)" })
        try await waitUntil("500 messages at the agent") { await agent.counters.messages >= 500 }
        await agent.stop()
        try await run.value
        // Shipped after intake flushed: all 500 points are on the node.
        let answer = try cloud.request("GET", "/v1/series?gateway=gw-1", token: "reader-lifecycle-token")
        #expect(answer.status == 200 && answer.body.contains("\"points\": 500"), "\(answer.body)")
        // The database was closed: a writer may open it, and nothing waits in the outbox.
        var options = DatabaseOptions()
        options.outbox = true
        let db = try Database(path: dir + "/data", options: options)
        #expect(try db.scan("boiler.temperature").count == 500)
        #expect(try db.uplinkLag().bytes == 0)
        try db.close()
        #expect(cloud.terminate() == 0)
    }
}
