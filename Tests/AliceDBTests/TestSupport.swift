import Foundation
@testable import AliceDB

/// Shared helpers: data set slices and temporary directories.
enum TestData {
    /// Slices (6 000 rows) of the shared real data sets, committed under Tests/Fixtures.
    static let datasets: URL = {
        var dir = URL(fileURLWithPath: #filePath)
        for _ in 0..<2 { dir.deleteLastPathComponent() }  // Tests/AliceDBTests/File → Tests
        return dir.appendingPathComponent("Fixtures/datasets")
    }()

    /// The first `limit` rows of a shared data set (ts, value).
    static func load(_ name: String, limit: Int = .max) -> (ts: [Int64], values: [Double])? {
        guard let text = try? String(contentsOf: datasets.appendingPathComponent(name), encoding: .utf8) else {
            return nil
        }
        var ts = [Int64](), values = [Double]()
        for line in text.split(separator: "\n").dropFirst() {
            if ts.count >= limit { break }
            let parts = line.split(separator: ",")
            guard parts.count == 2, let t = Int64(parts[0]), let v = Double(parts[1]) else { continue }
            ts.append(t)
            values.append(v)
        }
        return (ts, values)
    }

    static var datasetNames: [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: datasets.path)) ?? []).filter { $0.hasSuffix(".csv") }.sorted()
    }
}

/// A fresh directory under the system temp dir, removed when the value is released.
final class TempDir {
    let url: URL
    var path: String { url.path }
    init() {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("alicedb-test-\(UUID().uuidString)")
        try? FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }
    deinit { try? FileManager.default.removeItem(at: url) }
}

func encodeAll(_ ts: [Int64], _ values: [Double], bound: ErrorBound, chunk: Int = 8192) -> [EncodedSegment] {
    var out = [EncodedSegment]()
    ts.withUnsafeBufferPointer { t in
        values.withUnsafeBufferPointer { v in
            var start = 0
            while start < ts.count {
                let end = min(ts.count, start + chunk)
                out += Competition.encode(seriesID: 1, timestamps: t, values: v, range: start..<end, bound: bound)
                start = end
            }
        }
    }
    return out
}

/// A codec's value decoder (`Float32Codec.decode(_:count:into:)` and the like).
typealias ValueDecoder = (inout ByteReader, Int, inout [Double]) throws(DecodeError) -> Void

/// The values `decode` reads from `bytes`.
func decodeValues(_ bytes: [UInt8], count: Int, _ decode: ValueDecoder) throws -> [Double] {
    try bytes.withUnsafeBytes { raw in
        var r = ByteReader(raw, from: 0, to: raw.count)
        var out = [Double]()
        try decode(&r, count, &out)
        return out
    }
}

/// `payload` with a byte flipped, and cut short: `decode` must give some values or an error, never trap.
func decodeDamaged(_ payload: [UInt8], count: Int, _ rng: inout TestRNG, _ decode: ValueDecoder) {
    guard !payload.isEmpty else { return }
    var damaged = payload
    damaged[Int(rng.next() % UInt64(damaged.count))] ^= UInt8(truncatingIfNeeded: rng.next() | 1)
    _ = try? decodeValues(damaged, count: count, decode)
    _ = try? decodeValues(Array(payload.prefix(Int(rng.next() % UInt64(payload.count)))), count: count, decode)
}
