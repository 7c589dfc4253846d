import AliceDB
import ArgumentParser

#if canImport(Glibc)
    import Glibc
#endif

/// pcodec beside `alicedb bench`'s rows, in the same run on the same files: `scripts/pcodec_speed.py`
/// run with a Python that has pcodec (`../shared/tools/setup-peers.sh` makes one), its rows joined
/// to ours by data set and bound.
struct PeerBench {
    struct Row {
        var bytesPerPoint: Double
        var compressRate: Double
        var decompressRate: Double
    }

    let python: String
    let script: String

    /// pcodec's rows for `files` at bound 0 and `fraction`, by (data set, bound label).
    /// - Throws: `.unavailable`, naming the command, when it cannot run or prints no rows.
    func run(files: [String], fraction: Double, repeats: Int) throws -> [String: Row] {
        let command =
            ([python, script] + files + ["--fraction", "\(fraction)", "--repeats", "\(repeats)"]).map(Self.quote)
            .joined(separator: " ")
        let (status, text) = try Self.output(of: command)
        var rows = [String: Row]()
        for line in text.split(separator: "\n").dropFirst() {
            let f = line.split(separator: ",").map(String.init)
            guard f.count == 6, let b = Double(f[3]), let c = Double(f[4]), let d = Double(f[5]) else { continue }
            rows[f[0] + "|" + f[2]] = Row(bytesPerPoint: b, compressRate: c, decompressRate: d)
        }
        guard status == 0, !rows.isEmpty else {
            throw AliceDBError(
                .unavailable,
                "\(command) failed (exit status \(status)); it needs numpy and pcodec (../shared/tools/setup-peers.sh)")
        }
        return rows
    }

    /// The side-by-side table: per data set and bound ours and pcodec's bytes and speeds, and the
    /// median ratios over the data sets per bound.
    static func table(_ results: [BenchRunner.Result], _ peers: [String: Row], label: (Double) -> String) -> Table {
        var t = Table([
            "dataset", "bound", "bytes/pt", "pcodec_bytes/pt", "encode_pts/s", "pcodec_pts/s", "encode_ratio",
            "decode_pts/s", "pcodec_decode_pts/s", "decode_ratio",
        ])
        var ratios = [String: (encode: [Double], decode: [Double])]()
        for r in results {
            let bound = label(r.fraction)
            guard let p = peers[r.name + "|" + bound], p.compressRate > 0, p.decompressRate > 0 else { continue }
            let (e, d) = (r.encodeRate / p.compressRate, r.decodeRate / p.decompressRate)
            ratios[bound, default: ([], [])].encode.append(e)
            ratios[bound, default: ([], [])].decode.append(d)
            t.add([
                .text(r.name), .text(bound), .text(fixed(r.bytesPerPoint, 3)), .text(fixed(p.bytesPerPoint, 3)),
                .text(fixed(r.encodeRate, 0)), .text(fixed(p.compressRate, 0)), .text(fixed(e, 3)),
                .text(fixed(r.decodeRate, 0)), .text(fixed(p.decompressRate, 0)), .text(fixed(d, 3)),
            ])
        }
        for (bound, r) in ratios.sorted(by: { $0.key < $1.key }) {
            t.add([
                .text("MEDIAN"), .text(bound), .text(""), .text(""), .text(""), .text(""),
                .text(fixed(BenchRunner.median(r.encode), 3)), .text(""), .text(""),
                .text(fixed(BenchRunner.median(r.decode), 3)),
            ])
        }
        return t
    }

    /// What `command` (run by `sh -c`) prints on its standard output, and its exit status.
    /// - Throws: `.unavailable` when it cannot be started.
    static func output(of command: String) throws -> (status: Int32, text: String) {
        guard let pipe = popen(command, "r") else { throw AliceDBError(.unavailable, "cannot run \(command)") }
        var text = [UInt8]()
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = buffer.withUnsafeMutableBytes { fread($0.baseAddress, 1, $0.count, pipe) }
            if n == 0 { break }
            text += buffer[0..<n]
        }
        return (pclose(pipe) >> 8, String(decoding: text, as: UTF8.self))  // the exit status (of `sh -c`)
    }

    static func quote(_ s: String) -> String { "'" + s.replacing("'", with: "'\\''") + "'" }
}
