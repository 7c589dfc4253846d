import PropertyBased
import TestSupport
import Testing

@testable import AliceFormat

@Suite struct TableCoderTests {
    /// Values of one of several shapes: skewed small residuals, every bit width, rare extremes,
    /// uniform 64-bit words, a constant, and a two-valued signal.
    static func values(_ shape: Int, _ n: Int, _ rng: inout SplitMix) -> [UInt64] {
        (0..<n).map { _ in
            let r = rng.next()
            switch shape {
            case 0: return r % 10 < 8 ? r % 3 : r % 50
            case 1: return r >> (r % 64)
            case 2: return r % 1000 == 0 ? UInt64.max - r % 3 : r % 3
            case 3: return r
            case 4: return 12_345
            default: return r % 97 == 0 ? 1 : 0
            }
        }
    }

    static func decode(_ bytes: [UInt8], count: Int) throws -> [UInt64] {
        var out = [UInt64]()
        try bytes.withUnsafeBytes { raw in try TableCoder.decode(count: count, from: raw, 0, raw.count, into: &out) }
        return out
    }

    /// Every stream comes back exactly, including the last batch's tail (n not a multiple of 4 or
    /// 256); damaged or cut bytes decode to something or an error, never a trap.
    @Test func roundTrip() async {
        await propertyCheck(count: 300, input: Gen.uint64(), Gen.int(in: 0...3000), Gen.int(in: 0..<6)) {
            seed, n, shape in
            await Task.yield()  // one case at a time: parallel suites share the two pool threads
            var rng = SplitMix(seed: seed)
            let values = Self.values(shape, n, &rng)
            let bytes = TableCoder.encode(values)
            #expect((try? Self.decode(bytes, count: n)) == values, "shape \(shape), \(n) values")
            var damaged = bytes
            damaged[Int(rng.next() % UInt64(damaged.count))] ^= UInt8(truncatingIfNeeded: rng.next() | 1)
            _ = try? Self.decode(damaged, count: n)
            _ = try? Self.decode(Array(bytes.prefix(Int(rng.next() % UInt64(bytes.count)))), count: n)
        }
    }

    /// Random bytes under any count never trap.
    @Test func randomBytesNeverTrap() async {
        await propertyCheck(count: 300, input: Gen.uint64(), Gen.int(in: 0...600), Gen.int(in: 0...2000)) {
            seed, length, n in
            var rng = SplitMix(seed: seed)
            var bytes = (0..<length).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
            if !bytes.isEmpty { bytes[0] %= 12 }  // a valid table size, to reach the bins and bits
            _ = try? Self.decode(bytes, count: n)
        }
    }

    /// A skewed stream costs close to its entropy; a constant costs its header; one bin codes
    /// raw bits without a table.
    @Test func sizes() throws {
        var rng = SplitMix(seed: 7)
        // Geometric residuals: P(k) = 2^-(k+1), entropy 2 bits (with the sign: zig-zag spreads it).
        let geometric: [UInt64] = (0..<16_384).map { _ in UInt64((rng.next() | 1 << 40).trailingZeroBitCount) }
        let bits = Double(TableCoder.encode(geometric).count * 8) / Double(geometric.count)
        #expect(bits < 2.1, "\(bits) bits a value")
        #expect(TableCoder.encode([UInt64](repeating: 9, count: 10_000)).count <= 4)
        let uniform: [UInt64] = (0..<4096).map { _ in rng.next() & 0xFFF }
        let (_, sizeLog) = try TableCoder.encode(uniform).withUnsafeBytes { raw in
            var r = ByteReader(raw)
            return try TableCoder.readHeader(&r)
        }
        #expect(sizeLog == 0)
        #expect(try Self.decode(TableCoder.encode(uniform), count: uniform.count) == uniform)
        #expect(try Self.decode(TableCoder.encode([]), count: 0) == [])
    }

    /// The classes tile the 64-bit values in order, and a bin's offset bits cover its classes.
    @Test func classes() {
        var previousUpper: UInt64? = nil
        for c in 0..<TableCoder.classCount {
            let lower = TableCoder.classLower(c)
            let upper = TableCoder.classUpper(c)
            #expect(previousUpper.map { $0 &+ 1 } ?? 0 == lower, "class \(c)")
            #expect(TableCoder.classOf(lower) == c && TableCoder.classOf(upper) == c, "class \(c)")
            previousUpper = upper
        }
        #expect(previousUpper == UInt64.max)
        let bin = TableCoder.Bin(first: 3, last: 20)
        #expect(TableCoder.classUpper(20) - bin.lower < 1 << UInt64(bin.offsetBits))
    }
}
