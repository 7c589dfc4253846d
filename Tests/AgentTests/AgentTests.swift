import AgentHarness
import AliceDB
import Foundation
import Logging
import MQTT
import Synchronization
import TOMLConfig
import TestKit
import Testing

@testable import Agent

func config(_ broker: Broker, _ data: String, extra: String = "") throws -> AgentConfig {
    try AgentConfig.parse(
        """
        [mqtt]
        host = "127.0.0.1"
        port = \(broker.port)
        client_id = "test-\(UUID().uuidString.prefix(8))"
        qos = 1

        [storage]
        path = "\(data)"
        memory_limit = "1MiB"

        [http]
        listen = ""

        [[subscribe]]
        topic = "sensors/+/temperature"
        series = "{1}.temperature"
        format = "number"

        [[subscribe]]
        topic = "plant/+/telemetry"
        format = "json"
        fields = { "{1}.power" = "power", "{1}.volts" = "electrical.voltage" }
        timestamp = "ts"
        max_error = 0.5
        profile = "fast"
        \(extra)
        """, file: "test.toml")
}

@Suite(.serialized) struct AgentIngestTests {
    @Test func wildcardsJSONFieldsTimestampsAndBadPayloads() async throws {
        let broker = try Broker()
        let data = broker.dir.appendingPathComponent("data").path
        let agent = try Agent(config: try config(broker, data), logger: Logger(label: "test"))
        let run = Task { try await agent.run() }
        try await waitUntil(timeout: .seconds(60), "the agent connected to the broker") {
            await agent.counters.connected
        }
        try broker.publish("sensors/kitchen/temperature", (0..<200).map { "\(20 + Double($0) / 8)" })
        try broker.publish("sensors/cellar/temperature", ["11.5", "abc", "NaN", ""])
        try broker.publish(
            "plant/p7/telemetry",
            (0..<50).map {
                #"{"ts": \#(1_700_000_000_000 + $0 * 1000), "power": \#($0), "electrical": {"voltage": 230.5}}"#
            })
        try broker.publish(
            "plant/p7/telemetry", [#"{"ts": "2024-05-01T12:00:00.250Z", "power": 1}"#, "{not json", #"{"ts": 5}"#])
        try await waitUntil("257 messages at the agent") { await agent.counters.messages >= 257 }
        await agent.stop()
        try await run.value
        let c = await agent.counters
        #expect(c.badPayloads["sensors/+/temperature"] == 3)
        #expect(c.badPayloads["plant/+/telemetry"] == 2)
        let db = try Database(path: data, options: DatabaseOptions(readOnly: true))
        let kitchen = try db.scan("kitchen.temperature")
        #expect(kitchen.map(\.value) == (0..<200).map { 20 + Double($0) / 8 })
        #expect(try db.scan("cellar.temperature").map(\.value) == [11.5])
        let power = try db.scan("p7.power")
        #expect(power.count == 51)
        #expect(power.first?.timestamp == 1_700_000_000_000)
        #expect(power.last?.timestamp == 1_714_564_800_250)  // the RFC 3339 one
        #expect(try db.scan("p7.volts").count == 50)
        #expect(db.series(named: "p7.volts")?.options.bound == ErrorBound(absolute: 0.5))
        // The subscription's profile reaches the series and its segments; the other stays compact.
        #expect(db.series(named: "p7.volts")?.options.profile == .fast)
        #expect(db.series(named: "kitchen.temperature")?.options.profile == nil)
        #expect(try !db.inspect("p7.power").isEmpty && db.inspect("p7.power").allSatisfy { $0.profile == .fast })
        #expect(try db.inspect("kitchen.temperature").allSatisfy { $0.profile == .compact })
        #expect(try db.verify().ok)
    }

    @Test func brokerRestartMidStreamLosesNothingAccepted() async throws {
        let broker = try Broker()
        let data = broker.dir.appendingPathComponent("data").path
        var cfg = try config(broker, data)
        cfg.mqtt.reconnectMin = 0.1
        cfg.mqtt.reconnectMax = 1
        let agent = try Agent(config: cfg, logger: Logger(label: "test"))
        let run = Task { try await agent.run() }
        try await waitUntil(timeout: .seconds(60), "the agent connected to the broker") {
            await agent.counters.connected
        }
        try broker.publish("sensors/a/temperature", (0..<100).map { "\($0)" })
        try await waitUntil("100 messages at the agent") { await agent.counters.messages >= 100 }
        broker.stop()
        try await waitUntil("the agent to see the broker gone") { await !agent.counters.connected }
        try broker.start()
        try await waitUntil(timeout: .seconds(15), "the agent connected to the broker") {
            await agent.counters.connected
        }
        try broker.publish("sensors/a/temperature", (100..<200).map { "\($0)" })
        try await waitUntil("200 messages at the agent") { await agent.counters.messages >= 200 }
        await agent.stop()
        try await run.value
        let db = try Database(path: data, options: DatabaseOptions(readOnly: true))
        #expect(try db.scan("a.temperature").map(\.value) == (0..<200).map(Double.init))
        #expect(await agent.counters.reconnects >= 1)
    }
}

@Suite struct AgentConfigTests {
    @Test func mistakesNameFileLineAndKey() {
        let text = """
            [mqtt]
            host = "127.0.0.1"
            qos = 7

            [[subscribe]]
            topic = "a/#"
            """
        do {
            _ = try AgentConfig.parse(text, file: "gw.toml")
            Issue.record("accepted qos = 7")
        } catch {
            #expect(error.description == "gw.toml:3: mqtt.qos: must be in 0...2, not 7")
        }
        let typo = """
            [mqtt]
            host = "h"
            [[subscribe]]
            topic = "a/+"
            format = "number"
            [[subscribe]]
            topic = "b/+"
            fromat = "json"
            """
        do {
            _ = try AgentConfig.parse(typo, file: "gw.toml")
            Issue.record("accepted a typo")
        } catch {
            #expect(error.description.hasPrefix("gw.toml:8: subscribe[1].fromat: unknown key"))
        }
        for (uplink, expected) in [
            (
                "url = \"ftp://x\"\ntoken = \"t\"",
                "gw.toml:4: uplink.url: is required: the cloud node's http:// or https:// address"
            ),
            ("url = \"http://cloud:8470\"", "gw.toml:3: uplink.token: is required (or token_file)"),
            (
                "url = \"http://c:1\"\ntoken = \"t\"\nbatch_bytes = \"1KiB\"",
                "gw.toml:6: uplink.batch_bytes: must be at least 4KiB"
            ),
            (
                "url = \"http://c:1\"\ntoken = \"t\"\nretry_min = 9\nretry_max = 2",
                "gw.toml:6: uplink.retry_min: must not exceed retry_max"
            ),
            (
                "url = \"https://c:1\"\ntoken = \"t\"\ncert_file = \"/x.pem\"",
                "gw.toml:6: uplink.cert_file: cert_file and key_file go together"
            ),
        ] {
            do {
                _ = try AgentConfig.parse("[[subscribe]]\ntopic = \"a/+\"\n[uplink]\n" + uplink, file: "gw.toml")
                Issue.record("accepted [uplink] \(uplink)")
            } catch {
                #expect(error.description == expected)
            }
        }
        let shipping = try? AgentConfig.parse(
            "[[subscribe]]\ntopic = \"a/+\"\n[uplink]\nurl = \"http://c:8470/\"\ntoken = \"t0k\"\nmax_bandwidth = \"64KiB\"",
            file: "gw.toml")
        #expect(shipping?.uplink?.segmentsURL == "http://c:8470/v1/segments")
        #expect(shipping?.uplink?.maxBandwidth == 65536)
        // Fresh data upstream: with [uplink] a point waits at most a minute unless the file says otherwise.
        #expect(shipping?.maxBufferAge == AgentConfig.uplinkMaxBufferAge)
        #expect((try? AgentConfig.parse("[[subscribe]]\ntopic = \"a/+\"", file: "gw.toml"))?.maxBufferAge == 600)
        let chosen = try? AgentConfig.parse(
            "[[subscribe]]\ntopic = \"a/+\"\n[storage]\nmax_buffer_age = 900\n[uplink]\nurl = \"http://c:1\"\ntoken = \"t\"",
            file: "gw.toml")
        #expect(chosen?.maxBufferAge == 900)
        do {
            _ = try AgentConfig.parse("[[subscribe]]\ntopic = \"a/+/b\"\nseries = \"{4}.x\"", file: "gw.toml")
            Issue.record("accepted a level the topic does not have")
        } catch {
            #expect(error.description.hasPrefix("gw.toml:3: subscribe[0].series:"))
        }
        // The coding profile: compact unless a subscription asks for fast; nothing else is taken.
        let profiles = try? AgentConfig.parse(
            "[[subscribe]]\ntopic = \"a/+\"\n[[subscribe]]\ntopic = \"b/+\"\nprofile = \"fast\"", file: "gw.toml")
        #expect(profiles?.subscriptions.map(\.profile) == [.compact, .fast])
        #expect(profiles?.subscriptions[1].seriesOptions.profile == .fast)
        #expect(profiles?.subscriptions[0].seriesOptions.profile == nil)  // the catalog keeps no name for it
        do {
            _ = try AgentConfig.parse("[[subscribe]]\ntopic = \"a/+\"\nprofile = \"quick\"", file: "gw.toml")
            Issue.record("accepted profile = quick")
        } catch {
            #expect(
                error.description == "gw.toml:3: subscribe[0].profile: must be \"compact\" or \"fast\", not \"quick\"")
        }
    }

    /// `time_tolerance`: milliseconds per subscription (default 0, exact), reaching the series'
    /// options; anything but an integer in 0...2^32 − 1 names its file, line and key.
    @Test func timeTolerancePerSubscription() throws {
        let c = try AgentConfig.parse(
            "[[subscribe]]\ntopic = \"a/+\"\n[[subscribe]]\ntopic = \"b/+\"\ntime_tolerance = 25", file: "gw.toml")
        #expect(c.subscriptions.map(\.timeTolerance) == [0, 25])
        #expect(c.subscriptions[0].seriesOptions.timeTolerance == nil)
        #expect(c.subscriptions[1].seriesOptions.timeTolerance == 25)
        #expect(c.subscriptions[0] != c.subscriptions[1] && c.summary.contains("time_tolerance=25ms"))
        for (value, expected) in [
            ("-1", "gw.toml:3: subscribe[0].time_tolerance: must be in 0...4294967295, not -1"),
            ("2.5", "gw.toml:3: subscribe[0].time_tolerance: must be an integer"),
            ("\"25ms\"", "gw.toml:3: subscribe[0].time_tolerance: must be an integer"),
            ("4294967296", "gw.toml:3: subscribe[0].time_tolerance: must be in 0...4294967295, not 4294967296"),
        ] {
            do {
                _ = try AgentConfig.parse("[[subscribe]]\ntopic = \"a/+\"\ntime_tolerance = \(value)", file: "gw.toml")
                Issue.record("accepted time_tolerance = \(value)")
            } catch {
                #expect(error.description == expected)
            }
        }
    }

    /// `[http] query = true` needs a reader token; the gateway's name defaults to the host's.
    @Test func readAPISettings() throws {
        let base = "[[subscribe]]\ntopic = \"a/+\"\n[http]\n"
        for (http, expected) in [
            (
                "listen = \"127.0.0.1:9464\"\nquery = true",
                "gw.toml:5: http.query: needs reader_token or reader_token_file: the token a client sends as Authorization: Bearer TOKEN"
            ),
            (
                "listen = \"\"\nquery = true\nreader_token = \"0123456789\"",
                "gw.toml:5: http.query: needs the listener, but listen is \"\" (off)"
            ),
            ("query = true\nreader_token = \"short\"", "gw.toml:5: http.reader_token: must be at least 8 characters"),
            (
                "query = true\nreader_token = \"with space\"",
                "gw.toml:5: http.reader_token: must be printable ASCII without spaces (it travels in a header)"
            ),
            (
                "query = true\nreader_token = \"0123456789\"\ngateway = \"a/b\"",
                "gw.toml:6: http.gateway: must be 1–64 letters, digits, '.', '_' or '-', as on the cloud node"
            ),
            (
                "query = true\nreader_token_file = \"/nonexistent/token\"",
                "gw.toml:5: http.reader_token_file: /nonexistent/token"
            ),
            ("query = \"yes\"", "gw.toml:4: http.query: must be true or false"),
        ] {
            do {
                _ = try AgentConfig.parse(base + http, file: "gw.toml")
                Issue.record("accepted [http] \(http)")
            } catch {
                #expect(error.description.hasPrefix(expected), "\(http)")
            }
        }
        let on = try AgentConfig.parse(
            base + "query = true\nreader_token = \"0123456789\"\ngateway = \"gw-7\"\nmax_scan_points = 5000",
            file: "gw.toml")
        var wanted = QueryOptions(readerToken: "0123456789", gateway: "gw-7")
        wanted.maxScanPoints = 5000
        #expect(on.query == wanted)
        let host = try AgentConfig.parse(base + "query = true\nreader_token = \"0123456789\"", file: "gw.toml")
        #expect(host.query?.gateway == QueryOptions.hostName())
        #expect(host.query?.maxScanPoints == 25_000)
        #expect(try AgentConfig.parse(base + "reader_token = \"0123456789\"", file: "gw.toml").query == nil)
    }

    @Test func topicMatchingAndTemplates() {
        #expect(TopicFilter.matches("sensors/+/temperature", "sensors/k/temperature"))
        #expect(!TopicFilter.matches("sensors/+/temperature", "sensors/k/humidity"))
        #expect(TopicFilter.matches("a/#", "a/b/c"))
        #expect(TopicFilter.matches("a/#", "a"))
        #expect(TopicFilter.expand("{1}.t", topic: "s/kitchen/t") == "kitchen.t")
        #expect(TopicFilter.expand("{topic}", topic: "s/kitchen/t") == "s.kitchen.t")
        #expect(TopicFilter.validate("a/#/b") != nil)
        #expect(RFC3339.millis("1970-01-01T00:00:01.5Z") == 1500)
        #expect(RFC3339.millis("2024-05-01T14:00:00+02:00") == 1_714_564_800_000)
    }
}

@Suite struct AgentHTTPTests {
    /// `[http] listen` on port 0: the system picks the port; the agent keeps it and reports it.
    @Test func portZeroBindsAFreePortAndReportsIt() async throws {
        let broker = try Broker()
        var cfg = try config(broker, broker.dir.appendingPathComponent("data").path)
        cfg.http = ("127.0.0.1", 0)
        let agent = try Agent(config: cfg, logger: Logger(label: "test") { _ in SwiftLogNoOpLogHandler() })
        let reported = ReportedPort()
        let run = Task { try await agent.run(onListening: { reported.port.store($0, ordering: .releasing) }) }
        // 60 s: the suites that run beside this one (child processes, PostgreSQL, Prometheus) can
        // hold the concurrency pool, which starts the agent's services, for many seconds.
        try await waitUntil(timeout: .seconds(60), "the HTTP listener bound") { await agent.httpPort != nil }
        let port = try #require(await agent.httpPort)
        #expect(port > 0)
        try await waitUntil("the port reported") { reported.port.load(ordering: .acquiring) == port }
        try await waitUntil("the agent connected to the broker") { await agent.counters.connected }
        // Polled: parallel suites can keep the concurrency pool (and so the agent's actor) busy
        // longer than one request's 5-s read timeout.
        try await waitUntil(timeout: .seconds(60), "/healthz 200 on the reported port") {
            (try? httpGet(port: port, path: "/healthz"))?.hasPrefix("HTTP/1.1 200") == true
        }
        await agent.stop()
        try await run.value
    }
}

/// One request, tried again for up to a minute while it gets no answer: parallel suites can keep the
/// concurrency pool (which answers the listener's requests) busy longer than a request's 5-s timeout.
/// The blocking request runs on a thread of its own, not on the pool the agent needs to answer it.
func answer(
    port: Int, _ method: String, _ path: String, token: String?, body: [UInt8] = [], headers: [String] = []
) async throws -> (status: Int, body: String) {
    var result: (status: Int, body: String)?
    try await waitUntil(timeout: .seconds(60), "an answer to \(method) \(path)") {
        result = await withCheckedContinuation { done in
            Thread {
                done.resume(
                    returning: try? httpRequest(port: port, method, path, token: token, body: body, headers: headers))
            }
            .start()
        }
        return result != nil
    }
    return result!
}

/// The port `onListening` was called with (0 before).
final class ReportedPort: Sendable {
    let port = Atomic<Int>(0)
}
