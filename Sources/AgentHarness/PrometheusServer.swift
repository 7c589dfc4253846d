public import Foundation

/// A real Prometheus (Debian's `prometheus` package) on 127.0.0.1 and a free port, holding given
/// samples: they are written as an OpenMetrics file, backfilled into `directory/data` with
/// `promtool tsdb create-blocks-from openmetrics`, and served with no scrape targets. For tests
/// that compare another PromQL engine's answers with Prometheus' own. Never port 9090: a system
/// Prometheus that Debian's postinst may have started there is not used.
public final class PrometheusServer {
    /// One series: `metric{gateway="…",series="…"}` and its samples (epoch milliseconds, increasing).
    public struct Series: Sendable {
        public var gateway: String
        public var series: String
        public var timestamps: [Int64]
        public var values: [Double]

        public init(gateway: String, series: String, timestamps: [Int64], values: [Double]) {
            self.gateway = gateway
            self.series = series
            self.timestamps = timestamps
            self.values = values
        }
    }

    public private(set) var pid: pid_t = 0
    public let directory: String
    public let port: Int
    public var url: String { "http://127.0.0.1:\(port)" }
    var data: String { directory + "/data" }

    /// Writes `series` (as `metric`), backfills them and starts Prometheus; returns once `/-/ready` is 200.
    /// - Parameters:
    ///   - directory: created if missing; holds the OpenMetrics file, the TSDB, the config and the logs.
    ///   - series: the samples; each series' timestamps strictly increasing.
    /// - Throws: `HarnessError` when the binaries are missing, promtool refuses the file, or the
    ///   server does not become ready (with its log).
    public init(directory: String, series: [Series], metric: String = "alicedb") throws {
        self.directory = directory
        let fm = FileManager.default
        let (prometheus, promtool) = (Broker.find("prometheus"), Broker.find("promtool"))
        guard fm.isExecutableFile(atPath: prometheus), fm.isExecutableFile(atPath: promtool) else {
            throw HarnessError("prometheus and promtool not found: apt-get install --no-install-recommends prometheus")
        }
        try fm.createDirectory(atPath: directory, withIntermediateDirectories: true)
        port = Broker.freePort()
        let input = directory + "/samples.om"
        try PrometheusServer.openMetrics(series, metric: metric).write(toFile: input, atomically: true, encoding: .utf8)
        // One block over the whole data set: with the default 2 h blocks, promtool reads the file
        // once per block and a few months of data would make hundreds of blocks.
        let backfill = [
            promtool, "tsdb", "create-blocks-from", "openmetrics", "--quiet",
            "--max-block-duration=100000h", input, data,
        ]
        let status = waitForExit(try spawn(backfill, output: directory + "/promtool.log"))
        guard status == 0 else {
            let output = text(directory + "/promtool.log").suffix(2000)
            throw HarnessError("promtool failed (status \(status)): \(output)")
        }
        let config = directory + "/prometheus.yml"
        let yaml = "global:\n  scrape_interval: 1h\nscrape_configs: []\n"  // nothing to scrape
        try yaml.write(toFile: config, atomically: true, encoding: .utf8)
        try start(prometheus, config: config)
    }

    deinit { kill() }

    /// What Prometheus wrote to stdout and stderr.
    public var log: String { text(directory + "/prometheus.log") }

    func start(_ executable: String, config: String) throws {
        pid = try spawn(
            [
                executable, "--config.file=\(config)", "--storage.tsdb.path=\(data)",
                "--storage.tsdb.retention.time=100y",
                "--web.listen-address=127.0.0.1:\(port)",
            ],
            output: directory + "/prometheus.log")
        for _ in 0..<1500 {
            if let r = try? request("/-/ready"), r.status == 200 { return }
            var status: Int32 = 0
            if waitpid(pid, &status, WNOHANG) == pid {
                pid = 0
                throw HarnessError("prometheus exited with status \(status); its log:\n\(log.suffix(3000))")
            }
            usleep(20_000)
        }
        kill()
        throw HarnessError("prometheus was not ready on 127.0.0.1:\(port) after 30 s; its log:\n\(log.suffix(3000))")
    }

    /// SIGKILL and wait (the TSDB is thrown away with the directory).
    public func kill() {
        guard pid > 0 else { return }
        Foundation.kill(pid, SIGKILL)
        waitForExit(pid)
        pid = 0
    }

    /// One GET; the status code and the body.
    public func request(_ path: String) throws -> (status: Int, body: String) {
        try httpRequest(port: port, "GET", path, token: nil)
    }

    /// The samples as an OpenMetrics text: one metric family, each series' samples together and in
    /// time order (what promtool requires), then `# EOF`.
    public static func openMetrics(_ series: [Series], metric: String = "alicedb") throws -> String {
        var out = "# TYPE \(metric) gauge\n"
        for s in series {
            guard s.timestamps.count == s.values.count else {
                let counts = "\(s.timestamps.count) timestamps, \(s.values.count) values"
                throw HarnessError("\(s.gateway)/\(s.series): \(counts)")
            }
            let head = "\(metric){gateway=\"\(labelValue(s.gateway))\",series=\"\(labelValue(s.series))\"} "
            var last = Int64.min
            for (t, v) in zip(s.timestamps, s.values) {
                guard t > last else { throw HarnessError("\(s.gateway)/\(s.series): timestamp \(t) not after \(last)") }
                last = t
                out += head + value(v) + " " + (try time(t)) + "\n"
            }
        }
        return out + "# EOF\n"
    }

    /// A value that parses back to the same Double (Swift's `description` round-trips; Go's
    /// ParseFloat reads its `1e-05`), NaN and the infinities spelled as OpenMetrics spells them.
    public static func value(_ v: Double) -> String {
        if v.isNaN { return "NaN" }
        if v.isInfinite { return v < 0 ? "-Inf" : "+Inf" }
        return v.description
    }

    /// Epoch milliseconds as OpenMetrics seconds. Prometheus 2.42 reads them as `int64(seconds · 1000)`
    /// of a float64, which truncates: `x.015` may come back as `x014`. A hundredth of a millisecond
    /// more (far above the float's error at today's epoch, far below a millisecond) makes it exact;
    /// each text is checked with the same arithmetic.
    /// - Throws: `HarnessError` if neither spelling reads back as `ms`.
    public static func time(_ ms: Int64) throws -> String {
        let sign = ms < 0 ? "-" : ""
        let seconds = (ms.magnitude / 1000)
        let fraction = ms.magnitude % 1000
        let digits = String(fraction)
        let padded = String(repeating: "0", count: 3 - digits.count) + digits
        let exact = sign + String(seconds) + (fraction == 0 ? "" : "." + padded)
        let nudged = (fraction == 0 ? exact + ".000" : exact) + "01"
        for text in [exact, nudged] {
            if let s = Double(text), (s * 1000).magnitude < 9e18, Int64(s * 1000) == ms { return text }
        }
        throw HarnessError("timestamp \(ms) ms has no OpenMetrics spelling that Prometheus reads back exactly")
    }

    static func labelValue(_ s: String) -> String {
        s.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
            .replacingOccurrences(of: "\n", with: "\\n")
    }
}

private func text(_ path: String) -> String { (try? String(contentsOfFile: path, encoding: .utf8)) ?? "" }
