internal import AliceDB
internal import AliceFormat
internal import Foundation
internal import Logging

/// Seeds for fuzz-segment-file and fuzz-wal: the files the engine itself writes. Three databases
/// (series a, b, c created in that order, as the targets' catalog has them: ids 1, 2, 3) under
/// three settings; from each, its WAL file before the first flush, each segment file after a
/// flush, and the file compaction merges them into. Each seed starts with the targets' mode byte
/// 1 (checksums made right; the fuzzer flips it).
extension FuzzSeeds {
    static func writeStoreFiles(to corpus: URL) throws {
        let segments = try directory(corpus.appendingPathComponent("segment-file"))
        let wal = try directory(corpus.appendingPathComponent("wal"))
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("alicedb-fuzz-seeds")
        let settings: [(name: String, options: SeriesOptions)] = [
            ("lossless", SeriesOptions()),
            ("fast", SeriesOptions(profile: .fast)),
            ("bounded", SeriesOptions(bound: ErrorBound(absolute: 0.05), timeTolerance: 20)),
        ]
        var written = (segments: 0, wal: 0)
        for (name, seriesOptions) in settings {
            try? FileManager.default.removeItem(at: scratch)
            var options = DatabaseOptions(sync: .off, logger: Logger(label: "seeds") { _ in SwiftLogNoOpLogHandler() })
            options.maintenanceTimer = false
            let db = try Database(path: scratch.path, options: options)
            _ = try db.createSeries(["a", "b", "c"].map { ($0, seriesOptions) })
            let shapes = synthetic()
            for round in 0..<2 {
                for (i, series) in ["a", "b", "c"].enumerated() {
                    let s = shapes[(3 * i + round) % shapes.count]
                    let shift = Int64(round) * 200_000
                    let n = 48 + 24 * i
                    try db.putBatch(
                        series, timestamps: s.ts.prefix(n).map { $0 + shift }, values: Array(s.values.prefix(n)))
                }
                if round == 0 {
                    try db.writeWAL()
                    for file in try files(scratch.appendingPathComponent("wal"), ".log") {
                        try seed(file, to: wal.appendingPathComponent("\(name)-\(written.wal).log"))
                        written.wal += 1
                    }
                }
                try db.flush()
            }
            for file in try files(scratch.appendingPathComponent("segments"), ".seg") {
                try seed(file, to: segments.appendingPathComponent("\(name)-\(written.segments).seg"))
                written.segments += 1
            }
            _ = try db.compact()
            for file in try files(scratch.appendingPathComponent("segments"), ".seg") {
                try seed(file, to: segments.appendingPathComponent("\(name)-compacted-\(written.segments).seg"))
                written.segments += 1
            }
            try db.close()
        }
        try? FileManager.default.removeItem(at: scratch)
        try Data([1]).write(to: wal.appendingPathComponent("empty.log"))
        print("segment-file: \(written.segments) seeds; wal: \(written.wal + 1) seeds")
    }

    private static func files(_ dir: URL, _ suffix: String) throws -> [URL] {
        try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.hasSuffix(suffix) }.sorted()
            .map { dir.appendingPathComponent($0) }
    }

    private static func seed(_ file: URL, to url: URL) throws {
        try Data([1] + Array(try Data(contentsOf: file))).write(to: url)
    }
}
