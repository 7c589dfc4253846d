import AgentHarness
import AliceDB
import Foundation
import TestKit
import Testing

@testable import Agent

@Suite struct DiskBudgetConfigTests {
    func parse(_ storage: String, mqtt: String = "") throws -> AgentConfig {
        try AgentConfig.parse(
            """
            [mqtt]
            host = "127.0.0.1"
            \(mqtt)
            [storage]
            path = "/tmp/x"
            \(storage)
            [[subscribe]]
            topic = "a/#"
            """, file: "disk.toml")
    }

    @Test func walMaxBytesAndOnFull() throws {
        #expect(try parse("").walMaxBytes == AgentConfig.defaultWALMaxBytes)
        #expect(try parse("wal_max_bytes = \"8MiB\"").walMaxBytes == 8 << 20)
        #expect(try parse("retention_max_bytes = \"1GiB\"").retention?.onFull == .dropOldest)
        let paused = try parse(
            "retention_max_bytes = \"1GiB\"\non_full = \"pause\"", mqtt: "clean_session = false")
        #expect(paused.retention?.onFull == .pause)
        #expect(paused.summary.contains("on_full=pause"))
        #expect(try parse("").recompressAfter == nil)
        #expect(try parse("recompress_after = \"7d\"").recompressAfter == 604_800)
        #expect(try parse("recompress_after = \"12h\"").recompressAfter == 43_200)
        #expect(try parse("recompress_after = 90").recompressAfter == 90)
        #expect(try parse("recompress_after = \"7d\"").summary.contains("recompress_after=604800s"))
    }

    @Test func mistakesNameTheKey() {
        func message(_ storage: String, mqtt: String = "") -> String {
            do {
                _ = try parse(storage, mqtt: mqtt)
                return "accepted"
            } catch { return "\(error)" }
        }
        #expect(
            message("wal_max_bytes = \"64KiB\"").contains("disk.toml:6: storage.wal_max_bytes: must be at least 1MiB"))
        #expect(message("retention_max_bytes = \"1GiB\"\non_full = \"stop\"").contains("storage.on_full: must be"))
        #expect(message("on_full = \"pause\"").contains("set that too"))
        #expect(message("recompress_after = \"soon\"").contains("storage.recompress_after: must be a duration"))
        #expect(message("recompress_after = -3").contains("storage.recompress_after: must be a duration"))
        // A clean session would lose what the broker gets while intake is paused.
        #expect(message("retention_max_bytes = \"1GiB\"\non_full = \"pause\"").contains("clean_session = false"))
        #expect(
            message(
                "retention_max_bytes = \"1GiB\"\non_full = \"pause\"", mqtt: "clean_session = false\nprotocol = \"5\""
            )
            .contains("protocol = \"3.1.1\""))
    }
}

/// A full disk and a full disk budget against a real mosquitto (and a real alicedb-cloud for the
/// uplink): intake pauses, the broker holds the messages, intake resumes by itself, and every
/// message published ends up stored exactly once.
@Suite(.serialized) struct AgentDiskTests {
    /// A sample of `/metrics` by its full name with labels (`alicedb_intake_paused{reason="disk_full"}`).
    static func sample(_ agent: AgentProcess, _ name: String) -> Double? {
        guard agent.httpPort > 0, let text = try? httpGet(port: agent.httpPort, path: "/metrics") else { return nil }
        for line in text.split(separator: "\n") where line.hasPrefix(name + " ") {
            return Double(line.split(separator: " ").last!)
        }
        return nil
    }

    static func healthz(_ agent: AgentProcess) -> String {
        (try? httpGet(port: agent.httpPort, path: "/healthz")) ?? ""
    }

    /// `waitUntil`, with the agent's log in the error when the deadline passes.
    static func wait(
        _ agent: AgentProcess, timeout: Duration, _ what: String, interval: Duration = .milliseconds(20),
        _ condition: () throws -> Bool
    ) async throws {
        do {
            try await waitUntil(timeout: timeout, what, interval: interval, condition)
        } catch let e as WaitTimeout {
            throw HarnessError("\(e); /healthz: \(healthz(agent)); its log:\n\(agent.log)")
        }
    }

    /// Message `i`'s reading: unique, and noisy enough not to compress (several bytes a point).
    static func value(_ i: Int) -> Double { Double(i) + Double((i &* 2_654_435_761) % 1_000_003) / 1_000_003 }

    /// The readings published on series `t.s<s>`, sorted.
    static func published(_ total: Int, series: Int, _ s: Int) -> [Double] {
        stride(from: s, to: total, by: series).map(value).sorted()
    }

    /// Publishes messages `first..<first+count` round-robin over topics `t/s0`…; waits for the
    /// broker's acknowledgements.
    static func publish(_ broker: Broker, _ first: Int, _ count: Int, series: Int) throws {
        let load = try LoadPublisher(port: broker.port)
        for i in first..<(first + count) { try load.publish("t/s\(i % series)", Array("\(value(i))".utf8), qos: 1) }
        try load.drain()
    }

    /// Every reading published, once, in series `t.s0`…
    static func expectEachOnce(_ db: Database, total: Int, series: Int) throws {
        for s in 0..<series {
            expectEachOnce(try db.scan("t.s\(s)").map(\.value), published(total, series: series, s), "t.s\(s)")
        }
    }

    /// `got` holds each of `want` once: says how many are missing, doubled or foreign if not.
    static func expectEachOnce(_ got: [Double], _ want: [Double], _ what: String) {
        var count: [Double: Int] = [:]
        for v in got { count[v, default: 0] += 1 }
        let wanted = Set(want)
        let missing = want.filter { count[$0] == nil }
        let doubled = count.filter { $0.value > 1 }.keys.sorted()
        let foreign = count.keys.filter { !wanted.contains($0) }.sorted()
        #expect(
            missing.isEmpty && doubled.isEmpty && foreign.isEmpty,
            "\(what): \(got.count) stored of \(want.count); missing \(missing.count) \(missing.prefix(5)), doubled \(doubled.count) \(doubled.prefix(5)), foreign \(foreign.prefix(5))"
        )
    }

    static func config(_ broker: Broker, clientID: String, data: String, storage: String = "", extra: String = "")
        -> (String, String) -> String
    {
        { _, listen in
            """
            [mqtt]
            host = "127.0.0.1"
            port = \(broker.port)
            client_id = "\(clientID)"
            clean_session = false
            qos = 1
            [storage]
            path = "\(data)"
            memory_limit = "256KiB"
            \(storage)
            [http]
            listen = "\(listen)"
            [[subscribe]]
            topic = "t/+"
            series = "t.{1}"
            \(extra)
            """
        }
    }

    @Test func fullDiskPausesIntakeAndLosesNothing() async throws {
        let fs: SmallFilesystem
        switch SmallFilesystem.mount(bytes: 4 << 20) {
        case .success(let mounted): fs = mounted
        case .failure(let refused): try Test.cancel("skipped: \(refused)")
        }
        let broker = try Broker()
        let dir = TempDirectory()
        let data = fs.path + "/data"
        let agent = try AgentProcess(
            executable: AgentBinary.path, directory: dir.path + "/agent",
            config: Self.config(broker, clientID: "full-disk-gw", data: data))
        try await agent.waitConnected()
        let series = 10
        try Self.publish(broker, 0, 500, series: series)
        try await agent.waitMessages(500)
        // The disk fills up under the running agent; messages keep coming.
        fs.fill()
        try Self.publish(broker, 500, 3000, series: series)
        try await Self.wait(agent, timeout: .seconds(20), "the agent to report the full disk") {
            Self.sample(agent, "alicedb_disk_full") == 1
                && Self.sample(agent, "alicedb_intake_paused{reason=\"disk_full\"}") == 1
        }
        let health = Self.healthz(agent)
        #expect(health.hasPrefix("HTTP/1.1 503") && health.contains("paused: disk full"), "\(health)")
        // Paused: what is published now waits at the broker.
        try Self.publish(broker, 3500, 2000, series: series)
        #expect((agent.metric("alicedb_messages_total") ?? 0) < 5500)
        // Room again: the agent writes what waited in memory and takes the broker's queue.
        fs.free()
        try await Self.wait(agent, timeout: .seconds(30), "the agent to resume") {
            Self.sample(agent, "alicedb_disk_full") == 0
                && Self.sample(agent, "alicedb_intake_paused{reason=\"disk_full\"}") == 0
        }
        try await agent.waitMessages(5500, timeout: .seconds(30))
        #expect(Self.healthz(agent).hasPrefix("HTTP/1.1 200"))
        #expect(agent.metric("alicedb_messages_total") == 5500)
        try agent.terminate()
        let db = try Database(path: data, options: DatabaseOptions(readOnly: true))
        try Self.expectEachOnce(db, total: 5500, series: series)
        #expect(try db.verify().ok)
        #expect(agent.log.contains("the disk is full"))
        #expect(agent.log.contains("the disk has room again"))
    }

    @Test func budgetPausesIntakeUntilTheUplinkFreesRoom() async throws {
        let broker = try Broker()
        let dir = TempDirectory()
        let token = "gw-budget-token"
        let cloud = try CloudProcess(directory: dir.path + "/cloud") { data, listen in
            """
            [server]
            listen = "\(listen)"
            [storage]
            path = "\(data)"
            [[gateway]]
            name = "gw-1"
            token = "\(token)"
            [[reader]]
            name = "reader"
            token = "reader-budget-token"
            """
        }
        // The cloud node is down at first: nothing can be shipped.
        #expect(cloud.terminate() == 0)
        let data = dir.path + "/agent/data"
        let agent = try AgentProcess(
            executable: AgentBinary.path, directory: dir.path + "/agent",
            config: Self.config(
                broker, clientID: "budget-gw", data: data,
                storage: "retention_max_bytes = \"48KiB\"\non_full = \"pause\"\nmax_buffer_age = 0.3",
                extra: """
                    [uplink]
                    url = "\(cloud.url)"
                    token = "\(token)"
                    interval = 0.2
                    retry_min = 0.2
                    retry_max = 0.5
                    """))
        try await agent.waitConnected()
        let series = 10
        // Readings that do not compress (~8 bytes a point): the 48 KiB budget fills.
        var published = 0
        try await Self.wait(
            agent, timeout: .seconds(60), "the disk budget to pause intake", interval: .milliseconds(200)
        ) {
            if Self.sample(agent, "alicedb_intake_paused{reason=\"disk_budget\"}") == 1 { return true }
            try Self.publish(broker, published, 1000, series: series)
            published += 1000
            return false
        }
        let health = Self.healthz(agent)
        #expect(
            health.hasPrefix("HTTP/1.1 503") && health.contains("paused: disk budget full (")
                && health.contains("of 49152 bytes)"), "\(health)")
        // Paused: more waits at the broker; nothing unshipped was deleted.
        try Self.publish(broker, published, 2000, series: series)
        published += 2000
        #expect((agent.metric("alicedb_messages_total") ?? 0) < published)
        #expect(agent.metric("alicedb_retention_unshipped_deleted_segments_total") == 0)
        // The cloud node comes back: what it acknowledges may go, and intake resumes.
        try cloud.start()
        try await agent.waitMessages(published, timeout: .seconds(60))
        try await Self.wait(agent, timeout: .seconds(30), "intake running again") {
            Self.sample(agent, "alicedb_intake_paused{reason=\"disk_budget\"}") == 0
        }
        #expect((agent.metric("alicedb_retention_deleted_points_total") ?? 0) > 0)
        #expect(agent.metric("alicedb_retention_unshipped_deleted_segments_total") == 0)
        try agent.terminate()  // flushes; the uplink ships the rest before it exits
        // Every message is on the cloud node exactly once.
        for s in 0..<series {
            let csv = try cloud.request(
                "GET", "/v1/scan?gateway=gw-1&series=t.s\(s)&format=csv&limit=100000", token: "reader-budget-token"
            ).body
            let got = csv.split(separator: "\n").dropFirst().compactMap { Double($0.split(separator: ",")[1]) }
            Self.expectEachOnce(got, Self.published(published, series: series, s), "t.s\(s) on the node")
        }
        #expect(cloud.terminate() == 0)
    }
}
