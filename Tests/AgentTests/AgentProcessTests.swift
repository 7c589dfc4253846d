import AgentHarness
import AliceDB
import Foundation
import TestKit
import Testing

/// The real `alicedb-agent` executable.
enum AgentBinary {
    static let path = BuiltExecutable.path("alicedb-agent")
}

@Suite(.serialized) struct AgentProcessTests {
    /// SIGTERM: stop intake, flush every MemTable to segments, exit 0 within 5 s.
    @Test func sigtermFlushesAndExitsCleanly() async throws {
        let broker = try Broker()
        let data = broker.dir.appendingPathComponent("data").path
        let configPath = broker.dir.appendingPathComponent("agent.toml").path
        let httpPort = Broker.freePort()
        try """
        [mqtt]
        host = "127.0.0.1"
        port = \(broker.port)
        client_id = "sigterm-test"
        [storage]
        path = "\(data)"
        [http]
        listen = "127.0.0.1:\(httpPort)"
        [[subscribe]]
        topic = "sensors/+/temperature"
        series = "{1}.temperature"
        """.write(toFile: configPath, atomically: true, encoding: .utf8)
        let check = try spawnAndWait([AgentBinary.path, "--config", configPath, "--check"])
        #expect(check == 0)
        let pid = try spawn([AgentBinary.path, "--config", configPath])
        try await Task.sleep(for: .milliseconds(800))
        try broker.publish("sensors/hall/temperature", (0..<500).map { "\(Double($0) / 4)" })
        try await Task.sleep(for: .milliseconds(500))
        let health = try httpGet(port: httpPort, path: "/healthz")
        #expect(health.hasPrefix("HTTP/1.1 200"))
        let metrics = try httpGet(port: httpPort, path: "/metrics")
        #expect(metrics.contains("alicedb_messages_total 500"))
        #expect(metrics.contains("alicedb_broker_connected 1"))
        #expect(metrics.contains("alicedb_bad_payloads_total{subscription=\"sensors/+/temperature\"} 0"))
        #expect(metrics.contains("# TYPE alicedb_resident_memory_bytes gauge"))
        // One allocator arena: each extra one kept its own copy of freed MemTable memory (+5 MiB).
        #expect(metrics.contains("alicedb_malloc_arenas 1\n"))
        let start = Date()
        kill(pid, SIGTERM)
        let status = waitForExit(pid)
        #expect(Date().timeIntervalSince(start) < 5)
        #expect(status == 0)  // exited normally with code 0
        let db = try Database(path: data, options: DatabaseOptions(readOnly: true))
        let stats = try db.stats()
        #expect(stats.bufferedPoints == 0)  // everything went to segments, the WAL is empty
        #expect(stats.walBytes == 0)
        #expect(try db.scan("hall.temperature").map(\.value) == (0..<500).map { Double($0) / 4 })
    }

    /// SIGHUP: a new subscription takes effect, buffered points are kept.
    @Test func sighupReloadsSubscriptionsWithoutLosingPoints() async throws {
        let broker = try Broker()
        let data = broker.dir.appendingPathComponent("data").path
        let configPath = broker.dir.appendingPathComponent("agent.toml").path
        func write(_ extra: String) throws {
            try """
            [mqtt]
            host = "127.0.0.1"
            port = \(broker.port)
            client_id = "sighup-test"
            [storage]
            path = "\(data)"
            [[subscribe]]
            topic = "a/+"
            series = "a.{1}"
            \(extra)
            """.write(toFile: configPath, atomically: true, encoding: .utf8)
        }
        try write("")
        let pid = try spawn([AgentBinary.path, "--config", configPath])
        try await Task.sleep(for: .milliseconds(800))
        try broker.publish("a/x", ["1", "2", "3"])
        try broker.publish("b/y", ["10"])  // not subscribed yet
        try await Task.sleep(for: .milliseconds(300))
        try write("[[subscribe]]\ntopic = \"b/+\"\nseries = \"b.{1}\"")
        kill(pid, SIGHUP)
        try await Task.sleep(for: .milliseconds(800))
        try broker.publish("b/y", ["20", "30"])
        try broker.publish("a/x", ["4"])
        try await Task.sleep(for: .milliseconds(300))
        kill(pid, SIGTERM)
        let status = waitForExit(pid)
        #expect(status == 0)
        let db = try Database(path: data, options: DatabaseOptions(readOnly: true))
        #expect(try db.scan("a.x").map(\.value) == [1, 2, 3, 4])
        #expect(try db.scan("b.y").map(\.value) == [20, 30])
    }

    @Test func badConfigExitsWithTheLine() throws {
        let dir = TempDirectory()
        let path = dir.path + "/bad.toml"
        try "[mqtt]\nport = 99999\n[[subscribe]]\ntopic = \"a/#\"\n".write(
            toFile: path, atomically: true, encoding: .utf8)
        let p = Process()
        p.executableURL = URL(fileURLWithPath: AgentBinary.path)
        p.arguments = ["--config", path, "--check"]
        let err = Pipe()
        p.standardError = err
        try p.run()
        let text = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        #expect(p.terminationStatus == 2)
        #expect(text.contains("bad.toml:2: mqtt.port: must be in 1...65535"))
    }
}
