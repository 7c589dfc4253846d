internal import Foundation

/// A throw-away PostgreSQL cluster on 127.0.0.1 and a free port, under a temp directory (`initdb`,
/// `pg_ctl`), for tests and benchmarks. Started as root, it runs as the `postgres` user that
/// Debian's `postgresql` package creates (PostgreSQL refuses to run as root).
public final class PostgresServer: Sendable {
    public let port: Int
    public let dir: String
    public let user = "alicedb"
    public let password = "alicedb-test-password"
    public let database = "alicedb"
    let bin: String
    let fsync: Bool

    /// The URL the cloud node's `[storage] url` takes.
    public var url: String { "postgres://\(user):\(password)@127.0.0.1:\(port)/\(database)?sslmode=disable" }
    var dataDir: String { dir + "/data" }

    /// - Parameter fsync: off makes tests faster; benchmarks keep it on, as in production.
    public init(fsync: Bool = false) throws {
        guard let bin = PostgresServer.binDir() else {
            throw HarnessError("PostgreSQL server programs not found (initdb, pg_ctl): apt-get install postgresql")
        }
        self.bin = bin
        self.fsync = fsync
        dir = NSTemporaryDirectory() + "alicedb-pg-\(UUID().uuidString)"
        port = Broker.freePort()
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        try (password + "\n").write(toFile: dir + "/pwfile", atomically: true, encoding: .utf8)
        if geteuid() == 0 {
            guard getpwnam("postgres") != nil else {
                throw HarnessError("running as root needs the 'postgres' user (apt-get install postgresql)")
            }
            try run(["/usr/bin/chown", "-R", "postgres:", dir])
        }
        try run(
            asPostgres([
                bin + "/initdb", "-D", dataDir, "-U", user, "--pwfile", dir + "/pwfile", "--auth", "scram-sha-256",
                "-E", "UTF8", "--locale", "C.UTF-8", "--no-sync",
            ]))
        try start()
        // The database the node uses (initdb made only `postgres`).
        try run(
            asPostgres([bin + "/createdb", "-h", "127.0.0.1", "-p", String(port), "-U", user, database]),
            environment: ["PGPASSWORD": password])
    }

    /// Debian's versioned directory (newest first), else wherever `initdb` is on PATH.
    static func binDir() -> String? {
        let root = "/usr/lib/postgresql"
        let versions = ((try? FileManager.default.contentsOfDirectory(atPath: root)) ?? []).compactMap(Int.init).sorted(
            by: >)
        for v in versions where FileManager.default.isExecutableFile(atPath: "\(root)/\(v)/bin/pg_ctl") {
            return "\(root)/\(v)/bin"
        }
        for d in (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":")
        where FileManager.default.isExecutableFile(atPath: "\(d)/pg_ctl")
            && FileManager.default.isExecutableFile(atPath: "\(d)/initdb")
        {
            return String(d)
        }
        return nil
    }

    func asPostgres(_ argv: [String]) -> [String] {
        geteuid() == 0 ? ["/usr/sbin/runuser", "-u", "postgres", "--"] + argv : argv
    }

    /// Starts the server and waits until it accepts connections.
    public func start() throws {
        let options =
            "-p \(port) -c listen_addresses=127.0.0.1 -k \(dir) -c fsync=\(fsync ? "on" : "off") -c max_connections=200"
        try run(
            asPostgres([
                bin + "/pg_ctl", "-D", dataDir, "-l", dir + "/server.log", "-o", options, "-w", "-t", "60", "start",
            ]))
    }

    /// Stops the server: `fast` rolls back open transactions and disconnects clients (what a
    /// restart does); `immediate` is a crash.
    public func stop(mode: String = "fast") {
        try? run(asPostgres([bin + "/pg_ctl", "-D", dataDir, "-m", mode, "-w", "-t", "60", "stop"]))
    }

    public var log: String { (try? String(contentsOfFile: dir + "/server.log", encoding: .utf8)) ?? "" }

    /// Runs one SQL statement with psql; its output (unaligned, tuples only).
    public func psql(_ sql: String) throws -> String {
        let out = dir + "/psql-\(UUID().uuidString).out"
        defer { try? FileManager.default.removeItem(atPath: out) }
        try run(
            [
                "/usr/bin/psql", "-h", "127.0.0.1", "-p", String(port), "-U", user, "-d", database, "-At", "-v",
                "ON_ERROR_STOP=1", "-c", sql,
            ],
            environment: ["PGPASSWORD": password], output: out)
        return (try? String(contentsOfFile: out, encoding: .utf8)) ?? ""
    }

    deinit {
        stop(mode: "immediate")
        try? FileManager.default.removeItem(atPath: dir)
    }

    func run(_ argv: [String], environment: [String: String] = [:], output: String? = nil) throws {
        let log = output ?? dir + "/commands.log"
        let pid = try spawn(argv, output: log, environment: environment)
        let status = waitForExit(pid)
        guard status == 0 else {
            let text = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
            throw HarnessError(
                "\(argv.joined(separator: " ")) failed (status \(status)):\n\(text.suffix(2000))\n\(self.log.suffix(2000))"
            )
        }
    }
}
