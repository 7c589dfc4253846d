import PropertyBased
import TestSupport
import Testing

@testable import AliceFormat

/// Arrival times of periodic sensors: timestamp mode `tracked`.
@Suite struct TrackedTimestampTests {
    func encode(_ ts: [Int64]) -> [UInt8] { ts.withUnsafeBufferPointer { TimestampCodec.encode($0, 0..<$0.count) } }

    func decode(_ bytes: [UInt8], _ count: Int, first: Int64) throws -> [Int64] {
        try bytes.withUnsafeBytes { raw in
            var r = ByteReader(raw, from: 0, to: raw.count)
            var out = [Int64]()
            try TimestampCodec.decode(&r, count: count, first: first, into: &out)
            return out
        }
    }

    /// A sensor on its own 1 s clock, stamped on arrival 0–25 ms late, now and then missing a reading.
    static func arrivals(_ n: Int, seed: UInt64, period: Double = 1000, gaps: Bool = true) -> [Int64] {
        var rng = TestRNG(seed: seed)
        var ts = [Int64]()
        var k = 0.0
        while ts.count < n {
            k += gaps && rng.next() % 100 == 0 ? 2 : 1
            ts.append(1_700_000_000_000 + Int64(k * period) + Int64(rng.next() % 26))
        }
        return ts
    }

    /// Delays that do not accumulate are coded once each, not twice as deltas: at least 5 % smaller
    /// than the best delta mode, and exact.
    @Test func arrivalDelaysCostLessThanDeltas() throws {
        for (seed, period) in [(1, 1000.0), (2, 1000.3), (3, 59_999.7)] as [(UInt64, Double)] {
            let ts = Self.arrivals(16_000, seed: seed, period: period)
            let bytes = encode(ts)
            #expect(bytes.first == TimestampCodec.Mode.tracked.rawValue, "period \(period)")
            #expect(try decode(bytes, ts.count, first: ts[0]) == ts)
            var deltas = [Int64]()
            for i in 2..<ts.count { deltas.append(ts[i] - ts[i - 1]) }
            let steps = try #require(TimestampCodec.steps(deltas, firstDelta: ts[1] - ts[0]))
            #expect(Double(bytes.count) < 0.95 * Double(steps.bytes.count), "\(bytes.count) vs \(steps.bytes.count)")
        }
    }

    /// A timer that restarts at every send accumulates its delays: the deltas stay smaller.
    @Test func accumulatingDelaysKeepTheDeltas() throws {
        var rng = TestRNG(seed: 4)
        var t: Int64 = 0
        let ts: [Int64] = (0..<8000).map { _ in
            t += 1003 + Int64(rng.next() % 11)
            return t
        }
        let bytes = encode(ts)
        #expect(bytes.first != TimestampCodec.Mode.tracked.rawValue)
        #expect(try decode(bytes, ts.count, first: ts[0]) == ts)
    }

    /// Any series comes back exactly: duplicates, bursts, long gaps, spans too wide for the grid.
    @Test func everySeriesComesBackExactly() async {
        await propertyCheck(count: 300, input: Gen.uint64(), Gen.int(in: 3...3000), Gen.int(in: 0..<5)) {
            seed, n, shape in
            await Task.yield()  // one case at a time: parallel suites share the two pool threads
            var rng = TestRNG(seed: seed)
            // (Periods below the 25 ms of delay reorder arrivals: a segment holds them sorted.)
            var ts = Self.arrivals(n, seed: seed, period: Double(1 + rng.next() % 5000) + 0.37).sorted()
            switch shape {
            case 1: for i in ts.indices.dropFirst() where rng.next() % 7 == 0 { ts[i] = ts[i - 1] }  // duplicates
            case 2: for i in ts.indices.dropFirst(n / 2) { ts[i] += 1 << 40 }  // one huge gap
            case 3: ts = ts.map { Int64.max - 1 - (ts.last! - $0) }  // at the top of the range
            case 4:  // bursts
                for i in 1..<ts.count { ts[i] = ts[i - 1] + Int64(rng.next() % 3) * Int64(rng.next() % 1000) }
            default: break
            }
            let bytes = encode(ts)
            #expect((try? decode(bytes, n, first: ts[0])) == ts, "seed \(seed), shape \(shape), mode \(bytes[0])")
        }
    }

    /// Damaged payloads decode to some times or an error, never a trap; a period of 0 or a shift out
    /// of range is an error.
    @Test func damagedPayloadsNeverTrap() async throws {
        let ts = Self.arrivals(2000, seed: 9)
        let bytes = encode(ts)
        #expect(bytes[0] == TimestampCodec.Mode.tracked.rawValue)
        await propertyCheck(count: 500, input: Gen.uint64()) { seed in
            await Task.yield()  // one case at a time: parallel suites share the two pool threads
            var rng = TestRNG(seed: seed)
            var damaged = bytes
            for _ in 0..<(1 + Int(rng.next() % 3)) {
                damaged[1 + Int(rng.next() % UInt64(damaged.count - 1))] ^= UInt8(truncatingIfNeeded: rng.next() | 1)
            }
            _ = try? decode(damaged, ts.count, first: ts[0])
            _ = try? decode(Array(damaged.prefix(Int(rng.next() % UInt64(damaged.count)))), ts.count, first: ts[0])
        }
        // mode, svarint first delta (1 000…1 025 ms: two bytes), varint period (two bytes), shift.
        var zeroPeriod = bytes
        zeroPeriod[3] = 0
        zeroPeriod[4] = 0
        #expect(throws: DecodeError.self) { try decode(zeroPeriod, ts.count, first: ts[0]) }
        var badShift = bytes
        badShift[5] = 40
        #expect(throws: DecodeError.self) { try decode(badShift, ts.count, first: ts[0]) }
    }
}
