import AliceDB

#if canImport(Glibc)
    import Glibc
#endif

/// `alicedb bench --peers PYTHON`: the peer compressors of `../shared/tools/peers.py`, run on the
/// same files in the same command, beside our bytes per data set and bound, and which of them is
/// smallest. Lossless: pcodec, xz -9, zstd -19. At a bound: SZ3, the values on the bound's grid
/// coded by pcodec ("grid + pcodec"), zfp, and the lossless peers (which meet any bound).
struct PeerTable {
    /// One data set's bytes/point by peer, as peers.py printed them.
    struct Row {
        var lossless: [String: Double] = [:]
        var lossy: [String: Double] = [:]
        /// Lossy peers whose output broke the bound (peers.py's '!'): shown, never the winner.
        var broken: Set<String> = []
    }

    static let losslessPeers = ["pcodec", "xz9", "zstd19"]
    static let lossyPeers = ["sz3", "grid+pcodec", "zfp"]
    /// peers.py's columns after the name, in its order.
    static let columns = ["points", "raw", "ts_zstd", "zstd19", "xz9", "pcodec", "zfp", "sz3", "grid+pcodec"]

    let python: String
    let script: String

    /// peers.py's rows for `files` (paths) at bound `fraction` of each set's range, by data set name.
    /// - Throws: `.unavailable`, naming the command, when it cannot run or prints no rows.
    func run(files: [String], fraction: Double, workDir: String) throws -> [String: Row] {
        // peers.py reads a folder: one of links to just these files.
        let folder = workDir + "/peers-\(fraction)"
        try? FileIO.removeDirectory(folder)
        try FileIO.makeDirectory(folder)
        defer { try? FileIO.removeDirectory(folder) }
        for file in files {
            let name = file.split(separator: "/").last.map(String.init) ?? file
            let target = file.hasPrefix("/") ? file : Self.currentDirectory() + "/" + file
            guard symlink(target, folder + "/" + name) == 0 else {
                throw AliceDBError(.io, "cannot link \(target) into \(folder)", path: folder)
            }
        }
        let command = [python, script, folder, "--eps", "\(fraction)"].map(PeerBench.quote).joined(separator: " ")
        let (status, text) = try PeerBench.output(of: command)
        let rows = Self.parse(text)
        guard status == 0, !rows.isEmpty else {
            throw AliceDBError(
                .unavailable,
                "\(command) failed (exit status \(status)); it needs the peers' Python (../shared/tools/setup-peers.sh)"
            )
        }
        return rows
    }

    static func currentDirectory() -> String {
        var buf = [CChar](repeating: 0, count: 4096)
        guard getcwd(&buf, buf.count) != nil else { return "." }
        return String(decoding: buf.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// The rows of peers.py's text table (a line per data set: its name, then numbers in `columns`).
    static func parse(_ text: String) -> [String: Row] {
        var rows = [String: Row]()
        for line in text.split(separator: "\n") {
            let parts = line.split(separator: " ", omittingEmptySubsequences: true).map(String.init)
            guard parts.count >= columns.count + 1, parts[1].allSatisfy(\.isNumber) else { continue }
            var row = Row()
            for (column, field) in zip(columns, parts.dropFirst()) {
                let broken = field.hasSuffix("!")
                guard let v = Double(broken ? String(field.dropLast()) : field) else { continue }
                if losslessPeers.contains(column) { row.lossless[column] = v }
                if lossyPeers.contains(column) {
                    row.lossy[column] = v
                    if broken { row.broken.insert(column) }
                }
            }
            rows[parts[0]] = row
        }
        return rows
    }

    /// Per data set and bound: ours, each peer, the smallest peer and which of all is smallest; then
    /// per bound the sets won and the means. `peers` holds peers.py's rows by lossy fraction.
    static func table(
        _ results: [BenchRunner.Result], _ peers: [Double: [String: Row]], label: (Double) -> String
    ) -> Table {
        var t = Table(
            ["dataset", "bound", "alicedb"] + lossyPeers + losslessPeers + ["best_peer", "alicedb/best", "winner"])
        var tally = [Double: (won: Int, sets: Int, ours: Double, best: Double)]()
        for r in results {
            // Lossless peers come with every peers.py run; a lossy bound needs its own.
            guard let row = (r.fraction == 0 ? peers.values.first : peers[r.fraction])?[r.name] else { continue }
            var eligible = row.lossless
            if r.fraction > 0 {
                for (k, v) in row.lossy where !row.broken.contains(k) { eligible[k] = v }
            }
            guard let best = eligible.min(by: { $0.value < $1.value || ($0.value == $1.value && $0.key < $1.key) })
            else { continue }
            let won = r.bytesPerPoint <= best.value
            var cells: [Cell] = [.text(r.name), .text(label(r.fraction)), .text(fixed(r.bytesPerPoint, 3))]
            for k in lossyPeers {
                let v = r.fraction > 0 ? row.lossy[k] : nil
                cells.append(v.map { .text(fixed($0, 3) + (row.broken.contains(k) ? "!" : "")) } ?? .null)
            }
            for k in losslessPeers { cells.append(row.lossless[k].map { .text(fixed($0, 3)) } ?? .null) }
            cells += [
                .text(best.key), .text(fixed(r.bytesPerPoint / best.value, 3)), .text(won ? "alicedb" : best.key),
            ]
            t.add(cells)
            var s = tally[r.fraction] ?? (0, 0, 0, 0)
            s = (s.won + (won ? 1 : 0), s.sets + 1, s.ours + r.bytesPerPoint, s.best + best.value)
            tally[r.fraction] = s
        }
        for (fraction, s) in tally.sorted(by: { $0.key < $1.key }) {
            var cells: [Cell] = [.text("WON \(s.won)/\(s.sets)"), .text(label(fraction))]
            cells.append(.text(fixed(s.ours / Double(s.sets), 3)))
            cells += Array(repeating: .null, count: lossyPeers.count + losslessPeers.count)
            // best_peer: the mean of the best peers' bytes; alicedb/best: the ratio of the means.
            cells += [.text(fixed(s.best / Double(s.sets), 3)), .text(fixed(s.ours / s.best, 3)), .null]
            t.add(cells)
        }
        return t
    }
}
