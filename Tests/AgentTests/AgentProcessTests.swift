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
        let dir = TempDirectory()
        let agent = try AgentProcess(executable: AgentBinary.path, directory: dir.path + "/agent") { data, listen in
            """
            [mqtt]
            host = "127.0.0.1"
            port = \(broker.port)
            client_id = "sigterm-test"
            [storage]
            path = "\(data)"
            [http]
            listen = "\(listen)"
            [[subscribe]]
            topic = "sensors/+/temperature"
            series = "{1}.temperature"
            """
        }
        #expect(try spawnAndWait([AgentBinary.path, "--config", agent.configPath, "--check"]) == 0)
        try await agent.waitConnected()
        try broker.publish("sensors/hall/temperature", (0..<500).map { "\(Double($0) / 4)" })
        try await agent.waitMessages(500)
        let health = try httpGet(port: agent.httpPort, path: "/healthz")
        #expect(health.hasPrefix("HTTP/1.1 200"))
        let metrics = try httpGet(port: agent.httpPort, path: "/metrics")
        #expect(metrics.contains("alicedb_messages_total 500"))
        #expect(metrics.contains("alicedb_broker_connected 1"))
        #expect(metrics.contains("alicedb_bad_payloads_total{subscription=\"sensors/+/temperature\"} 0"))
        #expect(metrics.contains("# TYPE alicedb_resident_memory_bytes gauge"))
        // One allocator arena: each extra one kept its own copy of freed MemTable memory (+5 MiB).
        #expect(metrics.contains("alicedb_malloc_arenas 1\n"))
        let seconds = try agent.terminate()  // throws unless it exited with code 0
        #expect(seconds < 5)
        let db = try Database(path: agent.data, options: DatabaseOptions(readOnly: true))
        let stats = try db.stats()
        #expect(stats.bufferedPoints == 0)  // everything went to segments, the WAL is empty
        #expect(stats.walBytes == 0)
        #expect(try db.scan("hall.temperature").map(\.value) == (0..<500).map { Double($0) / 4 })
    }

    /// SIGHUP: a new subscription takes effect, buffered points are kept.
    @Test func sighupReloadsSubscriptionsWithoutLosingPoints() async throws {
        let broker = try Broker()
        let dir = TempDirectory()
        func config(_ extra: String) -> (String, String) -> String {
            { data, listen in
                """
                [mqtt]
                host = "127.0.0.1"
                port = \(broker.port)
                client_id = "sighup-test"
                [storage]
                path = "\(data)"
                [http]
                listen = "\(listen)"
                [[subscribe]]
                topic = "a/+"
                series = "a.{1}"
                \(extra)
                """
            }
        }
        let agent = try AgentProcess(
            executable: AgentBinary.path, directory: dir.path + "/agent", logLevel: "info", config: config(""))
        try await agent.waitConnected()
        try broker.publish("a/x", ["1", "2", "3"])
        try broker.publish("b/y", ["10"])  // not subscribed yet
        try await agent.waitMessages(3)
        try config("[[subscribe]]\ntopic = \"b/+\"\nseries = \"b.{1}\"")(agent.data, "127.0.0.1:0").write(
            toFile: agent.configPath, atomically: true, encoding: .utf8)
        kill(agent.pid, SIGHUP)
        // The reload starts a session with the new subscriptions: it subscribes, then says it connected.
        try await waitUntil("the session with the new subscriptions connected") {
            agent.log.components(separatedBy: "connected to the broker").count - 1 >= 2
        }
        try broker.publish("b/y", ["20", "30"])
        try broker.publish("a/x", ["4"])
        try await agent.waitMessages(6)
        try agent.terminate()
        let db = try Database(path: agent.data, options: DatabaseOptions(readOnly: true))
        #expect(try db.scan("a.x").map(\.value) == [1, 2, 3, 4])
        #expect(try db.scan("b.y").map(\.value) == [20, 30])
    }

    /// SIGHUP with a new `reader_token`: the old one is refused (401), the new one accepted. A
    /// changed `max_scan_points` takes a restart, and the log says so; the token still applies.
    /// With `reader_token_file`, SIGHUP reads the file again.
    @Test func sighupChangesTheReaderToken() async throws {
        let broker = try Broker()
        let dir = TempDirectory()
        let tokenFile = dir.path + "/reader-token"
        func config(token: String, maxScan: Int, file: Bool = false) -> (String, String) -> String {
            { data, listen in
                """
                [mqtt]
                host = "127.0.0.1"
                port = \(broker.port)
                client_id = "sighup-token-test"
                [storage]
                path = "\(data)"
                [http]
                listen = "\(listen)"
                query = true
                \(file ? "reader_token_file = \"\(tokenFile)\"" : "reader_token = \"\(token)\"")
                gateway = "gw-1"
                max_scan_points = \(maxScan)
                [[subscribe]]
                topic = "a/+"
                """
            }
        }
        let agent = try AgentProcess(
            executable: AgentBinary.path, directory: dir.path + "/agent",
            config: config(token: "first-token-0123", maxScan: 1000))
        try await waitUntil(timeout: .seconds(60), "the agent listening") { agent.httpPort > 0 }
        let status = { (token: String) in
            try httpRequest(port: agent.httpPort, "GET", "/v1/series", token: token).status
        }
        #expect(try status("first-token-0123") == 200)
        #expect(try status("second-token-0123") == 401)
        // The listener's port stays; the file says port 0, which a reload does not rebind.
        func reload(token: String, maxScan: Int, file: Bool = false) throws {
            if file { try token.write(toFile: tokenFile, atomically: true, encoding: .utf8) }
            try config(token: token, maxScan: maxScan, file: file)(agent.data, "127.0.0.1:0").write(
                toFile: agent.configPath, atomically: true, encoding: .utf8)
            kill(agent.pid, SIGHUP)
        }
        try reload(token: "second-token-0123", maxScan: 1000)
        try await waitUntil(timeout: .seconds(60), "the new token accepted") { try status("second-token-0123") == 200 }
        #expect(try status("first-token-0123") == 401)
        #expect(!agent.log.contains("takes a restart"))
        try reload(token: "third-token-0123", maxScan: 10)
        try await waitUntil(timeout: .seconds(60), "the third token accepted") { try status("third-token-0123") == 200 }
        #expect(try status("second-token-0123") == 401)
        try await waitUntil(timeout: .seconds(60), "the log to say max_scan_points takes a restart") {
            agent.log.contains("[http] gateway or max_scan_points changed: that takes a restart")
        }
        try reload(token: "fourth-token-0123", maxScan: 10, file: true)
        try await waitUntil(timeout: .seconds(60), "the file's token accepted") {
            try status("fourth-token-0123") == 200
        }
        #expect(try status("third-token-0123") == 401)
        try reload(token: "fifth-token-0123", maxScan: 10, file: true)  // the same config, a new file
        try await waitUntil(timeout: .seconds(60), "the file's new token accepted") {
            try status("fifth-token-0123") == 200
        }
        #expect(try status("fourth-token-0123") == 401)
        try agent.terminate()
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
