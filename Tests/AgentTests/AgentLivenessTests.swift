import AgentHarness
import AliceDB
import Foundation
import Logging
import TestKit
import Testing

@testable import Agent

/// MQTT liveness end to end, with the agent in this process and a real mosquitto restarted on the
/// same port: a crash that loses every session, a broker that holds no subscription for a connected
/// agent, and a restart with persistence that must deliver what it held exactly once.
@Suite(.serialized) struct AgentLivenessTests {
    /// A config for `broker`: `sensors/+/temperature` → `{1}.temperature`, and a `meters/#` subscription
    /// that is never checked (a meter that reports once a day); `mqtt` lines are added to `[mqtt]`.
    static func config(_ broker: Broker, _ data: String, clientID: String, mqtt: String = "") throws -> AgentConfig {
        try AgentConfig.parse(
            """
            [mqtt]
            host = "127.0.0.1"
            port = \(broker.port)
            client_id = "\(clientID)"
            qos = 1
            reconnect_min = 0.1
            reconnect_max = 0.5
            \(mqtt)
            [storage]
            path = "\(data)"
            memory_limit = "1MiB"
            [http]
            listen = "127.0.0.1:0"
            [[subscribe]]
            topic = "sensors/+/temperature"
            series = "{1}.temperature"
            [[subscribe]]
            topic = "meters/#"
            series = "{topic}"
            stall_timeout = 0
            """, file: "liveness.toml")
    }

    /// mosquitto SIGKILLed and started again on the same port without persistence: the session the
    /// agent asked it to keep is gone. The agent counts the loss, subscribes anew on the new
    /// connection (the stall check is off here: reconnecting alone must do it), and the stream goes on.
    @Test func brokerKilledAndRestartedWithoutPersistence() async throws {
        let broker = try Broker(extraConfig: "persistence false\n" + subscribeLog)
        let data = broker.dir.appendingPathComponent("data").path
        let id = "killed-\(UUID().uuidString.prefix(6))"
        let agent = try Agent(
            config: try Self.config(broker, data, clientID: id, mqtt: "clean_session = false"),
            logger: Logger(label: "test"))
        let run = Task { try await agent.run() }
        try await waitSubscribed(broker, id, times: 2)
        try broker.publish("sensors/a/temperature", (0..<50).map { "\($0)" })
        try await waitUntil("50 messages at the agent") { await agent.counters.messages >= 50 }
        broker.kill()
        try await waitUntil("the agent to see the broker gone") { await !agent.counters.connected }
        try broker.start()
        try await waitSubscribed(broker, id, times: 4)
        try broker.publish("sensors/a/temperature", (50..<100).map { "\($0)" })
        try await waitUntil("100 messages at the agent") { await agent.counters.messages >= 100 }
        let counters = await agent.livenessCounters
        #expect(counters.sessionPresent == false && counters.sessionsLost == 1)
        #expect(counters.sessionResubscribes == 2, "both subscriptions sent again")
        #expect(counters.stallResubscribes == 0 && counters.stallReconnects == 0)
        let metrics = try await metricsText(agent)
        #expect(sample(metrics, "alicedb_mqtt_sessions_lost_total") == 1)
        #expect(sample(metrics, #"alicedb_mqtt_resubscribes_total{reason="no_session"}"#) == 2)
        #expect(sample(metrics, #"alicedb_subscription_messages_total{subscription="sensors/+/temperature"}"#) == 100)
        await agent.stop()
        try await run.value
        let db = try Database(path: data, options: DatabaseOptions(readOnly: true))
        #expect(try db.scan("a.temperature").map(\.value) == (0..<100).map(Double.init))
    }

    /// A broker that holds no subscription for an agent that stays connected: the silent state the
    /// stall check exists for.
    ///
    /// How it is made, with mosquitto's own means: the broker restarts with a new configuration that
    /// loads its dynamic-security plugin with rules that refuse every SUBSCRIBE (persistence off,
    /// so no session survives). The agent reconnects, and its SUBSCRIBEs are refused. Then the
    /// administrator relaxes the rule at run time (a `$CONTROL` message): the connection stays up,
    /// subscribing is allowed again, but the broker holds no subscription for the agent, and nothing
    /// would ever arrive again. mosquitto 2.0 offers no cleaner way to drop one subscription of a live
    /// connection: an ACL file is checked at delivery, not at SUBSCRIBE; dynamic-security kicks
    /// clients whose roles change; a second client with the same ID disconnects the first, which
    /// then subscribes afresh when it reconnects.
    ///
    /// With `stall_timeout = 1` the agent resubscribes (refused), reconnects (refused again), backs
    /// off, and once the rule allows it, its next resubscribe brings the stream back (on a slow
    /// machine perhaps only the reconnect after it).
    @Test func aSubscriptionTheBrokerNoLongerHoldsIsRenewed() async throws {
        let broker = try Broker(extraConfig: subscribeLog)
        let data = broker.dir.appendingPathComponent("data").path
        let id = "dropped-\(UUID().uuidString.prefix(6))"
        let agent = try Agent(
            config: try Self.config(broker, data, clientID: id, mqtt: "stall_timeout = 1"),
            logger: Logger(label: "test"))
        let run = Task { try await agent.run() }
        try await waitSubscribed(broker, id, times: 2)
        try broker.publish("sensors/a/temperature", (0..<20).map { "\($0)" })
        try await waitUntil("20 messages at the agent") { await agent.counters.messages >= 20 }

        broker.stop()
        try broker.reconfigure(extraConfig: subscribeLog + broker.dynamicSecurityConfig(subscribe: false))
        try broker.start()
        try await waitUntil(timeout: .seconds(30), "both SUBSCRIBEs refused") {
            await agent.livenessCounters.refusals >= 2
        }
        // Refused: the two SUBSCRIBEs of the reconnect, the stall check's resubscribe of
        // `sensors/+/temperature` (`meters/#` is never checked), and the two of its reconnect.
        try await waitUntil(timeout: .seconds(30), "the stall check to resubscribe, then reconnect") {
            await agent.livenessCounters.refusals >= 5
        }
        #expect(await agent.livenessCounters.stallReconnects >= 1)
        #expect(await agent.subscriptionStats().map(\.stalled) == [true, false])

        try broker.setDefaultSubscribeAccess(true)
        // The sensor goes on publishing; what it sends before the agent has subscribed again is
        // dropped by the broker (no subscription holds it).
        var probe = 1000
        try await waitUntil(timeout: .seconds(60), "the stream to resume", interval: .milliseconds(200)) {
            try broker.publish("sensors/a/temperature", ["\(probe)"])
            probe += 1
            return await agent.subscriptionStats()[0].messages > 20
        }
        try broker.publish("sensors/a/temperature", (2000..<2050).map { "\($0)" })
        try await waitUntil("the last reading stored") {
            try agent.database.scan("a.temperature").last?.value == 2049
        }
        try await waitUntil("the stall to end") { await agent.subscriptionStats()[0].stalled == false }

        let counters = await agent.livenessCounters
        #expect(counters.stallResubscribes >= 2 && counters.stallReconnects >= 1)
        let stats = await agent.subscriptionStats()
        #expect(stats.map(\.filter) == ["sensors/+/temperature", "meters/#"])
        #expect(stats[0].resubscribes >= 2 && stats[0].refused == false && stats[0].lastMessageAge != nil)
        #expect(stats[1].resubscribes == 0 && stats[1].stallReconnects == 0, "stall_timeout = 0: never")
        let metrics = try await metricsText(agent)
        #expect((sample(metrics, #"alicedb_mqtt_resubscribes_total{reason="stall"}"#) ?? 0) >= 2)
        #expect((sample(metrics, "alicedb_mqtt_stall_reconnects_total") ?? 0) >= 1)
        #expect((sample(metrics, "alicedb_mqtt_subscribe_refusals_total") ?? 0) >= 2)
        #expect(sample(metrics, #"alicedb_subscription_stalled{subscription="sensors/+/temperature"}"#) == 0)
        #expect(sample(metrics, #"alicedb_subscription_stalled{subscription="meters/#"}"#) == 0)
        #expect((sample(metrics, #"alicedb_subscription_last_message_age_seconds{subscription="meters/#"}"#) ?? 0) > 0)
        await agent.stop()
        try await run.value

        let values = try Database(path: data, options: DatabaseOptions(readOnly: true)).scan("a.temperature")
            .map(\.value)
        #expect(Array(values.prefix(20)) == (0..<20).map(Double.init))
        #expect(Array(values.suffix(50)) == (2000..<2050).map(Double.init))
        #expect(values == values.sorted() && Set(values).count == values.count, "in order, none twice: \(values)")
    }

    /// QoS 1 with a persistent session: what is published while the agent is away is held by the
    /// broker, through a broker restart with persistence on, and arrives exactly once when the agent
    /// comes back; the stored points are exactly the published ones.
    @Test func everyMessageTheBrokerHeldArrivesOnce() async throws {
        let broker = try Broker()
        try broker.reconfigure(
            extraConfig: subscribeLog + "persistence true\npersistence_location \(broker.dir.path)/\n")
        broker.stop()
        try broker.start()
        let data = broker.dir.appendingPathComponent("data").path
        let id = "held-\(UUID().uuidString.prefix(6))"
        let cfg = try Self.config(broker, data, clientID: id, mqtt: "clean_session = false")

        let first = try Agent(config: cfg, logger: Logger(label: "test"))
        let firstRun = Task { try await first.run() }
        try await waitSubscribed(broker, id, times: 2)
        try broker.publish("sensors/a/temperature", (0..<100).map { "\($0)" })
        try await waitUntil("100 messages at the agent") { await first.counters.messages >= 100 }
        await first.stop()
        try await firstRun.value

        // Away: the broker holds these for the session, and keeps them through its restart.
        try broker.publish("sensors/a/temperature", (100..<300).map { "\($0)" })
        broker.stop()
        try broker.start()

        let second = try Agent(config: cfg, logger: Logger(label: "test"))
        let secondRun = Task { try await second.run() }
        try await waitUntil(timeout: .seconds(30), "the 200 held messages") { await second.counters.messages >= 200 }
        try await waitSubscribed(broker, id, times: 4)
        try broker.publish("sensors/a/temperature", (300..<400).map { "\($0)" })
        try await waitUntil("300 messages at the second agent") { await second.counters.messages >= 300 }
        let counters = await second.livenessCounters
        #expect(counters.sessionPresent == true && counters.sessionsLost == 0)
        await second.stop()
        try await secondRun.value
        #expect(await second.counters.messages == 300, "no message delivered twice")
        let db = try Database(path: data, options: DatabaseOptions(readOnly: true))
        #expect(try db.scan("a.temperature").map(\.value) == (0..<400).map(Double.init))
    }
}

/// mosquitto.conf lines that make the broker log every SUBSCRIBE (`waitSubscribed`).
let subscribeLog = "log_type all\n"

/// Waits until the broker has logged `times` SUBSCRIBEs from `clientID` (over its restarts: the log
/// is appended to): what is published after that reaches the subscription.
func waitSubscribed(_ broker: Broker, _ clientID: String, times: Int) async throws {
    try await waitUntil(timeout: .seconds(30), "\(times) SUBSCRIBEs from \(clientID)") {
        broker.log.components(separatedBy: "Received SUBSCRIBE from \(clientID)\n").count > times
    }
}

/// The agent's /metrics, over HTTP.
func metricsText(_ agent: Agent) async throws -> String {
    try await waitUntil(timeout: .seconds(60), "the HTTP listener bound") { await agent.httpPort != nil }
    let port = try #require(await agent.httpPort)
    // Polled: under the parallel suites the pool (and so the agent's actor) can stall for longer
    // than one request's 5-s read timeout, and the answer is then empty.
    var text = ""
    try await waitUntil(timeout: .seconds(60), "an answer from /metrics") {
        text = (try? httpGet(port: port, path: "/metrics")) ?? ""
        return text.contains("alicedb_messages_total")
    }
    return text
}

/// The value of the sample `series` (name and labels, as exposed) in Prometheus text, or nil.
func sample(_ text: String, _ series: String) -> Double? {
    for line in text.split(separator: "\n") where line.hasPrefix(series + " ") {
        return Double(line.dropFirst(series.count + 1))
    }
    return nil
}
