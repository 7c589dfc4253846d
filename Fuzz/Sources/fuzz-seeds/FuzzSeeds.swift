internal import AliceFormat
internal import Foundation

/// Writes the committed seed corpora (`Fuzz/corpus/TARGET/`) from the committed data set slices
/// (`Tests/Fixtures/datasets`) and a few synthetic shapes: real segments of every model kind the
/// competition picks, under both profiles and several bounds; uplink batches of them; MQTT payloads.
/// Run by `scripts/fuzz.sh --seeds`; the same inputs give the same files.
@main struct FuzzSeeds {
    static func main() throws {
        let root = URL(fileURLWithPath: CommandLine.arguments.count > 1 ? CommandLine.arguments[1] : ".")
        let corpus = root.appendingPathComponent("Fuzz/corpus")
        let segments = try writeSegments(root: root, to: corpus.appendingPathComponent("segment"))
        try writeBatches(segments, to: corpus.appendingPathComponent("batch"))
        try writeSnapped(
            segments: corpus.appendingPathComponent("segment"), batches: corpus.appendingPathComponent("batch"))
        try writePayloads(to: corpus.appendingPathComponent("payload"))
        try writeStoreFiles(to: corpus)
    }

    /// A fresh directory (its old seeds removed, so that a changed generator leaves no strays).
    static func directory(_ url: URL) throws -> URL {
        try? FileManager.default.removeItem(at: url)
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    /// The first `count` points from `offset` of a data set slice.
    static func slice(_ root: URL, _ name: String, offset: Int, count: Int) -> (ts: [Int64], values: [Double]) {
        let url = root.appendingPathComponent("Tests/Fixtures/datasets/\(name)")
        guard let text = try? String(contentsOf: url, encoding: .utf8) else { return ([], []) }
        var ts = [Int64]()
        var values = [Double]()
        for line in text.split(separator: "\n").dropFirst(1 + offset).prefix(count) {
            let parts = line.split(separator: ",")
            guard parts.count == 2, let t = Int64(parts[0]), let v = Double(parts[1]) else { continue }
            ts.append(t)
            values.append(v)
        }
        return (ts, values)
    }

    /// Shapes the data sets rarely give whole: the function models, a categorical, noise.
    static func synthetic() -> [(name: String, ts: [Int64], values: [Double])] {
        let ts = (0..<96).map { 1_700_000_000_000 + Int64($0) * 1000 }
        var rng = SplitMix(seed: 24)
        return [
            ("constant", ts, ts.map { _ in 21.5 }),
            ("linear", ts, ts.indices.map { 3 + 0.25 * Double($0) }),
            ("quadratic", ts, ts.indices.map { 0.01 * Double($0 * $0) - Double($0) + 7 }),
            ("sine", ts, ts.indices.map { 10 * sin(Double($0) * 0.2) + 50 }),
            ("states", ts, ts.indices.map { [0, 1, 2, 5][($0 / 7) % 4] }),
            ("noise", ts, ts.indices.map { _ in Double(bitPattern: rng.next() >> 2) }),
            (
                "float32", ts,
                ts.indices.map { _ in Double(Float(bitPattern: UInt32(truncatingIfNeeded: rng.next()) >> 2)) }
            ),
            ("gappy", ts.indices.map { ts[$0] + Int64($0 % 5 == 0 ? 17 : 0) }, ts.indices.map { Double($0 % 9) / 4 }),
            ("dictionary", ts, ts.indices.map { _ in [3.14159, -2.71828, 1e6 + 0.1][Int(rng.next() % 3)] }),
            (
                "walk", ts,
                ts.indices.reduce(into: [Double]()) { w, _ in w.append((w.last ?? 0) + Double(rng.next() % 1000) / 997)
                }
            ),
            ("slow-sine", ts, ts.indices.map { 1000 * sin(Double($0) * 0.05) }),
            ("nan", ts, ts.indices.map { $0 % 11 == 0 ? .nan : Double($0) / 8 }),
        ]
    }

    /// Keeps the two smallest segments per (model kind, profile, derived step); returns them all.
    static func writeSegments(root: URL, to dir: URL) throws -> [[UInt8]] {
        let dir = try directory(dir)
        let names =
            ((try? FileManager.default.contentsOfDirectory(atPath: root.path + "/Tests/Fixtures/datasets")) ?? [])
            .filter { $0.hasSuffix(".csv") }.sorted()
        var series = synthetic()
        for name in names {
            series.append(
                (name, slice(root, name, offset: 500, count: 160).ts, slice(root, name, offset: 500, count: 160).values)
            )
        }
        let bounds = [
            ErrorBound(), ErrorBound(absolute: 0.05), ErrorBound(absolute: 0.5), ErrorBound(relativePercent: 1),
        ]
        var best = [String: [(name: String, bytes: [UInt8])]]()
        for s in series where !s.ts.isEmpty {
            for bound in bounds {
                for profile in [CodingProfile.compact, .fast] {
                    let encoded = s.ts.withUnsafeBufferPointer { t in
                        s.values.withUnsafeBufferPointer { v in
                            Competition.encode(
                                seriesID: 1, timestamps: t, values: v, range: 0..<s.ts.count, bound: bound,
                                options: FitterOptions(profile: profile))
                        }
                    }
                    for e in encoded where e.bytes.count <= 2048 {
                        let derived = e.bytes.withUnsafeBytes {
                            SegmentFormat.derivesFromHeader($0)
                        }
                        let key = "\(e.header.kind)-\(profile.rawValue)\(derived ? "-derived" : "")"
                        var kept = best[key, default: []]
                        kept.append((s.name.replacingOccurrences(of: ".csv", with: ""), e.bytes))
                        kept.sort { $0.bytes.count < $1.bytes.count }
                        best[key] = Array(kept.prefix(2))
                    }
                }
            }
        }
        var all = [[UInt8]]()
        for (key, kept) in best.sorted(by: { $0.key < $1.key }) {
            for (i, k) in kept.enumerated() {
                try Data(k.bytes).write(to: dir.appendingPathComponent("\(key)-\(k.name)-\(i).seg"))
                all.append(k.bytes)
            }
        }
        print("segment: \(all.count) seeds, keys: \(best.keys.sorted().joined(separator: " "))")
        return all
    }

    /// Segments whose timestamps are snapped under a time tolerance (timestamp mode `snapped`): a 1 s
    /// clock stamped 0–25 ms late, under ±25 ms, both profiles; and a batch of them. Written after the
    /// others, into the same directories, so that the other seeds stay as they were.
    static func writeSnapped(segments: URL, batches: URL) throws {
        var rng = SplitMix(seed: 25)
        let ts = (0..<160).map { 1_700_000_000_000 + Int64($0) * 1000 + Int64(rng.next() % 26) }
        let values = ts.indices.map { Double($0 % 23) / 4 }
        var written = [[UInt8]]()
        for profile in [CodingProfile.compact, .fast] {
            for bound in [ErrorBound(), ErrorBound(absolute: 0.5)] {
                let encoded = ts.withUnsafeBufferPointer { t in
                    values.withUnsafeBufferPointer { v in
                        Competition.encode(
                            seriesID: 1, timestamps: t, values: v, range: 0..<ts.count, bound: bound,
                            timeTolerance: 25, options: FitterOptions(profile: profile))
                    }
                }
                for e in encoded where e.header.timeTolerance > 0 {
                    let name = "snapped-\(profile.rawValue)-\(e.header.kind)-\(written.count).seg"
                    try Data(e.bytes).write(to: segments.appendingPathComponent(name))
                    written.append(e.bytes)
                }
            }
        }
        let entries = written.enumerated().map {
            SegmentBatch.Entry(series: "gw.arrivals\($0.offset)", bound: .lossless, segment: $0.element)
        }
        try Data(SegmentBatch(entries: entries).encode()).write(to: batches.appendingPathComponent("batch-snapped.bin"))
        print("snapped: \(written.count) segment seeds, 1 batch")
    }

    static func writeBatches(_ segments: [[UInt8]], to dir: URL) throws {
        let dir = try directory(dir)
        var written = 0
        for (i, start) in stride(from: 0, to: segments.count, by: 3).enumerated() {
            let entries = segments[start..<min(segments.count, start + 1 + i % 3)].enumerated().map {
                SegmentBatch.Entry(
                    series: "gw\(i).sensor\($0.offset)", bound: ErrorBound(absolute: 0.05), segment: $0.element)
            }
            try Data(SegmentBatch(entries: entries).encode()).write(to: dir.appendingPathComponent("batch-\(i).bin"))
            written += 1
        }
        try Data(SegmentBatch().encode()).write(to: dir.appendingPathComponent("empty.bin"))
        print("batch: \(written + 1) seeds")
    }

    /// The first byte picks the topic (fuzz-payload: 0 a number, 1 JSON with `ts`, 2 and 3 JSON on arrival).
    static func writePayloads(to dir: URL) throws {
        let dir = try directory(dir)
        let payloads: [(String, UInt8, String)] = [
            ("number-int", 0, "21"), ("number-decimal", 0, "-12.375"), ("number-exp", 0, "1.5e-3"),
            ("number-space", 0, " 230.5\n"), ("number-inf", 0, "inf"), ("number-nan", 0, "NaN"),
            ("json-seconds", 1, #"{"ts": 1700000000, "power": 12.5, "electrical": {"voltage": 230.1}}"#),
            ("json-millis", 1, #"{"ts": 1700000000123, "power": "7.25", "values": [1, 2]}"#),
            ("json-micros", 1, #"{"ts": 1700000000123456, "power": true, "electrical": {"voltage": null}}"#),
            ("json-nanos", 1, #"{"ts": 1700000000123456789, "values": [3.5e2]}"#),
            ("json-fraction", 1, #"{"ts": 1700000000.25, "power": -1}"#),
            ("json-rfc3339-z", 1, #"{"ts": "2023-11-14T22:13:20Z", "power": 1}"#),
            ("json-rfc3339-frac", 1, #"{"ts": "2023-11-14T22:13:20.123456+02:00", "power": 2}"#),
            ("json-rfc3339-lower", 1, #"{"ts": "2023-11-14t22:13:20.5-05:30", "power": 3}"#),
            ("json-ts-text-number", 1, #"{"ts": "1700000000000", "power": 4}"#),
            ("json-ts-bad", 1, #"{"ts": "yesterday", "power": 5}"#),
            ("json-missing", 1, #"{"ts": 1700000000, "other": 1}"#),
            ("json-arrival", 2, #"{"v": 1.25, "a": {"b": {"c": {"d": 9}}}}"#),
            ("json-array", 3, #"[{"v": 1}]"#), ("json-escape", 2, #"{"v": "\u0031\u002e5"}"#),
        ]
        for (name, topic, text) in payloads {
            try Data([topic] + Array(text.utf8)).write(to: dir.appendingPathComponent("\(name).txt"))
        }
        print("payload: \(payloads.count) seeds")
    }
}

/// A small deterministic generator, so that the seeds do not change between runs.
struct SplitMix {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
