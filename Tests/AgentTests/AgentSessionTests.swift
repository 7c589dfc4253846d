import AgentHarness
import AliceDB
import Foundation
import TestKit
import Testing

/// The agent process against a real mosquitto: TLS, MQTT 5 with a status topic and last will,
/// persistent sessions, the memory limit under a burst, and systemd's readiness protocol.
@Suite(.serialized) struct AgentSessionTests {
    /// A config for `broker` with `mqtt` lines added and one `number` subscription on `t/+`.
    static func config(
        _ broker: Broker, clientID: String = "session-test-\(UUID().uuidString.prefix(6))", mqtt: String = "",
        storage: String = ""
    ) -> (String, String) -> String {
        { data, listen in
            """
            [mqtt]
            host = "127.0.0.1"
            port = \(broker.port)
            client_id = "\(clientID)"
            \(mqtt)
            [storage]
            path = "\(data)"
            \(storage)
            [http]
            listen = "\(listen)"
            [[subscribe]]
            topic = "t/+"
            series = "t.{1}"
            """
        }
    }

    @Test func tlsWithTheBrokersCertificateAuthority() async throws {
        let dir = TempDirectory()
        let pki = try TestPKI(in: dir.path)
        let broker = try Broker(extraConfig: "cafile \(pki.ca)\ncertfile \(pki.cert)\nkeyfile \(pki.key)\n")
        let agent = try AgentProcess(
            executable: AgentBinary.path, directory: dir.path + "/agent",
            config: Self.config(broker, mqtt: "ca_file = \"\(pki.ca)\""))
        try await agent.waitConnected()
        let publisher = try Process.run(
            URL(fileURLWithPath: Broker.find("mosquitto_pub")),
            arguments: [
                "-h", "127.0.0.1", "-p", "\(broker.port)", "--cafile", pki.ca, "-q", "1", "-t", "t/secure", "-m",
                "42.5",
            ])
        publisher.waitUntilExit()
        try await agent.waitMessages(1)
        try agent.terminate()
        let db = try Database(path: agent.data, options: DatabaseOptions(readOnly: true))
        #expect(try db.scan("t.secure").map(\.value) == [42.5])
    }

    @Test func usernamePasswordAndQoS2() async throws {
        let dir = TempDirectory()
        let passwords = dir.path + "/passwd"
        #expect(try spawnAndWait([Broker.find("mosquitto_passwd"), "-b", "-c", passwords, "gw", "s3cret"]) == 0)
        chmod(passwords, 0o644)
        let broker = try Broker(extraConfig: "allow_anonymous false\npassword_file \(passwords)\n")
        let refused = try AgentProcess(
            executable: AgentBinary.path, directory: dir.path + "/refused",
            config: Self.config(broker, mqtt: "username = \"gw\"\npassword = \"wrong\""))
        try await waitUntil("the broker to refuse the wrong password") {
            broker.log.contains("disconnected, not authorised")  // mosquitto names no client ID here
        }
        try await waitUntil("the refused agent's HTTP listener") { refused.metric("alicedb_broker_connected") != nil }
        #expect(refused.metric("alicedb_broker_connected") == 0)
        try refused.terminate()  // stopping while the broker refuses us is still a clean exit
        let agent = try AgentProcess(
            executable: AgentBinary.path, directory: dir.path + "/agent",
            config: Self.config(broker, mqtt: "username = \"gw\"\npassword = \"s3cret\"\nqos = 2"))
        try await agent.waitConnected()
        let status = try spawnAndWait([
            Broker.find("mosquitto_pub"), "-h", "127.0.0.1", "-p", "\(broker.port)", "-u", "gw", "-P", "s3cret", "-q",
            "2",
            "-t", "t/two", "-m", "7.25",
        ])
        #expect(status == 0)
        try await agent.waitMessages(1)
        try agent.terminate()
        let db = try Database(path: agent.data, options: DatabaseOptions(readOnly: true))
        #expect(try db.scan("t.two").map(\.value) == [7.25])
    }

    @Test func mqtt5StatusTopicAndLastWill() async throws {
        let broker = try Broker()
        let dir = TempDirectory()
        let agent = try AgentProcess(
            executable: AgentBinary.path, directory: dir.path + "/agent",
            config: Self.config(broker, mqtt: "protocol = \"5\"\nstatus_topic = \"gw/status\"\nkeepalive = 5"))
        try await agent.waitConnected()
        #expect(try retained(broker, "gw/status") == "online")
        let load = try LoadPublisher(port: broker.port)
        for i in 0..<100 { try load.publish("t/a", Array("\(i)".utf8), qos: 1) }
        try load.drain()
        try await agent.waitMessages(100)
        // Handed to the engine (within 10 ms of arrival) means written to the WAL file.
        try await waitUntil(timeout: .seconds(5), "100 points handed to the engine", interval: .milliseconds(10)) {
            agent.metric("alicedb_points_total") == 100
        }
        // A crash: the broker publishes the last will.
        agent.kill()
        try await waitUntil(timeout: .seconds(5), "the last will on gw/status", interval: .milliseconds(100)) {
            try retained(broker, "gw/status") == "offline"
        }
        // What was acknowledged before the crash is in the WAL and survives.
        let db = try Database(path: agent.data, options: DatabaseOptions(readOnly: true))
        #expect(try db.scan("t.a").map(\.value) == (0..<100).map(Double.init))
    }

    @Test func persistentSessionGetsWhatWasPublishedWhileAway() async throws {
        let broker = try Broker()
        let dir = TempDirectory()
        let config = Self.config(broker, clientID: "persistent-gw", mqtt: "clean_session = false\nqos = 1")
        let first = try AgentProcess(executable: AgentBinary.path, directory: dir.path + "/agent", config: config)
        try await first.waitConnected()
        try first.terminate()
        // The agent is away: the broker queues QoS 1 messages for its persistent session.
        let load = try LoadPublisher(port: broker.port)
        for i in 0..<500 { try load.publish("t/queued", Array("\(i)".utf8), qos: 1) }
        try load.drain()
        let second = try AgentProcess(executable: AgentBinary.path, directory: dir.path + "/agent", config: config)
        try await second.waitConnected()
        try await second.waitMessages(500)
        try second.terminate()
        let db = try Database(path: second.data, options: DatabaseOptions(readOnly: true))
        #expect(try db.scan("t.queued").map(\.value) == (0..<500).map(Double.init))
    }

    @Test func memoryLimitHoldsUnderABurst() async throws {
        let broker = try Broker()
        let dir = TempDirectory()
        let agent = try AgentProcess(
            executable: AgentBinary.path, directory: dir.path + "/agent",
            config: Self.config(broker, mqtt: "qos = 1", storage: "memory_limit = \"256KiB\""))
        try await agent.waitConnected()
        let load = try LoadPublisher(port: broker.port)
        let total = 50_000
        let publishing = Task.detached {
            for i in 0..<total { try load.publish("t/s\(i % 200)", Array("\(Double(i) / 8)".utf8), qos: 1) }
            try load.drain()
        }
        // The MemTables' size is sampled while waiting for the burst to arrive.
        var highest = 0
        try await waitUntil(timeout: .seconds(60), "\(total) messages at the agent", interval: .milliseconds(10)) {
            highest = max(highest, agent.metric("alicedb_memtable_bytes") ?? 0)
            return (agent.metric("alicedb_messages_total") ?? 0) >= total
        }
        try await publishing.value
        #expect(highest > 0)
        #expect(highest <= 256 * 1024)
        try agent.terminate()
        let db = try Database(path: agent.data, options: DatabaseOptions(readOnly: true))
        #expect(try db.stats().points == total)
    }

    @Test func hostileHTTPRequestsGetAnErrorAndChangeNothing() async throws {
        let broker = try Broker()
        let dir = TempDirectory()
        let agent = try AgentProcess(
            executable: AgentBinary.path, directory: dir.path + "/agent", config: Self.config(broker))
        try await agent.waitConnected()
        let port = agent.httpPort
        #expect(try httpRaw(port: port, Array("\u{0}\u{1}GARBAGE\r\n\r\n".utf8)).hasPrefix("HTTP/1.1 400"))
        let hugeHeader =
            "GET /metrics HTTP/1.1\r\nHost: x\r\nX-Junk: " + String(repeating: "a", count: 200_000) + "\r\n\r\n"
        #expect(try httpRaw(port: port, Array(hugeHeader.utf8)).hasPrefix("HTTP/1.1 400"))
        #expect(
            try httpRaw(port: port, Array("POST /metrics HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello".utf8)).hasPrefix(
                "HTTP/1.1 405"))
        #expect(try httpGet(port: port, path: "/nope").hasPrefix("HTTP/1.1 404"))
        #expect(try httpGet(port: port, path: "/healthz").hasPrefix("HTTP/1.1 200"))
        try agent.terminate()
    }

    @Test func tellsSystemdWhenReadyAndWhenStopping() async throws {
        let broker = try Broker()
        let dir = TempDirectory()
        let socketPath = dir.path + "/notify"
        let listener = try DatagramListener(path: socketPath)
        let agent = try AgentProcess(
            executable: AgentBinary.path, directory: dir.path + "/agent", environment: ["NOTIFY_SOCKET": socketPath],
            config: Self.config(broker))
        #expect(listener.receive(seconds: 10)?.contains("READY=1") == true)
        try agent.terminate()
        #expect(listener.receive(seconds: 5)?.contains("STOPPING=1") == true)
    }
}

/// The retained message on `topic`, read with mosquitto_sub ("" when there is none).
func retained(_ broker: Broker, _ topic: String) throws -> String {
    let out = broker.dir.appendingPathComponent("retained-\(UUID().uuidString)").path
    let pid = try spawn(
        [
            Broker.find("mosquitto_sub"), "-h", "127.0.0.1", "-p", "\(broker.port)", "-t", topic, "-C", "1", "-W", "2",
            "--retained-only",
        ],
        output: out)
    waitForExit(pid)
    return ((try? String(contentsOfFile: out, encoding: .utf8)) ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
}

/// A unix datagram socket standing in for systemd's notification socket.
final class DatagramListener {
    let fd: Int32

    init(path: String) throws {
        fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue), 0)
        var addr = sockaddr_un()
        addr.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        withUnsafeMutableBytes(of: &addr.sun_path) { for (i, b) in bytes.enumerated() { $0[i] = b } }
        let rc = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        guard rc == 0 else { throw HarnessError("cannot bind \(path)") }
    }

    deinit { close(fd) }

    func receive(seconds: Int) -> String? {
        var tv = timeval(tv_sec: seconds, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        var buf = [UInt8](repeating: 0, count: 4096)
        let n = buf.withUnsafeMutableBytes { recv(fd, $0.baseAddress!, $0.count, 0) }
        return n > 0 ? String(decoding: buf[0..<n], as: UTF8.self) : nil
    }
}
