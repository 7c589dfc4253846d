import TestSupport
import Testing

@testable import AliceFormat

@Suite struct CompetitionTests {
    @Test func losslessRoundTripOnEveryDataset() throws {
        #expect(TestData.datasetNames.count == 19)
        for name in TestData.datasetNames {
            let (ts, values) = try #require(TestData.load(name, limit: 20_000))
            let segments = encodeAll(ts, values, bound: .lossless)
            var outTs = [Int64]()
            var outV = [Double]()
            var bytes = 0
            var kinds = [String: Int]()
            for s in segments {
                let d = try SegmentFormat.decode(s.bytes)
                outTs += d.timestamps
                outV += d.values
                bytes += s.bytes.count
                kinds[s.header.kind.description, default: 0] += s.header.count
            }
            #expect(outTs == ts, "\(name)")
            #expect(outV.map(\.bitPattern) == values.map(\.bitPattern), "\(name)")
            // Never worse than raw doubles plus a little header, whatever the data.
            #expect(Double(bytes) / Double(ts.count) < 8.5, "\(name): \(kinds)")
        }
    }

    @Test func boundedRoundTripOnEveryDataset() throws {
        for name in TestData.datasetNames {
            let (ts, values) = try #require(TestData.load(name, limit: 20_000))
            let range = (values.max()! - values.min()!)
            let bound = ErrorBound(absolute: range * 0.01)
            let segments = encodeAll(ts, values, bound: bound)
            var outV = [Double]()
            var bytes = 0
            var kinds = [String: Int]()
            for s in segments {
                let d = try SegmentFormat.decode(s.bytes)
                outV += d.values
                bytes += s.bytes.count
                kinds[s.header.kind.description, default: 0] += s.header.count
            }
            #expect(outV.count == values.count)
            for (a, b) in zip(values, outV) where !(abs(a - b) <= bound.absolute) {
                Issue.record("\(name): \(a) vs \(b)")
                break
            }
            #expect(Double(bytes) / Double(ts.count) < 1.5, "\(name) at 1 %: \(kinds)")
        }
    }
}

@Suite struct CodecChoiceTests {
    func kinds(_ ts: [Int64], _ values: [Double], _ bound: ErrorBound) -> Set<ModelKind> {
        Set(encodeAll(ts, values, bound: bound, chunk: 16384).map(\.header.kind))
    }

    /// Values with a few more decimals than the rest (8 significant digits at every magnitude, as
    /// the UCR archive prints) come back bit for bit, refined rather than exceptions.
    @Test func decimalsWithMoreDigitsHereAndThereStayExact() throws {
        var rng = TestRNG(seed: 11)
        var values = [Double]()
        var x = 0.3
        for i in 0..<5000 {
            x += Double(Int64(rng.next() % 2001) - 1000) * 1e-5
            let digits = i % 37 == 0 ? 11 : i % 11 == 0 ? 9 : 8
            values.append(Double(String(format8(x, digits)))!)
        }
        values[100] = -0.0
        values[200] = .nan
        values[300] = 1.2345678e-7
        values[400] = 123_456_789_012.5  // one decimal, yet past 2^53 at the segment's exponent
        let ts = values.indices.map { Int64($0) }
        let segments = encodeAll(ts, values, bound: .lossless, chunk: 16384)
        var out = [Double]()
        for s in segments { out += try SegmentFormat.decode(s.bytes).values }
        #expect(out.map(\.bitPattern) == values.map(\.bitPattern))
        #expect(!Set(segments.map(\.header.kind)).isDisjoint(with: [.decimal, .significant]))
        let bytes = segments.reduce(0) { $0 + $1.bytes.count }
        #expect(Double(bytes) / Double(values.count) < 3.5, "\(bytes) bytes")
    }

    /// Eight significant digits at every magnitude (the UCR archive's `%.8g`): the digits a value
    /// has follow its decade, and each point costs only those, across zero and decade crossings.
    @Test func significantDigitsAcrossDecadesCostTheirDigits() throws {
        var rng = TestRNG(seed: 3)
        var values = [Double]()
        for i in 0..<12_000 {
            let x = 3 * _sin(Double(i) / 300) + (rng.unit() - 0.5) * 1e-3
            values.append(significantDigits(x, 8))
        }
        values[10] = 0
        values[20] = -0.0
        values[30] = .infinity
        values[40] = 1.234567891234  // more digits than the rest: an exception
        values[50] = 3e-300
        let ts = values.indices.map { Int64($0) }
        let segments = encodeAll(ts, values, bound: .lossless, chunk: 16384)
        var out = [Double]()
        for s in segments { out += try SegmentFormat.decode(s.bytes).values }
        #expect(out.map(\.bitPattern) == values.map(\.bitPattern))
        #expect(segments.map(\.header.kind) == [.significant])
        // One decimal exponent would pay ~3.3 bits more on every value above 1 and refine those
        // below 0.1; the noise here is ~15 bits of the 8 digits.
        let decimal = try #require(values.withUnsafeBufferPointer { DecimalCodec.encode($0, 0..<$0.count) })
        let significant = try #require(values.withUnsafeBufferPointer { SignificantCodec.encode($0, 0..<$0.count) })
        #expect(Double(significant.count) < 0.9 * Double(decimal.count), "\(significant.count) vs \(decimal.count)")
    }

    /// Noise that grows with the reading (Beijing's PM2.5, whose hour-to-hour change is larger on
    /// smoggy days): the residuals' widths coded under the level of the value before cost less
    /// than under the previous residual alone, and decode. (Relative widths, without levels, come
    /// within 0.3 % of the levels here: the previous width follows the noise too.)
    @Test func levelContextsLearnNoiseThatGrowsWithTheReading() throws {
        let (_, values) = try #require(TestData.load("beijing_pm25.csv"))
        let ks = values.map { Int64($0) }
        #expect(ks.map(Double.init) == values)
        let (order, residuals) = Predictor.bestResiduals(ks)
        var plain = ByteWriter(capacity: 16)
        var leveled = ByteWriter(capacity: 16)
        EntropyStream.write(residuals, tag: UInt8(order), exceptions: Exceptions(), widths: .tree, into: &plain)
        EntropyStream.write(residuals, tag: UInt8(order), exceptions: Exceptions(), levelsOf: ks, into: &leveled)
        #expect(leveled.bytes[0] & EntropyStream.leveled != 0)
        #expect(
            Double(leveled.bytes.count) < 0.99 * Double(plain.bytes.count),
            "\(leveled.bytes.count) vs \(plain.bytes.count)")
        let back = try leveled.bytes.withUnsafeBytes { raw in
            var r = ByteReader(raw, from: 0, to: raw.count)
            return try Predictor.readStream(&r, count: ks.count).ks
        }
        #expect(back == ks)
    }

    /// Ordinals of numbers with `s` significant digits are consecutive, ordered and invertible.
    @Test func significantOrdinalsAreConsecutive() {
        /// The step from `k` to the next number of `s` significant digits.
        func step(_ k: Int64, _ s: Int) -> Int64 {
            let a = k < 0 ? -k - 1 : k
            return a >= DecimalCodec.integerPowers[s] ? DecimalCodec.integerPowers[SignificantCodec.digits(a) - s] : 1
        }
        for s in 1...4 {
            var k = -3 * DecimalCodec.integerPowers[s + 1]
            var previous = SignificantCodec.ordinal(k, s: s) - 1
            while k <= 3 * DecimalCodec.integerPowers[s + 1] {
                let o = SignificantCodec.ordinal(k, s: s)
                #expect(o == previous + 1 && SignificantCodec.integer(ordinal: o, s: s) == k, "s \(s) k \(k)")
                previous = o
                k += step(k, s)
            }
        }
        var rng = TestRNG(seed: 9)
        for _ in 0..<20_000 {
            let s = 5 + Int(rng.next() % 11)
            var k = Int64(rng.next() % (1 << 53)) * (rng.next() % 2 == 0 ? 1 : -1)
            k -= k % step(k, s)
            let next = k + step(k, s)
            guard abs(next) < 1 << 53 else { continue }
            let o = SignificantCodec.ordinal(k, s: s)
            #expect(SignificantCodec.integer(ordinal: o, s: s) == k, "s \(s) k \(k)")
            #expect(SignificantCodec.ordinal(next, s: s) == o + 1, "s \(s) k \(k)")
        }
        #expect(SignificantCodec.integer(ordinal: .min, s: 8) == nil)
        #expect(SignificantCodec.integer(ordinal: .max, s: 8) == nil)
    }

    /// Hourly readings in milliseconds with missing hours: the grid is divided out, so a gap costs
    /// a few bits, and the timestamps come back exactly (negative and huge steps too).
    @Test func gappyHourlyTimestampsCostLittle() throws {
        var rng = TestRNG(seed: 5)
        var ts = [Int64]()
        var t: Int64 = 1_262_304_000_000
        for _ in 0..<16000 {
            t += 3_600_000 * (rng.next() % 20 == 0 ? Int64(2 + rng.next() % 5) : 1)
            ts.append(t)
        }
        let bytes = ts.withUnsafeBufferPointer { TimestampCodec.encode($0, 0..<$0.count) }
        #expect(bytes.first == TimestampCodec.Mode.steps.rawValue)
        // The gaps' entropy is ~0.05 bytes a point; as deltas of deltas on the grid ~0.08, unscaled ~0.3.
        #expect(Double(bytes.count) / Double(ts.count) < 0.06, "\(bytes.count) bytes")
        // The fast profile codes the same steps table-coded (mode 10), and gives them back exactly.
        let fast = CodingProfile.$current.withValue(.fast) {
            ts.withUnsafeBufferPointer { TimestampCodec.encode($0, 0..<$0.count) }
        }
        #expect(fast.first == TimestampCodec.Mode.tableSteps.rawValue)
        #expect(Double(fast.count) / Double(ts.count) < 0.07, "\(fast.count) bytes")
        let extremes: [Int64] = [0, 3_600_000, Int64.max, Int64.min, 5, 5, 5 + 3_600_000, -7]
        for series in [ts, extremes] {
            for profile in CodingProfile.allCases {
                let b = CodingProfile.$current.withValue(profile) {
                    series.withUnsafeBufferPointer { TimestampCodec.encode($0, 0..<$0.count) }
                }
                var out = [Int64]()
                try b.withUnsafeBytes { raw in
                    var r = ByteReader(raw, from: 0, to: raw.count)
                    try TimestampCodec.decode(&r, count: series.count, first: series[0], into: &out)
                }
                #expect(out == series, "\(profile)")
            }
        }
    }

    /// `x` rounded to `digits` decimals, as text.
    func format8(_ x: Double, _ digits: Int) -> String {
        var p = 1.0
        for _ in 0..<digits { p *= 10 }
        let k = (x * p).rounded()
        return (k / p).description
    }

    @Test func lzmaWinsOnRepeatedRandomBits() throws {
        var rng = TestRNG(seed: 7)
        let pattern = (0..<9000).map { _ in Double(bitPattern: rng.next() >> 2) }
        let values = pattern + pattern.prefix(7000)
        let ts = values.indices.map(Int64.init)
        let segments = encodeAll(ts, values, bound: .lossless, chunk: 16384)
        #expect(segments.map(\.header.kind) == [.lzma])
        let d = try SegmentFormat.decode(segments[0].bytes)
        #expect(d.values.map(\.bitPattern) == values.map(\.bitPattern))
    }

    @Test func plateausBecomeConstantsAndRampsLines() {
        let values = [Double](repeating: 21.5, count: 3000) + (0..<3000).map { 21.5 + Double($0) * 0.5 }
        let ts = values.indices.map { Int64($0) * 1000 }
        // A plateau alone is one constant; a plateau then a ramp is a constant and a line unless one
        // codec segment over both is smaller still (range-coded second differences: all but two 0).
        #expect(kinds(Array(ts[..<3000]), Array(values[..<3000]), .lossless) == [.constant])
        let both = encodeAll(ts, values, bound: .lossless, chunk: 16384)
        let size = both.reduce(0) { $0 + $1.bytes.count }
        #expect(size < 120, "\(both.map(\.header.kind)): \(size) bytes")
        #expect(both.map(\.header.kind).contains(.linear) || both.count == 1)
        // Within a bound a noisy ramp is a line too.
        let noisy = (0..<3000).map { Double($0) * 0.1 + Double($0 % 3) * 0.01 }
        #expect(kinds(Array(ts[..<3000]), noisy, ErrorBound(absolute: 0.05)) == [.linear])
    }

    /// A counter's increments are one-sided: coded as increments (order 1), near their entropy
    /// (log2 50 bits), not as second differences.
    @Test func countersAreCodedAsIncrements() throws {
        var rng = TestRNG(seed: 1)
        var k: Int64 = 0
        let ks: [Int64] = (0..<16384).map { _ in
            k += Int64(rng.next() % 50)
            return k
        }
        #expect(Predictor.bestResiduals(ks).order == 1)
        let values = ks.map(Double.init)
        let segments = encodeAll(values.indices.map(Int64.init), values, bound: .lossless, chunk: 16384)
        let bytes = segments.reduce(0) { $0 + $1.bytes.count }
        #expect(Double(bytes) < 1.04 * 16384 * 5.644 / 8, "\(bytes) bytes")
    }

    @Test func polynomialWinsOnItsShape() {
        let ts = (0..<4000).map { Int64($0) }
        let parabola = ts.map {
            let x = Double($0) / 4000
            return 3 * x * x - 2 * x + 1
        }
        #expect(kinds(ts, parabola, ErrorBound(absolute: 1e-6)).contains(.polynomial))
    }

    /// The sinusoid fitter is gone (it never won on real data); segments it wrote still decode, and
    /// a clean synthetic wave is stored within its bound by the grid codecs (~0.4 byte a point at
    /// ±10⁻³ on an amplitude of 10, where the fitter's model took ~60 bytes in all).
    @Test func sinusoidSegmentsStillDecode() throws {
        let ts = (0..<4000).map { Int64($0) * 10 }
        let model = FunctionModel.sinusoid(omega: 0.005, c: 3, a: 10, b: -1)
        var w = ByteWriter(capacity: 32)
        model.write(into: &w)
        let values = ts.map { model.evaluate($0) }
        let header = values.withUnsafeBufferPointer { v in
            SegmentHeader(
                seriesID: 4, kind: .sinusoid, firstTimestamp: 0, lastTimestamp: ts[ts.count - 1],
                bound: ErrorBound(absolute: 1e-9), summary: SegmentSummary(v, 0..<v.count), maxError: 0)
        }
        let bytes = ts.withUnsafeBufferPointer { t in
            SegmentFormat.encode(
                header: header, timestampBytes: TimestampCodec.encode(t, 0..<t.count), valueBytes: w.bytes)
        }
        let d = try SegmentFormat.decode(bytes)
        #expect(d.header.kind == .sinusoid && d.timestamps == ts)
        #expect(d.values.map(\.bitPattern) == values.map(\.bitPattern))
        let bound = ErrorBound(absolute: 1e-3)
        let segments = encodeAll(ts, values, bound: bound, chunk: 4000)
        let back = try segments.flatMap { try SegmentFormat.decode($0.bytes).values }
        #expect(zip(values, back).allSatisfy { bound.accepts(original: $0, stored: $1) })
        #expect(segments.reduce(0) { $0 + $1.bytes.count } < 4000 / 2, "\(segments.map(\.header.kind))")
    }

    /// Probes shortlist the codecs of a long range (a bounded range never has the decimal codec
    /// encode it whole to lose); and when no shortlisted candidate verifies, the codecs left out are
    /// tried before raw.
    @Test func shortlistedCodecsFallBackToTheRest() throws {
        let (ts, values) = try #require(TestData.load("elf_wind_speed.csv", limit: 16384))
        let bound = ErrorBound(absolute: 0.05)
        try ts.withUnsafeBufferPointer { t in
            try values.withUnsafeBufferPointer { v in
                let range = 0..<t.count
                let shortlisted = Competition.codecs(v, range, bound: bound, options: FitterOptions())
                let all = Competition.codecs(v, range, bound: bound, options: FitterOptions(), shortlist: false)
                #expect(shortlisted.map(\.kind) == [.quantized])
                // Hundredths under ±0.05 merge in cells of 11 readings (`LatticeCodec`).
                #expect(Set(all.map(\.kind)) == [.decimal, .quantized, .interpolated, .lattice])
                // The shortlist's only candidate is broken: the smaller of the rest (the lattice's
                // cells; then the decimal codec) must take over.
                let broken = Competition.Candidate(kind: .quantized, count: t.count, payload: [1, 2, 3])
                let s = try #require(
                    Competition.firstVerified(
                        [broken], seriesID: 1, ts: t, v: v, range: range, bound: bound, options: FitterOptions(),
                        tsBytes: TimestampCodec.encode(t, range)))
                #expect(s.header.kind == .lattice)
                let d = try SegmentFormat.decode(s.bytes)
                #expect(zip(d.values, values).allSatisfy { abs($0 - $1) <= bound.absolute })
            }
        }
    }

    @Test func regularTimestampsCostAlmostNothing() throws {
        let ts = (0..<16384).map { 1_700_000_000_000 + Int64($0) * 1000 }
        let values = [Double](repeating: 1, count: 16384)
        let segments = encodeAll(ts, values, bound: .lossless, chunk: 16384)
        #expect(segments.count == 1)
        #expect(segments[0].bytes.count < 80)  // 16 384 points, a handful of bytes
    }
}
