public import Foundation

/// The package's built executables (debug build), for tests that run them as child processes.
public enum BuiltExecutable {
    public static func path(_ name: String) -> String {
        var root = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { root.deleteLastPathComponent() }  // Sources/AgentHarness/File → the package
        for dir in [".build/debug", ".build/x86_64-unknown-linux-gnu/debug", ".build/aarch64-unknown-linux-gnu/debug"] {
            let p = root.appendingPathComponent(dir + "/" + name).path
            if FileManager.default.isExecutableFile(atPath: p) { return p }
        }
        return root.appendingPathComponent(".build/debug/" + name).path
    }
}

/// The real `alicedb-cloud` as a child process on 127.0.0.1 and a fixed port (kept across restarts).
public final class CloudProcess {
    public private(set) var pid: pid_t = 0
    public let directory: String
    public let data: String
    public let port: Int
    public let configPath: String
    public let executable: String
    /// Variables set for the node at each `start` (`ALICEDB_CLOUD_REFUSE_FEATURES`).
    public var environment: [String: String]
    public var url: String { "http://127.0.0.1:\(port)" }

    /// - Parameter config: the TOML, given the data path and the `HOST:PORT` to listen on.
    public init(
        directory: String, executable: String = BuiltExecutable.path("alicedb-cloud"),
        environment: [String: String] = [:], config: (_ data: String, _ listen: String) -> String
    ) throws {
        self.directory = directory
        self.executable = executable
        self.environment = environment
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        data = directory + "/data"
        port = Broker.freePort()
        configPath = directory + "/cloud.toml"
        try config(data, "127.0.0.1:\(port)").write(toFile: configPath, atomically: true, encoding: .utf8)
        try start()
    }

    /// Starts the node and waits until it says it listens (its own line, not just any process
    /// accepting on the port: after a restart the old one may linger) and accepts connections.
    public func start() throws {
        let listening = "alicedb-cloud listening on"
        let before = log.components(separatedBy: listening).count
        pid = try spawn(
            [executable, "--config", configPath, "--log-level", "warning"], output: directory + "/cloud.log",
            environment: environment)
        // Up to 60 s: start-up on a loaded 2-core machine.
        for _ in 0..<3000 {
            if log.components(separatedBy: listening).count > before && Broker.canConnect(port) { return }
            var status: Int32 = 0
            if waitpid(pid, &status, WNOHANG) == pid {
                pid = 0
                throw HarnessError("alicedb-cloud exited with status \(status); its log:\n\(log)")
            }
            usleep(20_000)
        }
        throw HarnessError("alicedb-cloud did not listen on 127.0.0.1:\(port); its log:\n\(log)")
    }

    deinit { kill() }

    public var log: String { (try? String(contentsOfFile: directory + "/cloud.log", encoding: .utf8)) ?? "" }

    /// SIGTERM and wait; returns the exit status (0: a clean stop).
    @discardableResult
    public func terminate() -> Int32 {
        guard pid > 0 else { return 0 }
        Foundation.kill(pid, SIGTERM)
        let status = waitForExit(pid)
        pid = 0
        return status
    }

    public func kill() {
        guard pid > 0 else { return }
        Foundation.kill(pid, SIGKILL)
        waitForExit(pid)
        pid = 0
    }

    /// One HTTP request; the status code and the body.
    public func request(
        _ method: String, _ path: String, token: String?, body: [UInt8] = [], headers: [String] = []
    ) throws -> (status: Int, body: String) {
        try httpRequest(port: port, method, path, token: token, body: body, headers: headers)
    }
}

/// One HTTP/1.1 request to 127.0.0.1:`port` with `Connection: close`; the status and the body.
public func httpRequest(
    port: Int, _ method: String, _ path: String, token: String?, body: [UInt8] = [], headers: [String] = []
) throws -> (status: Int, body: String) {
    var head = "\(method) \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nContent-Length: \(body.count)\r\n"
    if let token { head += "Authorization: Bearer \(token)\r\n" }
    for h in headers { head += h + "\r\n" }
    return try httpAnswer(try httpRaw(port: port, Array((head + "\r\n").utf8) + body))
}

/// A form POST whose body goes as one chunk (`Transfer-Encoding: chunked`, no `Content-Length`): the
/// server learns its length only by reading it. The status and the body of the answer.
public func httpChunkedPost(port: Int, _ path: String, token: String?, body: [UInt8]) throws -> (
    status: Int, body: String
) {
    var head = "POST \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nTransfer-Encoding: chunked\r\n"
    head += "Content-Type: application/x-www-form-urlencoded\r\n"
    if let token { head += "Authorization: Bearer \(token)\r\n" }
    head += "\r\n\(String(body.count, radix: 16))\r\n"
    return try httpAnswer(try httpRaw(port: port, Array(head.utf8) + body + Array("\r\n0\r\n\r\n".utf8)))
}

/// The status and the body (de-chunked) of an HTTP/1.1 answer.
func httpAnswer(_ text: String) throws -> (status: Int, body: String) {
    guard text.hasPrefix("HTTP/1.1 "), let code = Int(text.dropFirst(9).prefix(3)) else {
        throw HarnessError("not an HTTP answer: \(text.prefix(200))")
    }
    var payload = text.components(separatedBy: "\r\n\r\n").dropFirst().joined(separator: "\r\n\r\n")
    if text.lowercased().contains("transfer-encoding: chunked") { payload = dechunk(payload) }
    return (code, payload)
}

/// The body of a chunked HTTP/1.1 answer.
func dechunk(_ s: String) -> String {
    var out = [UInt8]()
    var bytes = Array(s.utf8)[...]
    while let lineEnd = bytes.firstIndex(of: 13),
        let size = Int(String(decoding: bytes[bytes.startIndex..<lineEnd], as: UTF8.self), radix: 16)
    {
        let start = lineEnd + 2
        guard size > 0, start + size <= bytes.endIndex else { break }
        out += bytes[start..<(start + size)]
        bytes = bytes[min(bytes.endIndex, start + size + 2)...]
    }
    return String(decoding: out, as: UTF8.self)
}
