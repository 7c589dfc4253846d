package import AliceFormat
public import Foundation

/// Shared helpers: data set slices, codec round trips and random series.
package enum TestData {
    /// Slices (6 000 rows) of the shared real data sets, committed under Tests/Fixtures.
    package static let datasets: URL = {
        var dir = URL(fileURLWithPath: #filePath)
        for _ in 0..<2 { dir.deleteLastPathComponent() }  // Tests/TestSupport/File → Tests
        return dir.appendingPathComponent("Fixtures/datasets")
    }()

    /// The repository's root (scripts, docs).
    package static let repository: URL = {
        var dir = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { dir.deleteLastPathComponent() }  // Tests/TestSupport/File → the root
        return dir
    }()

    /// The first `limit` rows of a shared data set (ts, value).
    package static func load(_ name: String, limit: Int = .max) -> (ts: [Int64], values: [Double])? {
        guard let text = try? String(contentsOf: datasets.appendingPathComponent(name), encoding: .utf8) else {
            return nil
        }
        var ts = [Int64]()
        var values = [Double]()
        for line in text.split(separator: "\n").dropFirst() {
            if ts.count >= limit { break }
            let parts = line.split(separator: ",")
            guard parts.count == 2, let t = Int64(parts[0]), let v = Double(parts[1]) else { continue }
            ts.append(t)
            values.append(v)
        }
        return (ts, values)
    }

    package static var datasetNames: [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: datasets.path)) ?? []).filter { $0.hasSuffix(".csv") }
            .sorted()
    }
}

package func encodeAll(
    _ ts: [Int64], _ values: [Double], bound: ErrorBound, chunk: Int = 8192, profile: CodingProfile = .compact
) -> [EncodedSegment] {
    var out = [EncodedSegment]()
    ts.withUnsafeBufferPointer { t in
        values.withUnsafeBufferPointer { v in
            var start = 0
            while start < ts.count {
                let end = min(ts.count, start + chunk)
                out += Competition.encode(
                    seriesID: 1, timestamps: t, values: v, range: start..<end, bound: bound,
                    options: FitterOptions(profile: profile))
                start = end
            }
        }
    }
    return out
}

/// A codec's value decoder (`Float32Codec.decode(_:count:into:)` and the like).
package typealias ValueDecoder = (inout ByteReader, Int, inout [Double]) throws(DecodeError) -> Void

/// The values `decode` reads from `bytes`.
package func decodeValues(_ bytes: [UInt8], count: Int, _ decode: ValueDecoder) throws -> [Double] {
    try bytes.withUnsafeBytes { raw in
        var r = ByteReader(raw, from: 0, to: raw.count)
        var out = [Double]()
        try decode(&r, count, &out)
        return out
    }
}

/// `payload` with a byte flipped, and cut short: `decode` must give some values or an error, never trap.
package func decodeDamaged(_ payload: [UInt8], count: Int, _ rng: inout TestRNG, _ decode: ValueDecoder) {
    guard !payload.isEmpty else { return }
    var damaged = payload
    damaged[Int(rng.next() % UInt64(damaged.count))] ^= UInt8(truncatingIfNeeded: rng.next() | 1)
    _ = try? decodeValues(damaged, count: count, decode)
    _ = try? decodeValues(Array(payload.prefix(Int(rng.next() % UInt64(payload.count)))), count: count, decode)
}

/// Deterministic random series of the shapes sensors produce, for property tests.
package struct Recipe: CustomStringConvertible {
    package var shape: Int
    package var clock: Int
    package var seed: UInt64
    package var count: Int

    package static let shapes = 12
    package static let clocks = 6
    /// The bounds the property suites try every recipe under.
    package static let bounds: [ErrorBound] = [
        .lossless, ErrorBound(absolute: 0.01), ErrorBound(absolute: 5), ErrorBound(relativePercent: 1),
        ErrorBound(absolute: 0.61),  // whole readings merge in pairs (`LatticeCodec`)
    ]

    package init(shape: Int, clock: Int, seed: UInt64, count: Int) {
        self.shape = shape
        self.clock = clock
        self.seed = seed
        self.count = count
    }

    package var description: String { "Recipe(shape: \(shape), clock: \(clock), seed: \(seed), count: \(count))" }

    package func make() -> (ts: [Int64], values: [Double]) {
        var rng = TestRNG(seed: seed)
        var ts = [Int64]()
        var values = [Double]()
        var t: Int64 = [0, 1_600_000_000_000, -5_000, Int64.max - 10_000_000, Int64.min + 5][Int(seed % 5)]
        let origin = t
        for i in 0..<count {
            if clock == 5 {
                let (arrival, overflow) = origin.addingReportingOverflow(Int64(i) * 1000 + Int64(rng.next() % 26))
                t = overflow ? t : max(t, arrival)
            }
            ts.append(t)
            let step: Int64
            switch clock {
            case 0: step = 1000  // regular
            case 1: step = 1000 + Int64(rng.next() % 21) - 10  // jitter
            case 2: step = rng.next() % 5 == 0 ? 0 : 1  // duplicates
            case 3: step = rng.next() % 50 == 0 ? Int64(rng.next() % 1_000_000) : 60_000  // gaps
            case 5: step = 0  // arrival times: a 1 s clock plus 0-25 ms delays (below)
            default: step = Int64(rng.next() % 7)  // irregular, with duplicates
            }
            // Saturate at the top of the range: timestamps stay sorted (duplicates there).
            let (next, overflow) = t.addingReportingOverflow(step)
            if !overflow { t = next }
            values.append(value(i, &rng))
        }
        return (ts, values)
    }

    private func value(_ i: Int, _ rng: inout TestRNG) -> Double {
        switch shape {
        case 0:  // constant runs
            return Double((i / (1 + Int(seed % 97))) % 5) * 1.5
        case 1:  // ramps
            return Double(i) * 0.25 + Double(seed % 10)
        case 2:  // noisy sine
            return 20 * _sin(Double(i) / 30) + rng.unit() * 0.3
        case 3:  // special values
            let specials: [Double] = [
                .nan, -.nan, Double(bitPattern: 0x7FF0_0000_0000_0001), Double(bitPattern: 0xFFF8_0000_0000_BEEF),
                .infinity, -.infinity, -0.0, 0.0, .leastNonzeroMagnitude, -.greatestFiniteMagnitude, 1.5,
            ]
            return rng.next() % 3 == 0 ? specials[Int(rng.next() % UInt64(specials.count))] : rng.unit() * 100
        case 4:  // huge and tiny magnitudes
            let e = Double(Int(rng.next() % 600) - 300)
            return (rng.unit() - 0.5) * _pow10(e)
        case 5:  // decimal random walk, 2 decimals
            return Double(Int64(seed % 1000) + Int64(i % 37) - Int64(i % 11)) / 100
        case 6:  // arbitrary bits
            return Double(bitPattern: rng.next())
        case 7:  // few distinct levels
            return [12.5, 13.25, 11.0, 99.125][Int(rng.next() % 4)]
        case 9:  // whole readings (a thermometer's degrees), now and then a tenth
            return Double(Int64(seed % 40) + Int64(i % 23) - Int64(i % 7)) + (rng.next() % 100 == 0 ? 0.1 : 0)
        case 10:  // float32 readings of 4 decimals widened to doubles (88.5187 → 88.51869964599609)
            return Double(Float(Double(Int64(seed % 100_000) + Int64(i % 41) - Int64(i % 13)) / 10_000))
        case 11:  // an oversampled waveform, a little noise, 4 decimals (`InterpolationCodec`'s kind)
            let x = 40 * _sin(Double(i) / 300) + 9 * _sin(Double(i) / 70 + 1) + (rng.unit() - 0.5) * 0.02
            return (x * 10_000).rounded() / 10_000
        default:  // a z-normalised signal printed with 8 significant digits (%.8g), crossing decades
            let x = 1.7 * _sin(Double(i) / 40) + (rng.unit() - 0.5) * 0.05
            return significantDigits(x, 8)
        }
    }
}

package struct TestRNG {
    package var inner: SplitMix
    package init(seed: UInt64) { inner = SplitMix(seed: seed ^ 0x5DEE_CE66_D1CE_4E5B) }
    package mutating func next() -> UInt64 { inner.next() }
    package mutating func unit() -> Double { Double(next() >> 11) / Double(1 << 53) }
}

package func _pow10(_ e: Double) -> Double {
    var r = 1.0
    let n = Int(abs(e))
    for _ in 0..<n { r *= 10 }
    return e < 0 ? 1 / r : r
}

/// `x` rounded to `digits` significant digits, as the shortest decimal text reads back.
package func significantDigits(_ x: Double, _ digits: Int) -> Double {
    guard x != 0 && x.isFinite else { return x }
    var e = 0
    var a = abs(x)
    while a >= 1 {
        a /= 10
        e += 1
    }
    while a < 0.1 {
        a *= 10
        e -= 1
    }
    let decimals = digits - e
    return decimals >= 0
        ? (x * _pow10(Double(decimals))).rounded() / _pow10(Double(decimals))
        : (x / _pow10(Double(-decimals))).rounded() * _pow10(Double(-decimals))
}
