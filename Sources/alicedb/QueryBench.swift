import AliceDB
import ArgumentParser
import CloudClient

#if canImport(Glibc)
    import Glibc
#endif

/// `alicedb bench-query`: a long series (a year of a 1 Hz sensor by default) under each profile,
/// then a full scan and a 1-minute downsample timed on the local engine and through a real
/// `alicedb-cloud` on loopback (its CSV API, paged scans, through `CloudClient`).
struct QueryBenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench-query",
        abstract: "Time a full scan and a 1-minute downsample of one long series, locally and through alicedb-cloud.")

    @Option(name: .long, help: "A ts,value CSV whose values are repeated (on a 1 Hz clock) to make the series.")
    var data: String = "../shared/datasets/elf_air_pressure.csv"
    @Option(name: .long, help: "Points in the series (default: a year at 1 Hz).")
    var points: Int = 31_536_000
    @Option(name: .long, help: "Where the databases go (default: a fresh folder under /tmp).")
    var workDir: String?
    @Option(name: .long, help: "Each local query is timed this many times; the median is reported.")
    var repeats: Int = 3
    @Option(name: .long, help: "Each query through the cloud node is timed this many times (the median).")
    var cloudRepeats: Int = 1
    @Option(name: .long, help: "The alicedb-cloud executable (default: the one beside this one; \"\" skips the cloud).")
    var cloud: String?
    @OptionGroup var output: FormatArgument

    struct Row {
        var profile: CodingProfile
        var bytesPerPoint: Double
        var importRate: Double
        var scanRate: Double
        var downsampleRate: Double
        var cloudScanRate: Double?
        var cloudDownsampleRate: Double?
    }

    func run() throws {
        guard points > 0, repeats > 0, cloudRepeats > 0 else {
            throw ValidationError("--points, --repeats and --cloud-repeats must be positive")
        }
        let source = try BenchRunner.load(data).values
        guard !source.isEmpty else { throw ValidationError("\(data) has no points") }
        let work = workDir ?? "/tmp/alicedb-bench-query-\(getpid())"
        let cloudPath = cloud ?? Self.beside("alicedb-cloud")
        var t = Table([
            "profile", "points", "bytes/pt", "import_pts/s", "scan_pts/s", "downsample_1m_pts/s", "cloud_scan_pts/s",
            "cloud_downsample_1m_pts/s",
        ])
        for profile in CodingProfile.allCases {
            Terminal.err("bench-query: \(profile): writing \(points) points")
            let r = try measure(profile, source, dir: work + "/" + profile.rawValue, cloud: cloudPath)
            t.add([
                .text(profile.rawValue), .text(String(points)), .text(fixed(r.bytesPerPoint, 3)),
                .text(fixed(r.importRate, 0)), .text(fixed(r.scanRate, 0)), .text(fixed(r.downsampleRate, 0)),
                .text(r.cloudScanRate.map { fixed($0, 0) } ?? "-"),
                .text(r.cloudDownsampleRate.map { fixed($0, 0) } ?? "-"),
            ])
        }
        if workDir == nil { try? FileIO.removeDirectory(work) }
        t.render(output.resolved)
    }

    static let start: Int64 = 1_700_000_000_000
    static let gateway = "bench"
    static let token = "bench-query-token"

    func measure(_ profile: CodingProfile, _ source: [Double], dir: String, cloud: String) throws -> Row {
        let path = dir + "/gateways/" + Self.gateway
        try? FileIO.removeDirectory(dir)
        try FileIO.makeDirectory(dir)
        try FileIO.makeDirectory(dir + "/gateways")
        var options = DatabaseOptions()
        options.maintenanceTimer = false
        let db = try Database(path: path, options: options)
        try db.createSeries("s", options: SeriesOptions(profile: profile))
        let began = Clock.now
        var done = 0
        while done < points {
            let n = min(1 << 20, points - done)
            let ts = (0..<n).map { Self.start + Int64(done + $0) * 1000 }
            let vs = (0..<n).map { source[(done + $0) % source.count] }
            try db.putBatch("s", timestamps: ts, values: vs)
            done += n
        }
        try db.close()
        let importSeconds = Clock.seconds(since: began)
        let reader = try Database(path: path, options: DatabaseOptions(readOnly: true))
        let bytes = try reader.stats().series.reduce(0) { $0 + $1.bytes }
        let last = Self.start + Int64(points - 1) * 1000
        let scanSeconds = try timed {
            var count = 0
            var sum = 0.0
            try reader.scan("s") { _, v in
                count += 1
                sum += v
            }
            guard count == points, sum != .infinity else {
                throw AliceDBError(.corrupt, "the scan gave \(count) of \(points) points")
            }
        }
        let downsampleSeconds = try timed {
            let buckets = try reader.downsample("s", from: Self.start, to: last, interval: 60_000)
            guard buckets.count == (points + 59) / 60 else {
                throw AliceDBError(.corrupt, "the downsample gave \(buckets.count) buckets")
            }
        }
        var row = Row(
            profile: profile, bytesPerPoint: Double(bytes) / Double(points),
            importRate: Double(points) / importSeconds, scanRate: Double(points) / scanSeconds,
            downsampleRate: Double(points) / downsampleSeconds)
        if !cloud.isEmpty {
            let (scan, downsample) = try cloudTimes(dir: dir, executable: cloud, last: last)
            row.cloudScanRate = Double(points) / scan
            row.cloudDownsampleRate = Double(points) / downsample
        }
        return row
    }

    /// The median of `repeats` timings of `body`, in seconds.
    func timed(_ count: Int? = nil, _ body: () throws -> Void) throws -> Double {
        var times = [Double]()
        for _ in 0..<(count ?? repeats) {
            let began = Clock.now
            try body()
            times.append(Clock.seconds(since: began))
        }
        return BenchRunner.median(times)
    }

    /// A paged full scan and a 1-minute downsample through an `alicedb-cloud` serving `dir`.
    func cloudTimes(dir: String, executable: String, last: Int64) throws -> (scan: Double, downsample: Double) {
        let port = try Self.freePort()
        let config = dir + "/cloud.toml"
        try FileIO.replace(
            config,
            with: Array(
                """
                [server]
                listen = "127.0.0.1:\(port)"
                rate_limit = 1000000
                rate_burst = 1000000
                [storage]
                path = "\(dir)"
                [[gateway]]
                name = "\(Self.gateway)"
                token = "\(Self.token)"

                """.utf8))
        let pid = try Self.spawn([executable, "--config", config, "--log-level", "warning"])
        defer {
            kill(pid, SIGTERM)
            var status: Int32 = 0
            waitpid(pid, &status, 0)
        }
        let client = try CloudClient(url: "http://127.0.0.1:\(port)", token: Self.token)
        defer { try? blocking { await client.shutdown() } }
        var ready = false
        for _ in 0..<200 where !ready {
            ready = (try? blocking { try await client.series() }) != nil
            if !ready { usleep(50_000) }
        }
        guard ready else { throw AliceDBError(.unavailable, "\(executable) did not answer on 127.0.0.1:\(port)") }
        let wanted = points
        let scan = try timed(cloudRepeats) {
            let count = try blocking { () async throws -> Int in
                var from = Int64.min
                var count = 0
                while true {
                    let page = try await client.scan("s", from: from)
                    count += page.timestamps.count
                    guard let next = page.next else { return count }
                    from = next
                }
            }
            guard count == wanted else { throw AliceDBError(.corrupt, "the cloud's scan gave \(count) of \(wanted)") }
        }
        let downsample = try timed(cloudRepeats) {
            let buckets = try blocking {
                try await client.downsample("s", from: Self.start, to: last, interval: 60_000, fn: .avg)
            }
            guard buckets.count == (wanted + 59) / 60 else {
                throw AliceDBError(.corrupt, "the cloud's downsample gave \(buckets.count) buckets")
            }
        }
        return (scan, downsample)
    }

    /// The executable `name` in this one's folder.
    static func beside(_ name: String) -> String {
        var buf = [CChar](repeating: 0, count: 4096)
        let n = readlink("/proc/self/exe", &buf, buf.count - 1)
        guard n > 0 else { return name }
        let me = String(decoding: buf[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return String(me[..<(me.lastIndex(of: "/") ?? me.startIndex)]) + "/" + name
    }

    /// A loopback port nothing listens on now.
    static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw AliceDBError(.io, "socket: errno \(errno)") }
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &addr) { p in
            p.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, len) == 0 && getsockname(fd, $0, &len) == 0
            }
        }
        guard bound else { throw AliceDBError(.io, "bind 127.0.0.1:0: errno \(errno)") }
        return Int(UInt16(bigEndian: addr.sin_port))
    }

    /// Starts `args[0]` with `args`; its output goes where ours does.
    static func spawn(_ args: [String]) throws -> pid_t {
        var pid: pid_t = 0
        var argv: [UnsafeMutablePointer<CChar>?] = args.map { strdup($0) } + [nil]
        defer { for a in argv { free(a) } }
        let rc = posix_spawn(&pid, args[0], nil, nil, &argv, environ)
        guard rc == 0 else { throw AliceDBError(.unavailable, "cannot start \(args[0]): errno \(rc)") }
        return pid
    }
}
