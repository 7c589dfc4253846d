public import Foundation

/// A real mosquitto on 127.0.0.1 and a free port, for tests and benchmarks (never another address).
public final class Broker {
    public let port: Int
    public let dir: URL
    public private(set) var pid: pid_t = 0

    /// - Parameter extraConfig: more mosquitto.conf lines (for the listener on `port`, e.g. TLS files).
    public init(extraConfig: String = "") throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("alicedb-broker-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        // mosquitto started as root drops to its own user: it must be able to write its log here.
        try FileManager.default.setAttributes([.posixPermissions: 0o777], ofItemAtPath: dir.path)
        port = Broker.freePort()
        try reconfigure(extraConfig: extraConfig)
        try start()
    }

    /// Writes mosquitto.conf anew with `extraConfig` in place of the previous extra lines; the broker
    /// reads it at its next `start` (the port stays).
    public func reconfigure(extraConfig: String) throws {
        // `user root`: run as root, mosquitto would switch to its own user, which clears the
        // parent-death signal that ends it with the test process (`spawn`).
        let conf =
            "listener \(port) 127.0.0.1\nallow_anonymous true\nmax_queued_messages 100000\n"
            + (getuid() == 0 ? "user root\n" : "")
            + "log_dest file \(dir.appendingPathComponent("mosquitto.log").path)\n\(extraConfig)\n"
        try conf.write(to: dir.appendingPathComponent("mosquitto.conf"), atomically: true, encoding: .utf8)
    }

    public func start() throws {
        // posix_spawn + waitpid: Foundation's Process can hang in waitUntilExit from a deinit here.
        pid = try spawn([Broker.find("mosquitto"), "-c", dir.appendingPathComponent("mosquitto.conf").path])
        // Ready when the port accepts connections: up to 60 s, start-up on a loaded 2-core machine.
        for _ in 0..<3000 {
            if Broker.canConnect(port) { return }
            usleep(20_000)
        }
        throw HarnessError("mosquitto did not start on 127.0.0.1:\(port); its log:\n\(log)")
    }

    /// The broker's log (connections, disconnections and their reasons), for failure messages.
    public var log: String {
        (try? String(contentsOf: dir.appendingPathComponent("mosquitto.log"), encoding: .utf8)) ?? ""
    }

    /// SIGTERM, and wait: mosquitto closes its connections and, with `persistence true`, saves its
    /// sessions and queued messages.
    public func stop() {
        guard pid > 0 else { return }
        Foundation.kill(pid, SIGTERM)
        waitForExit(pid)
        pid = 0
    }

    /// SIGKILL, and wait: a crash; nothing is saved, clients see their connections reset.
    public func kill() {
        guard pid > 0 else { return }
        Foundation.kill(pid, SIGKILL)
        waitForExit(pid)
        pid = 0
    }

    deinit {
        stop()
        try? FileManager.default.removeItem(at: dir)
    }

    public static func find(_ name: String) -> String {
        for d in ["/usr/sbin", "/usr/bin", "/usr/local/sbin", "/usr/local/bin"]
        where FileManager.default.isExecutableFile(atPath: "\(d)/\(name)") {
            return "\(d)/\(name)"
        }
        return name
    }

    public static func freePort() -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        addr.sin_port = 0
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, len) } }
        _ = withUnsafeMutablePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) }
        }
        return Int(UInt16(bigEndian: addr.sin_port))
    }

    public static func canConnect(_ port: Int) -> Bool {
        let fd = loopbackConnect(port)
        if fd >= 0 { close(fd) }
        return fd >= 0
    }

    /// Publishes `payloads` to `topic` and waits until the broker acknowledged them all (QoS 1).
    /// Not `mosquitto_pub -l`: at the end of its input it disconnects with QoS 1 messages in flight.
    public func publish(_ topic: String, _ payloads: [String], qos: Int = 1) throws {
        let publisher = try LoadPublisher(port: port)
        for p in payloads { try publisher.publish(topic, Array(p.utf8), qos: qos) }
        try publisher.drain()
    }
}

/// Starts a program with stdout/stderr to `output` (default /dev/null) and `environment` added to
/// this process's own; returns its pid.
public func spawn(_ argv: [String], output: String = "/dev/null", environment: [String: String] = [:]) throws -> pid_t {
    // The child dies with the test process (PR_SET_PDEATHSIG through util-linux's setpriv, which
    // then execs it: the same pid), so a crashed or killed run leaves no broker or node behind. The
    // signal comes when the *thread* that started the child ends, and the concurrency pool's threads
    // come and go (a node was SIGKILLed mid-test): every child is started from one thread that lives
    // as long as the process.
    try SpawnThread.shared.run { try spawnHere(argv, output: output, environment: environment) }
}

private func spawnHere(_ argv: [String], output: String, environment: [String: String]) throws -> pid_t {
    let argv =
        FileManager.default.isExecutableFile(atPath: pdeathsigWrapper)
        ? [pdeathsigWrapper, "--pdeathsig", "KILL", "--"] + argv : argv
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    posix_spawn_file_actions_addopen(&actions, 1, output, O_WRONLY | O_CREAT | O_APPEND, 0o644)
    posix_spawn_file_actions_adddup2(&actions, 1, 2)
    var cargs = argv.map { strdup($0) } + [nil]
    defer { for p in cargs { free(p) } }
    // The child must not inherit this thread's blocked signals (dispatch workers block SIGTERM).
    var attr = posix_spawnattr_t()
    posix_spawnattr_init(&attr)
    defer { posix_spawnattr_destroy(&attr) }
    var empty = sigset_t()
    sigemptyset(&empty)
    var all = sigset_t()
    sigfillset(&all)
    posix_spawnattr_setsigmask(&attr, &empty)
    posix_spawnattr_setsigdefault(&attr, &all)
    posix_spawnattr_setflags(&attr, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
    var pid: pid_t = 0
    var env = ProcessInfo.processInfo.environment
    env.merge(environment) { $1 }
    var cenv = env.map { strdup("\($0.key)=\($0.value)") } + [nil]
    defer { for p in cenv { free(p) } }
    let rc = posix_spawn(&pid, argv[0], &actions, &attr, &cargs, &cenv)
    guard rc == 0 else { throw HarnessError("cannot start \(argv[0]): error \(rc)") }
    return pid
}

let pdeathsigWrapper = "/usr/bin/setpriv"

/// The one thread children are started from (see `spawn`); it never ends.
private final class SpawnThread: @unchecked Sendable {
    static let shared = SpawnThread()
    /// Guards `jobs`; the thread waits on it for work.
    private let condition = NSCondition()
    private var jobs: [() -> Void] = []

    private init() {
        let thread = Thread { [unowned self] in
            while true {
                condition.lock()
                while jobs.isEmpty { condition.wait() }
                let job = jobs.removeFirst()
                condition.unlock()
                job()
            }
        }
        thread.name = "harness-spawn"
        thread.start()
    }

    /// Runs `body` on the thread and waits for it.
    func run<T>(_ body: @escaping () throws -> T) throws -> T {
        var result: Result<T, any Error>?
        let done = DispatchSemaphore(value: 0)
        condition.lock()
        jobs.append {
            result = Result { try body() }
            done.signal()
        }
        condition.signal()
        condition.unlock()
        done.wait()
        return try result!.get()
    }
}

/// A TCP connection to 127.0.0.1:port (a file descriptor), or -1.
public func loopbackConnect(_ port: Int) -> Int32 {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    var addr = sockaddr_in()
    addr.sin_family = sa_family_t(AF_INET)
    addr.sin_addr.s_addr = inet_addr("127.0.0.1")
    addr.sin_port = UInt16(port).bigEndian
    let rc = withUnsafePointer(to: &addr) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
            connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
        }
    }
    if rc != 0 {
        close(fd)
        return -1
    }
    return fd
}
