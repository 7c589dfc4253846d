import PropertyBased
import TestSupport
import Testing

@testable import AliceFormat

/// Readings on a decimal lattice, quantised in cells of whole readings (`LatticeCodec`).
@Suite struct LatticeCodecTests {
    /// A random walk of readings printed with `decimals` decimals (a thermometer's).
    static func walk(_ n: Int, decimals: Int, seed: UInt64) -> [Double] {
        var rng = TestRNG(seed: seed)
        var k: Int64 = 200
        let p = PowersOfTen.table[decimals]
        return (0..<n).map { _ in
            k += Int64(rng.next() % 7) - 3
            return Double(k) / p
        }
    }

    func encode(_ values: [Double], _ bound: ErrorBound) -> [UInt8]? {
        values.withUnsafeBufferPointer { LatticeCodec.encode($0, 0..<$0.count, bound: bound) }
    }

    func decode(_ bytes: [UInt8], count: Int) throws -> [Double] {
        try decodeValues(bytes, count: count, LatticeCodec.decode(_:count:into:))
    }

    func lattice(_ values: [Double], _ bound: ErrorBound) -> (e: Int, k: Int)? {
        values.withUnsafeBufferPointer { v in
            LatticeCodec.lattice(v, 0..<v.count, bound: bound, decimals: DecimalCodec.decimals(v, 0..<v.count))
        }
    }

    /// Whole degrees under ±0.61: cells of two readings (error 0.5), where a grid of 1.22 is blind
    /// to the lattice; the competition picks it and it stores a quarter less.
    @Test func wholeDegreesGetCellsOfTwoReadings() throws {
        let values = Self.walk(8000, decimals: 0, seed: 1)
        let bound = ErrorBound(absolute: 0.61)
        #expect(lattice(values, bound)! == (0, 2))
        let bytes = try #require(encode(values, bound))
        let back = try decode(bytes, count: values.count)
        #expect(zip(values, back).allSatisfy { abs($0 - $1) == 0.5 })
        let grid = try #require(
            values.withUnsafeBufferPointer { QuantizedCodec.encode($0, 0..<$0.count, bound: bound) })
        #expect(Double(bytes.count) < 0.85 * Double(grid.count), "\(bytes.count) vs \(grid.count)")
        let ts = (0..<values.count).map { Int64($0) * 60_000 }
        let kinds = Set(encodeAll(ts, values, bound: bound).map(\.header.kind))
        #expect(kinds == [.lattice])
    }

    /// Hundredths stored as float32s and widened (0.43 → 0.4300000071525574) are still hundredths:
    /// cells of three under ±0.0144, within the bound.
    @Test func widenedFloat32ReadingsKeepTheirLattice() throws {
        let values = Self.walk(6000, decimals: 2, seed: 12).map { Double(Float($0)) }
        let bound = ErrorBound(absolute: 0.0144)
        let k = values.withUnsafeBufferPointer { v in
            LatticeCodec.lattice(v, 0..<v.count, bound: bound, decimals: Float32Codec.readingDecimals(v, 0..<v.count))
        }
        #expect(k! == (2, 3))
        let bytes = try #require(encode(values, bound))
        let back = try decode(bytes, count: values.count)
        #expect(zip(values, back).allSatisfy { bound.accepts(original: $0, stored: $1) })
    }

    /// An error of exactly the bound is allowed: integers under ±1 merge three readings, every
    /// error exact in binary, so no exceptions.
    @Test func aBoundOfWholeReadingsReachesItsEdge() throws {
        let values = Self.walk(5000, decimals: 0, seed: 2)
        let bound = ErrorBound(absolute: 1)
        #expect(lattice(values, bound)! == (0, 3))
        let back = try decode(try #require(encode(values, bound)), count: values.count)
        #expect(zip(values, back).allSatisfy { abs($0 - $1) <= 1 })
        #expect(zip(values, back).contains { abs($0 - $1) == 1 })
    }

    /// Where a cell's edge is exactly the bound in decimals (±0.15 on tenths) binary rounding decides
    /// each edge: the codec falls back to a cell less rather than store a tenth of the points as exceptions.
    @Test func decimalEdgesFallBackToASmallerCell() throws {
        let values = Self.walk(5000, decimals: 1, seed: 3)
        let bound = ErrorBound(absolute: 0.15)
        let bytes = try #require(encode(values, bound))
        #expect(bytes[1] == 3 || bytes[1] == 4)
        let back = try decode(bytes, count: values.count)
        #expect(zip(values, back).allSatisfy { bound.accepts(original: $0, stored: $1) })
        #expect(bytes.count < values.count / 2)
    }

    /// No lattice where it would not pay: lossless, a bound below half a reading, readings with
    /// many digits, or cells within 1 % of the grid's.
    @Test func noLatticeWhereItDoesNotPay() {
        let tenths = Self.walk(2000, decimals: 1, seed: 4)
        #expect(lattice(tenths, .lossless) == nil)
        #expect(lattice(tenths, ErrorBound(absolute: 0.04)) == nil)
        #expect(lattice(tenths, ErrorBound(absolute: 3.03)) == nil)  // cells of 61 readings vs 60.6
        #expect(lattice(tenths, ErrorBound(absolute: 3.3)) == nil)  // 67 readings: past `maxCell`
        #expect(lattice(tenths, ErrorBound(absolute: 0.07))! == (1, 2))
        var rng = TestRNG(seed: 5)
        let noise = (0..<2000).map { _ in rng.unit() * 10 }
        #expect(lattice(noise, ErrorBound(absolute: 0.05)) == nil)
    }

    /// Values off the lattice, specials and huge magnitudes come back within the bound or exact.
    @Test func roundTripWithinTheBound() async {
        await propertyCheck(
            count: 300, input: Gen.uint64(), Gen.int(in: 0...3), Gen.int(in: 1...3000), Gen.int(in: 0..<4)
        ) {
            seed, decimals, n, b in
            await Task.yield()  // one case at a time: parallel suites share the two pool threads
            var rng = TestRNG(seed: seed)
            var values = Self.walk(n, decimals: decimals, seed: seed)
            for i in values.indices where rng.next() % 50 == 0 {
                let specials: [Double] = [
                    .nan, .infinity, -.infinity, -0.0, 1e300, -3e17, 0.123456789, values[i] + 1e-7,
                ]
                values[i] = specials[Int(rng.next() % UInt64(specials.count))]
            }
            let d = 1 / PowersOfTen.table[decimals]
            let bound = [
                ErrorBound(absolute: 0.61 * d), ErrorBound(absolute: d), ErrorBound(absolute: 2.3 * d),
                ErrorBound(absolute: 0.4 * d, relativePercent: 0.5),
            ][b]
            guard let bytes = encode(values, bound) else { return }
            guard let back = try? decode(bytes, count: n) else {
                Issue.record("seed \(seed): does not decode")
                return
            }
            for (x, y) in zip(values, back) where !bound.accepts(original: x, stored: y) {
                Issue.record("seed \(seed), \(decimals) decimals, \(bound): \(x) came back as \(y)")
                break
            }
            decodeDamaged(bytes, count: n, &rng, LatticeCodec.decode(_:count:into:))
        }
    }

    /// A cell outside 2…64 readings or more than 18 decimals is an error at its byte.
    @Test func badHeadersAreErrors() throws {
        let bytes = try #require(encode(Self.walk(500, decimals: 0, seed: 6), ErrorBound(absolute: 0.61)))
        for (at, value) in [(0, UInt8(19)), (1, UInt8(0)), (1, UInt8(1)), (1, UInt8(65))] {
            var bad = bytes
            bad[at] = value
            #expect(throws: DecodeError.self) { try decode(bad, count: 500) }
        }
    }
}
