import AliceDB
import ArgumentParser

struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract:
            "Benchmark every CSV in a folder: bytes/point at bound 0 and 1 % of range, speed of import and queries.")

    @Argument(help: "Folder of ts,value CSV files.")
    var folder: String = "../shared/datasets"
    @Option(name: .long, help: "Bound for the lossy run as a fraction of each data set's value range.")
    var boundFraction: Double = 0.01
    @Option(name: .long, help: "Also run at this second fraction (e.g. 0.001); 0 = skip.")
    var secondFraction: Double = 0.001
    @Option(name: .long, help: "Only files whose name contains this.")
    var filter: String?
    @Option(name: .long, help: "Where the temporary databases go (default: a fresh folder under /tmp).")
    var workDir: String?
    @Option(name: .long, help: "MemTable capacity in points (segment size limit).")
    var capacity: Int = DatabaseOptions().defaultCapacity
    @Option(name: .long, help: "Encode and decode are timed this many times; the median is reported.")
    var repeats: Int = 5
    @Option(name: .long, help: "Entropy coding of the series: compact (fewest bytes) or fast.")
    var profile: CodingProfile = .compact
    @Flag(
        help:
            "After each import, merge runs of short segments as the writer's housekeeping does (with a small --capacity: a gateway's segments)."
    )
    var merge = false
    @Flag(
        inversion: .prefixedNo, help: "Run at bound 0 too (--no-lossless: only the lossy bounds, e.g. to profile them)."
    )
    var lossless = true
    @Option(
        name: .long,
        help: ArgumentHelp(
            "Also time pcodec on the same files with this Python (one with numpy and pcodec, as "
                + "../shared/tools/setup-peers.sh makes) and print it beside ours.", valueName: "python"))
    var pcodec: String?
    @Option(name: .long, help: "The pcodec timing script (with --pcodec).")
    var pcodecScript: String = "scripts/pcodec_speed.py"
    @Option(
        name: .long,
        help: ArgumentHelp(
            "Also run the peer compressors on the same files with this Python (../shared/tools/setup-peers.sh "
                + "makes one) and print, per set and bound, ours / SZ3 / grid+pcodec / pcodec / … and the winner.",
            valueName: "python"))
    var peers: String?
    @Option(name: .long, help: "The peers script (with --peers).")
    var peersScript: String = "../shared/tools/peers.py"
    @OptionGroup var output: FormatArgument

    func run() throws {
        let runner = try BenchRunner(
            folder: folder, workDir: workDir, capacity: capacity, repeats: repeats, profile: profile, merge: merge)
        var fractions = (lossless ? [0.0] : []) + [boundFraction]
        if secondFraction > 0 { fractions.append(secondFraction) }
        let results = try runner.run(fractions: fractions, filter: filter) { name in
            if Terminal.stderrIsTTY { Terminal.errInline("\rbench: \(name)                    ") }
        }
        if Terminal.stderrIsTTY { Terminal.errInline("\r" + String(repeating: " ", count: 60) + "\r") }
        var t = Table([
            "dataset", "points", "bound", "bytes/pt", "max_err/bound", "models", "import_pts/s", "encode_pts/s",
            "decode_pts/s", "get_ns", "scan_ns/pt", "agg_us", "verify",
        ])
        for r in results {
            t.add([
                .text(r.name), .int(Int64(r.points)), .text(r.fraction == 0 ? "0" : "\(fixed(r.fraction * 100, 2))%"),
                .text(fixed(r.bytesPerPoint, 3)),
                .text(r.fraction == 0 ? (r.exact ? "exact" : "MISMATCH") : fixed(r.maxErrorRatio, 3)),
                .text(modelMix(r.models, total: r.points)), .text(fixed(r.importRate, 0)),
                .text(fixed(r.encodeRate, 0)),
                .text(fixed(r.decodeRate, 0)), .text(fixed(r.getNanos, 0)), .text(fixed(r.scanNanosPerPoint, 2)),
                .text(fixed(r.aggregateMicros, 2)), .text(r.verified ? "ok" : "FAIL"),
            ])
        }
        for f in fractions {
            let rs = results.filter { $0.fraction == f }
            guard !rs.isEmpty else { continue }
            let mean = rs.reduce(0) { $0 + $1.bytesPerPoint } / Double(rs.count)
            t.add([
                .text("MEAN"), .int(Int64(rs.reduce(0) { $0 + $1.points })),
                .text(f == 0 ? "0" : "\(fixed(f * 100, 2))%"),
                .text(fixed(mean, 3)), .text(""), .text(""), .text(""), .text(""), .text(""), .text(""), .text(""),
                .text(""),
                .text(rs.allSatisfy(\.verified) && rs.allSatisfy { $0.fraction > 0 || $0.exact } ? "ok" : "FAIL"),
            ])
        }
        t.render(output.resolved)
        if let pcodec {
            let files = try runner.files(filter: filter).map { folder + "/" + $0 }
            let peers = try PeerBench(python: pcodec, script: pcodecScript)
                .run(files: files, fraction: boundFraction, repeats: repeats)
            var gap = StdoutBuffer()  // (the tables write to the descriptor, not through `print`)
            gap.write("\n")
            gap.flush()
            PeerBench.table(results, peers) { $0 == 0 ? "0" : "\(fixed($0 * 100, 2))%" }.render(output.resolved)
        }
        if let peers {
            let files = try runner.files(filter: filter).map { folder + "/" + $0 }
            let tool = PeerTable(python: peers, script: peersScript)
            var rows = [Double: [String: PeerTable.Row]]()
            for f in fractions where f > 0 {
                rows[f] = try tool.run(files: files, fraction: f, workDir: runner.workDir)
            }
            if rows.isEmpty {
                rows[boundFraction] = try tool.run(files: files, fraction: boundFraction, workDir: runner.workDir)
            }
            var gap = StdoutBuffer()
            gap.write("\n")
            gap.flush()
            PeerTable.table(results, rows) { $0 == 0 ? "0" : "\(fixed($0 * 100, 2))%" }.render(output.resolved)
            try? FileIO.removeDirectory(runner.workDir)
        }
        if results.contains(where: { !$0.verified || ($0.fraction == 0 && !$0.exact) || $0.maxErrorRatio > 1 }) {
            throw ExitCode(1)
        }
    }
}
