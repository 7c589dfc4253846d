import Foundation

/// CPU seconds from /proc: some processes', this one's, and the whole machine's busy time.
struct CPUTimes {
    var nodes = 0.0, me = 0.0, busy = 0.0
    static let ticks = Double(sysconf(Int32(_SC_CLK_TCK)))
    static let cores = Int(sysconf(Int32(_SC_NPROCESSORS_ONLN)))

    static func read(_ pids: [pid_t]) -> CPUTimes {
        var t = CPUTimes()
        for pid in pids { t.nodes += process("/proc/\(pid)/stat") }
        t.me = process("/proc/self/stat")
        // /proc/stat "cpu user nice system idle iowait irq softirq steal …": busy = all but idle and iowait.
        if let line = (try? String(contentsOfFile: "/proc/stat", encoding: .utf8))?.split(separator: "\n").first {
            let f = line.split(separator: " ").dropFirst().compactMap { Double($0) }
            if f.count >= 8 { t.busy = (f[0] + f[1] + f[2] + f[5] + f[6] + f[7]) / ticks }
        }
        return t
    }

    /// utime + stime of one process.
    static func process(_ path: String) -> Double {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8), let close = text.lastIndex(of: ")") else {
            return 0
        }
        let f = text[text.index(after: close)...].split(separator: " ")
        guard f.count > 13, let u = Double(f[11]), let s = Double(f[12]) else { return 0 }
        return (u + s) / ticks
    }

    static func - (a: CPUTimes, b: CPUTimes) -> CPUTimes {
        CPUTimes(nodes: a.nodes - b.nodes, me: a.me - b.me, busy: a.busy - b.busy)
    }
}
