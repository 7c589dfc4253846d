public import Foundation
internal import TestKit

/// The real `alicedb-agent` as a child process with its own directory, data and HTTP port.
public final class AgentProcess {
    public let pid: pid_t
    public let directory: String
    public let data: String
    public let configPath: String
    private var exited = false
    private var boundPort: Int?
    /// Where this run's output starts in the log (an earlier run in the same directory wrote before it).
    private let logStart: Int

    /// - Parameter config: the TOML, given the data path and the `HOST:PORT` for `[http] listen`
    ///   (port 0: the agent binds a free one and prints it, see `httpPort`).
    public init(
        executable: String, directory: String, environment: [String: String] = [:], logLevel: String = "warning",
        config: (_ data: String, _ httpListen: String) -> String
    ) throws {
        self.directory = directory
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        data = directory + "/data"
        configPath = directory + "/agent.toml"
        try config(data, "127.0.0.1:0").write(toFile: configPath, atomically: true, encoding: .utf8)
        logStart = ((try? String(contentsOfFile: directory + "/agent.log", encoding: .utf8)) ?? "").utf8.count
        pid = try spawn(
            [executable, "--config", configPath, "--log-level", logLevel], output: directory + "/agent.log",
            environment: environment)
    }

    deinit { kill() }

    /// What the agent wrote to stdout and stderr.
    public var log: String { (try? String(contentsOfFile: directory + "/agent.log", encoding: .utf8)) ?? "" }

    /// The port of the agent's HTTP listener, from the line it prints once bound; 0 until then.
    public var httpPort: Int {
        if let boundPort { return boundPort }
        let marker = "alicedb-agent listening on "
        let output = String(decoding: Array(log.utf8).dropFirst(logStart), as: UTF8.self)
        for line in output.split(separator: "\n") where line.hasPrefix(marker) {
            guard let colon = line.lastIndex(of: ":"), let port = Int(line[line.index(after: colon)...]) else {
                continue
            }
            boundPort = port
            return port
        }
        return 0
    }

    /// An unlabelled sample from `/metrics`, or nil (also while the listener is not up yet).
    public func metric(_ name: String) -> Int? { AgentProcess.metric(port: httpPort, name) }

    /// An unlabelled sample from `/metrics` of the agent listening on `port`, or nil; for a thread
    /// that watches the agent (`ThreadWatch`) and holds its port, not the process object.
    public static func metric(port: Int, _ name: String) -> Int? {
        guard port > 0, let text = try? httpGet(port: port, path: "/metrics") else { return nil }
        for line in text.split(separator: "\n") where line.hasPrefix(name + " ") {
            return Double(line.split(separator: " ")[1]).map { Int($0) }
        }
        return nil
    }

    /// Waits until `alicedb_broker_connected` is 1.
    /// - Throws: `HarnessError` with the agent's log when it does not connect within `timeout`.
    public func waitConnected(timeout: Duration = .seconds(60)) async throws {
        do {
            try await waitUntil(timeout: timeout, "the agent connected to the broker") {
                metric("alicedb_broker_connected") == 1
            }
        } catch let e as WaitTimeout {
            throw HarnessError("\(e); its log:\n\(log)")
        }
    }

    /// Waits until `alicedb_messages_total` reaches `count`.
    /// - Throws: `HarnessError` with the count reached and the agent's log on timeout.
    public func waitMessages(_ count: Int, timeout: Duration = .seconds(20)) async throws {
        do {
            try await waitUntil(timeout: timeout, "\(count) messages at the agent") {
                (metric("alicedb_messages_total") ?? 0) >= count
            }
        } catch let e as WaitTimeout {
            throw HarnessError("\(e) (it has \(metric("alicedb_messages_total") ?? -1)); its log:\n\(log)")
        }
    }

    /// SIGTERM and wait; returns the seconds it took to exit (it flushes everything first).
    ///
    /// The signal waits (60 s at most: start-up on a loaded machine) for the listening line: before
    /// it, the agent may not trap SIGTERM yet and would die of it like of SIGKILL.
    @discardableResult
    public func terminate() throws -> Double {
        let deadline = ContinuousClock.now + .seconds(60)
        while httpPort == 0 && ContinuousClock.now < deadline && !hasExited { usleep(5_000) }
        let t = Date()
        Foundation.kill(pid, SIGTERM)
        let status = waitForExit(pid)
        exited = true
        guard status == 0 else { throw HarnessError("the agent exited with status \(status); its log:\n\(log)") }
        return Date().timeIntervalSince(t)
    }

    /// Whether the process is gone (a zombie not reaped yet counts as gone).
    private var hasExited: Bool { exited || Foundation.kill(pid, 0) != 0 || isZombie }

    private var isZombie: Bool {
        let stat = (try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8)) ?? ""
        return stat.split(separator: ")").last?.split(separator: " ").first == "Z"
    }

    /// SIGKILL (a crash or power cut, as far as the agent can tell) and wait.
    public func kill() {
        guard !exited else { return }
        Foundation.kill(pid, SIGKILL)
        waitForExit(pid)
        exited = true
    }
}
