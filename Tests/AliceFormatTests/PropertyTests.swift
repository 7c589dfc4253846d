import PropertyBased
import TestSupport
import Testing

@testable import AliceFormat

@Suite struct PropertyTests {
    static let bounds = Recipe.bounds

    /// Every segment the competition emits decodes to the same timestamps and values within the bound,
    /// under either profile (the seed's parity picks it), and says its profile.
    @Test func competitionRoundTripWithinBound() async {
        await propertyCheck(
            count: 200,
            input: Gen.int(in: 0..<Recipe.shapes), Gen.int(in: 0..<Recipe.clocks), Gen.uint64(), Gen.int(in: 1...2000),
            Gen.int(in: 0..<Self.bounds.count)
        ) { shape, clock, seed, count, b in
            await Task.yield()  // one case at a time: parallel suites share the two pool threads
            let recipe = Recipe(shape: shape, clock: clock, seed: seed, count: count)
            let (ts, values) = recipe.make()
            let bound = Self.bounds[b]
            let profile: CodingProfile = seed & 1 == 0 ? .compact : .fast
            let segments = encodeAll(ts, values, bound: bound, chunk: 1000, profile: profile)
            var outTs = [Int64]()
            var outV = [Double]()
            for s in segments {
                guard let d = try? SegmentFormat.decode(s.bytes) else {
                    Issue.record("\(recipe) \(bound) \(profile): segment does not decode")
                    return
                }
                #expect(d.inconsistency == nil, "\(recipe) \(bound)")
                #expect(d.header.profile == profile && s.header.profile == profile, "\(recipe) \(bound)")
                outTs += d.timestamps
                outV += d.values
            }
            #expect(outTs == ts, "\(recipe) \(bound)")
            #expect(outV.count == values.count)
            for (i, (a, b2)) in zip(values, outV).enumerated() where !bound.accepts(original: a, stored: b2) {
                Issue.record("\(recipe) \(bound): point \(i) \(a) came back as \(b2)")
                break
            }
        }
    }

    /// The range coder gives back every stream exactly (skewed, sparse, wide and extreme values),
    /// and any bytes decode to something or an error, never a trap.
    @Test func rangeCoderRoundTrip() async {
        await propertyCheck(count: 300, input: Gen.uint64(), Gen.int(in: 0...3000), Gen.int(in: 0..<4)) {
            seed, n, shape in
            await Task.yield()  // one case at a time: parallel suites share the two pool threads
            var rng = SplitMix(seed: seed)
            let values: [UInt64] = (0..<n).map { _ in
                let r = rng.next()
                switch shape {
                case 0: return r % 10 < 8 ? 0 : r % 5
                case 1: return r >> (r % 64)
                case 2: return r % 1000 == 0 ? UInt64.max - r % 3 : r % 3
                default: return r
                }
            }
            // Both layouts through `encode`/`decode`, and the tree layout's two width codings.
            typealias Decode = (UnsafeRawBufferPointer, inout [UInt64]) throws(DecodeError) -> Void
            var coders: [(String, [UInt8], Decode)] = [RangeCoder.Layout.bitwise, .trees].map { layout in
                (
                    "\(layout)", RangeCoder.encode(values, layout: layout),
                    { raw, out throws(DecodeError) in
                        try RangeCoder.decode(count: n, from: raw, 0, raw.count, layout: layout, into: &out)
                    }
                )
            }
            coders += [RangeCoder.Widths.tree, .relative].map { widths in
                (
                    "widths \(widths)", RangeCoder.encodeTrees(values, widths: widths),
                    { raw, out throws(DecodeError) in
                        try RangeCoder.decodeTrees(count: n, from: raw, 0, raw.count, widths: widths, into: &out)
                    }
                )
            }
            for (label, bytes, decode) in coders {
                var out = [UInt64]()
                let ok = bytes.withUnsafeBytes { raw in (try? decode(raw, &out)) != nil }
                #expect(ok && out == values, "shape \(shape), \(n) values, \(label)")
                var damaged = bytes
                if !damaged.isEmpty { damaged[Int(rng.next() % UInt64(damaged.count))] ^= 0x5A }
                var junk = [UInt64]()
                _ = damaged.prefix(Int(rng.next() % UInt64(damaged.count + 1))).withUnsafeBytes { raw in
                    try? decode(raw, &junk)
                }
            }
        }
        // Zeros cost a fraction of a bit each; the flush's trailing zero bytes are left to the
        // decoder (an empty stream is one byte, not five).
        #expect(RangeCoder.encode([UInt64](repeating: 0, count: 10_000), layout: .trees).count < 100)
        #expect(RangeCoder.encodeTrees([]).count == 1)
    }

    /// Integer streams range-coded bit by bit (written before the tree layout) still decode.
    @Test func firstLayoutStreamsStillDecode() throws {
        var rng = SplitMix(seed: 42)
        let ks: [Int64] = (0..<5000).map { _ in Int64(rng.next() % 1_000_000) - 500_000 }
        let (order, residuals) = Predictor.bestResiduals(ks)
        var w = ByteWriter(capacity: 16)
        w.u8(UInt8(order) | EntropyStream.rangeCoded)
        Exceptions().write(into: &w)
        w.append(RangeCoder.encode(residuals, layout: .bitwise))
        let back = try w.bytes.withUnsafeBytes { raw in
            var r = ByteReader(raw, from: 0, to: raw.count)
            return try Predictor.readStream(&r, count: ks.count).ks
        }
        #expect(back == ks)
        var fresh = ByteWriter(capacity: 16)
        Predictor.writeStream(ks, exceptions: Exceptions(), into: &fresh)
        #expect(fresh.bytes[0] & EntropyStream.trees != 0 && fresh.bytes != w.bytes)
    }

    /// Streams whose widths went through the bit tree (every stream written before relative widths)
    /// still decode; a stream without levels is written with relative widths now.
    @Test func treeWidthStreamsStillDecode() throws {
        var rng = SplitMix(seed: 7)
        let residuals: [UInt64] = (0..<5000).map { _ in rng.next() % 9 }
        var w = ByteWriter(capacity: 16)
        w.u8(3 | EntropyStream.rangeCoded | EntropyStream.trees)
        Exceptions().write(into: &w)
        w.append(RangeCoder.encodeTrees(residuals, widths: .tree))
        let back = try w.bytes.withUnsafeBytes { raw in
            var r = ByteReader(raw, from: 0, to: raw.count)
            return try EntropyStream.read(&r, count: residuals.count, what: "order")
        }
        #expect(back.tag == 3 && back.values == residuals)
        var fresh = ByteWriter(capacity: 16)
        EntropyStream.write(residuals, tag: 3, exceptions: Exceptions(), into: &fresh)
        #expect(fresh.bytes[0] & EntropyStream.relativeWidths != 0 && fresh.bytes != w.bytes)
    }

    /// Arbitrary bytes never trap the decoder: it returns a segment or an error.
    @Test func randomBytesNeverTrap() async {
        await propertyCheck(count: 2000, input: Gen.uint8().array(of: 0...300)) { bytes in
            await Task.yield()  // one case at a time: parallel suites share the two pool threads
            _ = try? SegmentFormat.decode(bytes)
            var withMagic = SegmentFormat.magic + bytes
            _ = try? SegmentFormat.decode(withMagic)
            // With a valid checksum the codec decoders themselves see the garbage.
            withMagic += [0, 0, 0, 0]
            let crc = CRC32C.checksum(withMagic, to: withMagic.count - 4)
            for k in 0..<4 { withMagic[withMagic.count - 4 + k] = UInt8(truncatingIfNeeded: crc >> (8 * UInt32(k))) }
            _ = try? SegmentFormat.decode(withMagic)
        }
    }

    /// Valid segments (either profile, by the mutation seed's parity) with bytes flipped (and the
    /// checksum fixed) decode or fail cleanly.
    @Test func mutatedSegmentsNeverTrap() async {
        await propertyCheck(
            count: 400, input: Gen.int(in: 0..<Recipe.shapes), Gen.uint64(), Gen.int(in: 0..<Self.bounds.count),
            Gen.uint64()
        ) { shape, seed, b, mutation in
            await Task.yield()  // one case at a time: parallel suites share the two pool threads
            let (ts, values) = Recipe(shape: shape, clock: Int(seed % UInt64(Recipe.clocks)), seed: seed, count: 300)
                .make()
            var rng = TestRNG(seed: mutation)
            let profile: CodingProfile = mutation & 1 == 0 ? .compact : .fast
            for s in encodeAll(ts, values, bound: Self.bounds[b], chunk: 300, profile: profile) {
                for _ in 0..<8 {
                    var bytes = s.bytes
                    for _ in 0..<(1 + Int(rng.next() % 4)) {
                        let i = Int(rng.next() % UInt64(bytes.count - 4))
                        bytes[i] ^= UInt8(truncatingIfNeeded: rng.next() | 1)
                    }
                    let crc = CRC32C.checksum(bytes, to: bytes.count - 4)
                    for k in 0..<4 { bytes[bytes.count - 4 + k] = UInt8(truncatingIfNeeded: crc >> (8 * UInt32(k))) }
                    _ = try? SegmentFormat.decode(bytes)
                    // Truncations too.
                    _ = try? SegmentFormat.decode(Array(bytes[0..<Int(rng.next() % UInt64(bytes.count))]))
                }
            }
        }
    }
}
