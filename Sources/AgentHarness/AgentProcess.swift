public import Foundation

/// The real `alicedb-agent` as a child process with its own directory, data and HTTP port.
public final class AgentProcess {
    public let pid: pid_t
    public let directory: String
    public let data: String
    public let httpPort: Int
    public let configPath: String
    private var exited = false

    /// - Parameter config: the TOML, given the data path and the `HOST:PORT` for `[http] listen`.
    public init(
        executable: String, directory: String, environment: [String: String] = [:], logLevel: String = "warning",
        config: (_ data: String, _ httpListen: String) -> String
    ) throws {
        self.directory = directory
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        data = directory + "/data"
        httpPort = Broker.freePort()
        configPath = directory + "/agent.toml"
        try config(data, "127.0.0.1:\(httpPort)").write(toFile: configPath, atomically: true, encoding: .utf8)
        pid = try spawn(
            [executable, "--config", configPath, "--log-level", logLevel], output: directory + "/agent.log",
            environment: environment)
    }

    deinit { kill() }

    /// What the agent wrote to stdout and stderr.
    public var log: String { (try? String(contentsOfFile: directory + "/agent.log", encoding: .utf8)) ?? "" }

    /// An unlabelled sample from `/metrics`, or nil.
    public func metric(_ name: String) -> Int? {
        guard let text = try? httpGet(port: httpPort, path: "/metrics") else { return nil }
        for line in text.split(separator: "\n") where line.hasPrefix(name + " ") {
            return Double(line.split(separator: " ")[1]).map { Int($0) }
        }
        return nil
    }

    public func waitConnected(seconds: Double = 10) async throws {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if metric("alicedb_broker_connected") == 1 { return }
            try await Task.sleep(for: .milliseconds(20))
        }
        throw HarnessError("the agent did not connect within \(seconds) s; its log:\n\(log)")
    }

    /// Waits until `alicedb_messages_total` reaches `count`; false on timeout.
    public func waitMessages(_ count: Int, seconds: Double = 20) async -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if (metric("alicedb_messages_total") ?? 0) >= count { return true }
            try? await Task.sleep(for: .milliseconds(20))
        }
        return false
    }

    /// SIGTERM and wait; returns the seconds it took to exit (it flushes everything first).
    @discardableResult
    public func terminate() throws -> Double {
        let t = Date()
        Foundation.kill(pid, SIGTERM)
        let status = waitForExit(pid)
        exited = true
        guard status == 0 else { throw HarnessError("the agent exited with status \(status); its log:\n\(log)") }
        return Date().timeIntervalSince(t)
    }

    /// SIGKILL (a crash or power cut, as far as the agent can tell) and wait.
    public func kill() {
        guard !exited else { return }
        Foundation.kill(pid, SIGKILL)
        waitForExit(pid)
        exited = true
    }
}
