import PropertyBased
import TestSupport
import Testing

@testable import AliceFormat

/// Hierarchical interpolation on the bound's grid (`InterpolationCodec`).
@Suite struct InterpolationCodecTests {
    /// An oversampled waveform (two sines of ~1 900 and ~440 points a period) with noise far below
    /// the bounds tried, four decimals: what a vibration or power-quality sensor sends.
    static func wave(_ n: Int, seed: UInt64 = 1) -> [Double] {
        var rng = TestRNG(seed: seed)
        return (0..<n).map { i in
            let x = 40 * _sin(Double(i) / 300) + 9 * _sin(Double(i) / 70 + 1) + (rng.unit() - 0.5) * 0.02
            return (x * 10_000).rounded() / 10_000
        }
    }

    func encode(
        _ values: [Double], _ bound: ErrorBound,
        methods: [InterpolationCodec.Method] = InterpolationCodec.Method.allCases,
        profile: CodingProfile = .compact
    ) -> [UInt8]? {
        CodingProfile.$current.withValue(profile) {
            values.withUnsafeBufferPointer {
                InterpolationCodec.encode($0, 0..<$0.count, bound: bound, writeStep: true, methods: methods)
            }
        }
    }

    func decode(_ bytes: [UInt8], count: Int) throws -> [Double] {
        try decodeValues(bytes, count: count) { r, n, out throws(DecodeError) in
            try InterpolationCodec.decode(&r, count: n, into: &out)
        }
    }

    /// Every index once, each predicted only from indices visited before it.
    @Test(arguments: [1, 2, 3, 4, 5, 7, 8, 9, 16, 17, 100, 1023, 1024, 1025])
    func walkVisitsEveryIndexOnceFromKnownNeighbours(n: Int) {
        for method in InterpolationCodec.Method.allCases {
            var known = [Bool](repeating: false, count: n)
            var order = [Int]()
            // Every value is its index, so each prediction tells which neighbours it read (NaN if unknown).
            var r = [Double](repeating: .nan, count: n)
            r.withUnsafeMutableBufferPointer { buffer in
                InterpolationCodec.walk(n, method, buffer.baseAddress!) { i, pred in
                    #expect(!known[i], "index \(i) visited twice")
                    #expect(pred.isFinite, "index \(i) of \(n) predicted from an unknown value (\(method))")
                    known[i] = true
                    order.append(i)
                    return Double(i)
                }
            }
            #expect(order.count == n && known.allSatisfy { $0 })
            var bare = [Int]()
            InterpolationCodec.walk(n, method, nil) { i, _ in
                bare.append(i)
                return 0
            }
            #expect(bare == order, "the order alone is the order with predictions")
        }
    }

    /// On a line, every prediction but the first few is exact: the indices are almost all zero.
    @Test func aLineCostsAlmostNothing() throws {
        let values = (0..<4096).map { Double($0) * 0.5 + 3 }
        for method in InterpolationCodec.Method.allCases {
            let bytes = try #require(encode(values, ErrorBound(absolute: 0.01), methods: [method]))
            #expect(bytes.count < 60, "\(method): \(bytes.count) bytes")
            let back = try decode(bytes, count: values.count)
            #expect(zip(values, back).allSatisfy { abs($0 - $1) <= 0.01 })
        }
    }

    /// Both methods, both profiles, absolute and relative bounds: every value within its bound.
    @Test func roundTripWithinBound() throws {
        let values = Self.wave(5000)
        for bound in [ErrorBound(absolute: 0.5), ErrorBound(absolute: 0.003), ErrorBound(relativePercent: 1)] {
            for method in InterpolationCodec.Method.allCases {
                for profile in CodingProfile.allCases {
                    let bytes = try #require(encode(values, bound, methods: [method], profile: profile))
                    let back = try decode(bytes, count: values.count)
                    #expect(back.count == values.count)
                    for (i, (a, b)) in zip(values, back).enumerated() where !bound.accepts(original: a, stored: b) {
                        Issue.record("\(bound) \(method) \(profile): point \(i) \(a) came back as \(b)")
                        break
                    }
                }
            }
        }
    }

    /// NaN payloads, infinities, −0.0 and magnitudes the grid cannot hold are exceptions with their
    /// exact bits, and the values around them still decode within the bound.
    @Test func specialValuesKeepTheirBits() throws {
        var values = Self.wave(600)
        let specials: [Double] = [
            .nan, Double(bitPattern: 0xFFF8_0000_0000_BEEF), .infinity, -.infinity, 1e300, -.greatestFiniteMagnitude,
        ]
        for (k, s) in specials.enumerated() { values[37 + 91 * k] = s }
        values[0] = .nan
        values[599] = .infinity
        let bound = ErrorBound(absolute: 0.05)
        let bytes = try #require(encode(values, bound))
        let back = try decode(bytes, count: values.count)
        for (a, b) in zip(values, back) {
            if a.isFinite {
                #expect(bound.accepts(original: a, stored: b), "\(a) came back as \(b)")
            } else {
                #expect(a.bitPattern == b.bitPattern, "\(a) came back as \(b)")
            }
        }
    }

    /// Where the signal is a smooth function sampled faster than it moves, both-sided prediction
    /// stores markedly less than the best one-sided predictor on the same grid.
    @Test func smoothWaveBeatsTheSequentialGrid() throws {
        let values = Self.wave(16384)
        let bound = ErrorBound(absolute: 0.02)
        let interpolated = try #require(encode(values, bound))
        let sequential = try #require(
            values.withUnsafeBufferPointer { QuantizedCodec.encode($0, 0..<$0.count, bound: bound, writeStep: true) })
        #expect(
            Double(interpolated.count) < Double(sequential.count) * 0.8, "\(interpolated.count) vs \(sequential.count)")
    }

    /// The competition takes it for such a wave, and the segment (step derived from the header)
    /// decodes within the bound under either profile.
    @Test func competitionPicksItForAWave() throws {
        let values = Self.wave(8000)
        let ts = (0..<8000).map { Int64($0) * 10 }
        for profile in CodingProfile.allCases {
            let segments = encodeAll(ts, values, bound: ErrorBound(absolute: 0.02), profile: profile)
            #expect(segments.contains { $0.header.kind == .interpolated }, "\(segments.map(\.header.kind))")
            var back = [Double]()
            for s in segments { back += try SegmentFormat.decode(s.bytes).values }
            #expect(zip(values, back).allSatisfy { abs($0 - $1) <= 0.02 })
        }
    }

    /// A fast segment of either method comes back compact by the same method, bit for bit (the
    /// other method would only land within the bound of the stored values, not on them).
    @Test func recompressionKeepsTheMethod() throws {
        let values = Self.wave(3000)
        let ts = (0..<3000).map { Int64($0) * 10 }
        let bound = ErrorBound(absolute: 0.02)
        for method in InterpolationCodec.Method.allCases {
            let payload = try #require(
                CodingProfile.$current.withValue(.fast) {
                    values.withUnsafeBufferPointer {
                        InterpolationCodec.encode($0, 0..<3000, bound: bound, methods: [method])
                    }
                })
            let header = SegmentHeader(
                seriesID: 1, kind: .interpolated, firstTimestamp: 0, lastTimestamp: ts[2999], bound: bound,
                summary: values.withUnsafeBufferPointer { SegmentSummary($0, 0..<3000) }, maxError: 0.02, profile: .fast
            )
            let tsBytes = ts.withUnsafeBufferPointer { TimestampCodec.encode($0, 0..<3000) }
            let fast = SegmentFormat.encode(header: header, timestampBytes: tsBytes, valueBytes: payload, derived: true)
            let old = try SegmentFormat.decode(fast)
            guard case .recoded(let bytes) = try Recompression.compact(fast) else {
                Issue.record("\(method): not re-encoded")
                continue
            }
            let new = try SegmentFormat.decode(bytes)
            #expect(new.header.kind == .interpolated && new.header.profile == .compact)
            #expect(new.values.map(\.bitPattern) == old.values.map(\.bitPattern), "\(method)")
        }
    }

    /// Fewer than three values, no finite step, or mostly exceptions: another codec's job.
    @Test func declinesWhereTheGridDoesNotApply() {
        #expect(encode([1, 2], ErrorBound(absolute: 0.1)) == nil)
        #expect(encode(Self.wave(100), .lossless) == nil)
        let bits = (0..<100).map { Double(bitPattern: 0x7FF8_0000_0000_0000 | UInt64($0)) }
        #expect(encode(bits, ErrorBound(absolute: 0.1)) == nil)
    }

    /// Damaged payloads decode to something or fail with an error, never a trap.
    @Test func damagedPayloadsNeverTrap() async {
        await propertyCheck(count: 300, input: Gen.uint64(), Gen.int(in: 3...700)) { seed, n in
            await Task.yield()  // one case at a time: parallel suites share the two pool threads
            var rng = TestRNG(seed: seed)
            let values = Self.wave(n, seed: seed)
            let profile: CodingProfile = seed & 1 == 0 ? .compact : .fast
            guard let bytes = encode(values, ErrorBound(absolute: 0.01 + Double(seed % 7)), profile: profile) else {
                Issue.record("a wave of \(n) points did not encode")
                return
            }
            for _ in 0..<8 {
                decodeDamaged(bytes, count: n, &rng) { r, n, out throws(DecodeError) in
                    try InterpolationCodec.decode(&r, count: n, into: &out)
                }
            }
        }
    }
}
