import PropertyBased
import TestSupport
import Testing

@testable import AliceFormat

/// Float32 readings widened to doubles (`Float32Codec`).
@Suite struct Float32CodecTests {
    /// A reading printed with `decimals` decimals, stored as a float32 and widened: what a sensor's
    /// float32 becomes in a double column (`88.51872` → `88.51872253417969`).
    static func widened(_ n: Int, decimals: Int, seed: UInt64) -> (text: [Double], widened: [Double]) {
        var rng = TestRNG(seed: seed)
        var k: Int64 = 8_851_872 / Int64(DecimalCodec.integerPowers[5 - min(decimals, 5)])
        let p = PowersOfTen.table[decimals]
        var text = [Double]()
        for _ in 0..<n {
            k += Int64(rng.next() % 41) - 20
            text.append(Double(k) / p)
        }
        return (text, text.map { Double(Float($0)) })
    }

    func lossless(_ values: [Double]) throws -> (bytes: Int, kinds: Set<ModelKind>) {
        let ts = values.indices.map(Int64.init)
        let segments = encodeAll(ts, values, bound: .lossless, chunk: 16384)
        let back = try segments.flatMap { try SegmentFormat.decode($0.bytes).values }
        #expect(back.map(\.bitPattern) == values.map(\.bitPattern))
        return (segments.reduce(0) { $0 + $1.bytes.count }, Set(segments.map(\.header.kind)))
    }

    /// Widened decimals cost what the decimals cost as doubles (within 3 %), not XOR's ~3 bytes.
    @Test func widenedDecimalsCostTheirDigits() throws {
        for decimals in [1, 3, 5] {
            let (text, widened) = Self.widened(20_000, decimals: decimals, seed: UInt64(decimals))
            let asText = try lossless(text)
            let asFloat = try lossless(widened)
            #expect(asFloat.kinds == [.float32], "\(decimals) decimals")
            #expect(
                Double(asFloat.bytes) < 1.03 * Double(asText.bytes),
                "\(decimals) decimals: \(asFloat.bytes) vs \(asText.bytes)")
        }
    }

    /// Float32 noise without decimal structure: its bit patterns as ordered integers, a third less
    /// than XOR of the doubles.
    @Test func float32NoiseCostsItsBits() throws {
        var rng = TestRNG(seed: 3)
        let values = (0..<20_000).map { i in Double(Float(20 + 3 * _sin(Double(i) / 500) + (rng.unit() - 0.5) * 0.1)) }
        let coded = try lossless(values)
        #expect(coded.kinds == [.float32])
        let xor = values.withUnsafeBufferPointer { XORCodec.encode($0, 0..<$0.count) }
        #expect(Double(coded.bytes) < 0.7 * Double(xor.count), "\(coded.bytes) vs xor \(xor.count)")
    }

    /// Doubles with short decimals, or doubles with every bit used, are not float32 data.
    @Test func appliesOnlyToFloat32s() {
        func applies(_ values: [Double]) -> Bool {
            values.withUnsafeBufferPointer { v in
                Float32Codec.applies(v, 0..<v.count, decimals: DecimalCodec.decimals(v, 0..<v.count))
            }
        }
        #expect(applies(Self.widened(2000, decimals: 5, seed: 1).widened))
        #expect(!applies(Self.widened(2000, decimals: 5, seed: 1).text))
        var rng = TestRNG(seed: 2)
        #expect(!applies((0..<2000).map { _ in rng.unit() * 100 }))
        #expect(!applies((0..<2000).map { Double($0) * 0.5 }))  // float32s, but short decimals already
    }

    /// Float32s mixed with doubles, NaN payloads, −0.0, ±inf, subnormals and huge values come back
    /// bit for bit, through the segment format; damaged payloads decode or fail, never trap.
    @Test func anyMixComesBackExactly() async {
        await propertyCheck(count: 200, input: Gen.uint64(), Gen.int(in: 1...3000), Gen.int(in: 0...5)) {
            seed, n, decimals in
            await Task.yield()  // one case at a time: parallel suites share the two pool threads
            var rng = TestRNG(seed: seed)
            var values = Self.widened(n, decimals: decimals, seed: seed).widened
            let specials: [Double] = [
                .nan, Double(bitPattern: 0x7FF8_0000_0000_BEEF), -.nan, .infinity, -.infinity, -0.0, 0.0,
                Double(Float.leastNonzeroMagnitude), Double(Float.greatestFiniteMagnitude), 1e300, 0.1, 1.0 / 3.0,
            ]
            for i in values.indices where rng.next() % 40 == 0 {
                values[i] = specials[Int(rng.next() % UInt64(specials.count))]
            }
            guard
                let payload = values.withUnsafeBufferPointer({
                    Float32Codec.encode($0, 0..<$0.count, views: Competition.innerLossless(FitterOptions()))
                })
            else { return }  // too many exceptions: the other codecs take it
            let back = try? decodeValues(payload, count: n, Self.decode)
            #expect(back?.map(\.bitPattern) == values.map(\.bitPattern), "seed \(seed)")
            decodeDamaged(payload, count: n, &rng, Self.decode)
        }
    }

    /// Views coded by a codec that is not theirs (the float32 codec itself, the lattice) are an error.
    @Test func foreignInnerCodingsAreErrors() throws {
        let values = Self.widened(500, decimals: 4, seed: 8).widened
        let payload = try #require(
            values.withUnsafeBufferPointer {
                Float32Codec.encode($0, 0..<$0.count, views: Competition.innerLossless(FitterOptions()))
            })
        for inner in [ModelKind.float32.rawValue, ModelKind.lattice.rawValue, ModelKind.quantized.rawValue, 0xFE] {
            var bad = payload
            bad[0] = inner
            #expect(throws: DecodeError.self) { try decodeValues(bad, count: values.count, Self.decode) }
        }
    }

    /// The float32 codec's decoder, its views decoded as the registry decodes them.
    static func decode(_ r: inout ByteReader, _ n: Int, _ out: inout [Double]) throws(DecodeError) {
        try CodecRegistry.decode(.float32, &r, count: n, into: &out)
    }
}
