import PropertyBased
import TestSupport
import Testing

@testable import AliceFormat

/// Doubles that use every digit, as ordered integers (`OrdinalCodec`).
@Suite struct OrdinalCodecTests {
    /// Noisy readings in full precision: the ordinal codec wins, smaller than XOR and LZMA.
    @Test func fullPrecisionNoiseCostsItsDifferences() throws {
        var rng = TestRNG(seed: 1)
        let values = (0..<20_000).map { i in 20 + 3 * _sin(Double(i) / 500) + (rng.unit() - 0.5) * 0.1 }
        let ts = values.indices.map(Int64.init)
        let segments = encodeAll(ts, values, bound: .lossless, chunk: 16384)
        #expect(Set(segments.map(\.header.kind)) == [.ordinal])
        let back = try segments.flatMap { try SegmentFormat.decode($0.bytes).values }
        #expect(back.map(\.bitPattern) == values.map(\.bitPattern))
        let bytes = segments.reduce(0) { $0 + $1.bytes.count }
        let xor = values.withUnsafeBufferPointer { XORCodec.encode($0, 0..<$0.count) }
        let lzma = try #require(values.withUnsafeBufferPointer { LZMACodec.encode($0, 0..<$0.count) })
        #expect(bytes < min(xor.count, lzma.count), "\(bytes) vs xor \(xor.count), lzma \(lzma.count)")
    }

    /// A noiseless function in full precision (computed values): its fifth or sixth differences
    /// are small, so a high order codes it in a fraction of order 2's bytes, bit for bit, and the
    /// segment names the feature an older node lacks. Readings' codecs still refuse those orders.
    @Test func smoothComputedValuesTakeHighOrders() throws {
        let values = (0..<16_384).map { 100 * _sin(Double($0) / 1000) }
        let ts = values.indices.map(Int64.init)
        let segments = encodeAll(ts, values, bound: .lossless, chunk: 16384)
        #expect(segments.map(\.header.kind) == [.ordinal])
        #expect(try SegmentFormat.decode(segments[0].bytes).values.map(\.bitPattern) == values.map(\.bitPattern))
        let payload = try #require(values.withUnsafeBufferPointer { OrdinalCodec.encode($0, 0..<$0.count) })
        #expect((3...Predictor.smoothOrder).contains(Int(payload[0] & 0x0F)), "order \(payload[0] & 0x0F)")
        var w = ByteWriter()
        values.withUnsafeBufferPointer { v in
            Predictor.writeStream((0..<v.count).map { OrdinalCodec.ordinal(v[$0]) }, exceptions: Exceptions(), into: &w)
        }
        #expect(Double(payload.count) < Double(w.bytes.count) * 0.6, "\(payload.count) vs order ≤ 2: \(w.bytes.count)")
        #expect(FormatFeatures.of(segment: segments[0].bytes).contains("ordinal:smooth"))
        // The same stream is not a decimal's: those stop at order 2.
        payload.withUnsafeBytes { raw in
            var reader = ByteReader(raw)
            #expect(throws: DecodeError.self) { try Predictor.readStream(&reader, count: values.count) }
        }
    }

    /// The order of ordinals is the order of the values, and every pattern maps back to its bits.
    @Test func ordinalsKeepOrderAndBits() async {
        #expect(OrdinalCodec.ordinal(-0.0) == -1 && OrdinalCodec.ordinal(0.0) == 0)
        await propertyCheck(count: 1000, input: Gen.uint64(), Gen.uint64()) { a, b in
            await Task.yield()  // one case at a time: parallel suites share the two pool threads
            let x = Double(bitPattern: a)
            let y = Double(bitPattern: b)
            #expect(OrdinalCodec.double(ordinal: OrdinalCodec.ordinal(x)).bitPattern == a)
            if !x.isNaN && !y.isNaN && x < y { #expect(OrdinalCodec.ordinal(x) < OrdinalCodec.ordinal(y)) }
        }
    }

    /// Any doubles come back bit for bit; damaged payloads decode or fail, never trap.
    @Test func anyBitsComeBackExactly() async {
        await propertyCheck(count: 200, input: Gen.uint64(), Gen.int(in: 1...2000)) { seed, n in
            await Task.yield()  // one case at a time: parallel suites share the two pool threads
            var rng = TestRNG(seed: seed)
            let values: [Double] = (0..<n).map { i in
                switch rng.next() % 6 {
                case 0: Double(bitPattern: rng.next())
                case 1: [.nan, -.nan, .infinity, -.infinity, -0.0, .leastNonzeroMagnitude][Int(rng.next() % 6)]
                default: _sin(Double(i) / 50) * 1e3 + rng.unit()
                }
            }
            guard let payload = values.withUnsafeBufferPointer({ OrdinalCodec.encode($0, 0..<$0.count) }) else {
                Issue.record("no payload")
                return
            }
            let back = try? decodeValues(payload, count: n, OrdinalCodec.decode(_:count:into:))
            #expect(back?.map(\.bitPattern) == values.map(\.bitPattern), "seed \(seed)")
            decodeDamaged(payload, count: n, &rng, OrdinalCodec.decode(_:count:into:))
        }
    }
}
