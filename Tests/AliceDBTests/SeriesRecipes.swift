@testable import AliceDB

/// Deterministic random series of the shapes sensors produce, for property tests.
struct Recipe: CustomStringConvertible {
    var shape: Int
    var clock: Int
    var seed: UInt64
    var count: Int

    static let shapes = 11
    static let clocks = 6

    var description: String { "Recipe(shape: \(shape), clock: \(clock), seed: \(seed), count: \(count))" }

    func make() -> (ts: [Int64], values: [Double]) {
        var rng = TestRNG(seed: seed)
        var ts = [Int64](), values = [Double]()
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
        default:  // a z-normalised signal printed with 8 significant digits (%.8g), crossing decades
            let x = 1.7 * _sin(Double(i) / 40) + (rng.unit() - 0.5) * 0.05
            return significantDigits(x, 8)
        }
    }
}

struct TestRNG {
    var inner: SplitMix
    init(seed: UInt64) { inner = SplitMix(seed: seed ^ 0x5DEE_CE66_D1CE_4E5B) }
    mutating func next() -> UInt64 { inner.next() }
    mutating func unit() -> Double { Double(next() >> 11) / Double(1 << 53) }
}

func _pow10(_ e: Double) -> Double {
    var r = 1.0
    let n = Int(abs(e))
    for _ in 0..<n { r *= 10 }
    return e < 0 ? 1 / r : r
}

/// `x` rounded to `digits` significant digits, as the shortest decimal text reads back.
func significantDigits(_ x: Double, _ digits: Int) -> Double {
    guard x != 0 && x.isFinite else { return x }
    var e = 0
    var a = abs(x)
    while a >= 1 { a /= 10; e += 1 }
    while a < 0.1 { a *= 10; e -= 1 }
    let decimals = digits - e
    return decimals >= 0 ? (x * _pow10(Double(decimals))).rounded() / _pow10(Double(decimals))
        : (x / _pow10(Double(-decimals))).rounded() * _pow10(Double(-decimals))
}
