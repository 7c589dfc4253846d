import PropertyBased
import TestSupport
import Testing

@testable import AliceFormat

/// Timestamps stored within a tolerance of the written ones (`TimeSnapping`, timestamp mode `snapped`).
@Suite struct TimeSnappingTests {
    /// `stored` against `written` under `tolerance`: every distance within it, equal timestamps
    /// stored equal and order kept, the ends exact. Nil when it holds, else what fails.
    static func fault(_ written: [Int64], _ stored: [Int64], tolerance: Int64, endsExact: Bool = true) -> String? {
        guard written.count == stored.count else { return "\(stored.count) timestamps for \(written.count)" }
        for i in written.indices {
            let (d, o) = stored[i].subtractingReportingOverflow(written[i])
            if o || d.magnitude > tolerance.magnitude { return "point \(i): \(written[i]) stored as \(stored[i])" }
            if i > 0, (written[i] == written[i - 1]) != (stored[i] == stored[i - 1]) || stored[i] < stored[i - 1] {
                return
                    "points \(i - 1), \(i): \(written[i - 1]), \(written[i]) stored as \(stored[i - 1]), \(stored[i])"
            }
        }
        if endsExact, stored.first != written.first || stored.last != written.last { return "the ends moved" }
        return nil
    }

    static func snap(_ ts: [Int64], _ tolerance: Int64) -> [Int64]? {
        ts.withUnsafeBufferPointer { TimeSnapping.snap($0, 0..<$0.count, tolerance: tolerance) }
    }

    static func encode(
        _ ts: [Int64], _ values: [Double], bound: ErrorBound = .lossless, tolerance: Int64,
        profile: CodingProfile = .compact
    ) -> [EncodedSegment] {
        ts.withUnsafeBufferPointer { t in
            values.withUnsafeBufferPointer { v in
                Competition.encode(
                    seriesID: 7, timestamps: t, values: v, range: 0..<t.count, bound: bound, timeTolerance: tolerance,
                    options: FitterOptions(profile: profile))
            }
        }
    }

    /// Decodes `segments` in order and checks them against the written points under both bounds.
    static func check(
        _ segments: [EncodedSegment], _ ts: [Int64], _ values: [Double], bound: ErrorBound, tolerance: Int64,
        _ what: String
    ) -> (timestampBytes: Int, snapped: Int) {
        var outTs = [Int64]()
        var outV = [Double]()
        var timestampBytes = 0
        var snapped = 0
        for s in segments {
            guard let d = try? SegmentFormat.decode(s.bytes) else {
                Issue.record("\(what): a segment does not decode")
                return (0, 0)
            }
            #expect(d.inconsistency == nil, "\(what)")
            var (a, b) = (d.header, s.header)
            if a.summary.sum.isNaN && b.summary.sum.isNaN { (a.summary.sum, b.summary.sum) = (0, 0) }
            #expect(a == b, "\(what)")
            #expect(d.header.maxTimeError <= d.header.timeTolerance, "\(what)")
            #expect(d.header.timeTolerance == 0 || d.header.timeTolerance == tolerance, "\(what)")
            #expect(d.header.firstTimestamp == d.timestamps.first && d.header.lastTimestamp == d.timestamps.last)
            if d.header.timeTolerance > 0 { snapped += 1 }
            let part = ts[outTs.count..<(outTs.count + d.timestamps.count)]
            #expect(
                zip(part, d.timestamps).allSatisfy { abs($0 - $1) <= d.header.maxTimeError }, "\(what): max time error")
            timestampBytes += s.bytes.withUnsafeBytes { (try? SegmentFormat.header($0).tsRange.count) ?? 0 }
            outTs += d.timestamps
            outV += d.values
        }
        #expect(
            fault(ts, outTs, tolerance: tolerance) == nil, "\(what): \(fault(ts, outTs, tolerance: tolerance) ?? "")")
        #expect(outV.count == values.count, "\(what)")
        for (i, (a, b)) in zip(values, outV).enumerated() where !bound.accepts(original: a, stored: b) {
            Issue.record("\(what): value \(i) \(a) came back as \(b)")
            break
        }
        return (timestampBytes, snapped)
    }

    /// A gateway's arrival times — a 1 s clock, 0–25 ms late, now and then a reading missing —
    /// under 25 ms cost under 0.05 bytes a point in either profile, against ~0.6 exactly.
    @Test func arrivalTimesCostAlmostNothing() throws {
        for (seed, period) in [(1, 1000.0), (2, 1000.3), (3, 59_999.7)] as [(UInt64, Double)] {
            let ts = TrackedTimestampTests.arrivals(16_000, seed: seed, period: period)
            let values = ts.indices.map { Double($0 % 97) / 10 }
            for profile in [CodingProfile.compact, .fast] {
                let what = "period \(period), \(profile)"
                let segments = Self.encode(ts, values, tolerance: 25, profile: profile)
                let (bytes, snapped) = Self.check(segments, ts, values, bound: .lossless, tolerance: 25, what)
                #expect(snapped == segments.count, "\(what)")
                #expect(Double(bytes) / Double(ts.count) < 0.05, "\(what): \(bytes) timestamp bytes")
                let exact = ts.withUnsafeBufferPointer { TimestampCodec.encode($0, 0..<$0.count).count }
                #expect(bytes * 10 < exact, "\(what): \(bytes) vs \(exact) exactly")
            }
        }
    }

    /// The bound is inclusive and exact: a point 10 off the grid is snapped onto it under 10, not
    /// under 9; nothing is moved further than the tolerance.
    @Test func theBoundHoldsToTheLastUnit() throws {
        var ts = (0..<200).map { Int64($0) * 1000 }
        for i in stride(from: 5, to: 195, by: 7) { ts[i] += i % 2 == 0 ? 10 : -10 }
        let on = try #require(Self.snap(ts, 10))
        #expect(on == (0..<200).map { Int64($0) * 1000 })
        #expect(Self.fault(ts, on, tolerance: 10) == nil)
        if let off = Self.snap(ts, 9) {
            #expect(Self.fault(ts, off, tolerance: 9) == nil)
            #expect(off != on)
        }
        // A regular clock needs nothing: nothing is snapped.
        #expect(Self.snap((0..<500).map { Int64($0) * 250 }, 25) == nil)
    }

    /// A tolerance wider than the clock's step: points stay distinct and in order (never merged).
    @Test func toleranceWiderThanTheStep() throws {
        var rng = TestRNG(seed: 11)
        var t: Int64 = 0
        let ts: [Int64] = (0..<3000).map { _ in
            t += 1 + Int64(rng.next() % 19)  // 1–19 ms apart
            return t
        }
        for tol: Int64 in [25, 1000, 100_000] {
            let s = try #require(Self.snap(ts, tol), "tolerance \(tol)")
            #expect(
                Self.fault(ts, s, tolerance: tol) == nil, "tolerance \(tol): \(Self.fault(ts, s, tolerance: tol) ?? "")"
            )
            #expect(Set(s).count == ts.count)
        }
        // Packed one unit apart up to the last point, which stays exact: the room is kept.
        let packed = (0..<100).map { Int64($0) } + [150]
        if let s = Self.snap(packed, 1000) {
            #expect(Self.fault(packed, s, tolerance: 1000) == nil)
        }
    }

    /// Duplicates stay duplicates, in place; bursts of jitter beyond the tolerance are followed
    /// point by point; gaps restart the grid whole steps on, and the rest stays on the grid.
    @Test func duplicatesBurstsAndGaps() throws {
        var rng = TestRNG(seed: 5)
        var ts = [Int64]()
        var k: Int64 = 0
        while ts.count < 5000 {
            k += rng.next() % 50 == 0 ? 1 + Int64(rng.next() % 30) : 1  // gaps
            let burst = ts.count >= 2000 && ts.count < 2100
            let jitter = burst ? Int64(rng.next() % 400) : Int64(rng.next() % 21)
            ts.append(1_700_000_000_000 + k * 1000 + jitter)
            if rng.next() % 10 == 0 { ts.append(ts.last!) }  // a duplicate
        }
        ts.sort()
        let values = ts.indices.map { Double($0) }
        for profile in [CodingProfile.compact, .fast] {
            let s = try #require(Self.snap(ts, 25))
            #expect(Self.fault(ts, s, tolerance: 25) == nil, "\(Self.fault(ts, s, tolerance: 25) ?? "")")
            // Outside the burst the stored clock is a grid of 1 s with gaps of whole seconds.
            let late = s[3000..<4000]
            let steps = zip(late.dropFirst(), late).map { $0 - $1 }.filter { $0 != 0 }
            #expect(steps.filter { $0 % 1000 != 0 }.count <= 2, "\(steps.filter { $0 % 1000 != 0 })")
            _ = Self.check(
                Self.encode(ts, values, bound: ErrorBound(absolute: 0.5), tolerance: 25, profile: profile), ts, values,
                bound: ErrorBound(absolute: 0.5), tolerance: 25, "\(profile)")
        }
    }

    /// What is not snapped: too few points, a tolerance of 0, times beyond ±2^61 (no overflow, no trap).
    @Test func whatIsLeftExact() {
        #expect(Self.snap([1, 2], 5) == nil)
        #expect(Self.snap([1, 1, 1, 9], 5) == nil)
        #expect(Self.snap([0, 1003, 1999, 3001], 0) == nil)
        let top = (0..<100).map { Int64.max - 100_000 + Int64($0) * 1000 + Int64($0 % 3) }
        #expect(Self.snap(top, 25) == nil)
        let bottom = (0..<100).map { Int64.min + Int64($0) * 1000 + Int64($0 % 3) }
        #expect(Self.snap(bottom, 25) == nil)
        let values = top.map { _ in 1.0 }
        let segments = Self.encode(top, values, tolerance: 25)
        #expect(segments.allSatisfy { $0.header.timeTolerance == 0 })
        _ = Self.check(segments, top, values, bound: .lossless, tolerance: 0, "top of the range")
    }

    /// The payload: a reader refuses nesting, a single point's coding among many, a measured error
    /// past the tolerance, a tolerance of 0; a header reads the tolerance from the payload.
    @Test func malformedPayloadsAreRefused() throws {
        func decode(_ payload: [UInt8], count: Int) throws -> [Int64] {
            try payload.withUnsafeBytes { raw in
                var r = ByteReader(raw, from: 0, to: raw.count)
                var out = [Int64]()
                try TimestampCodec.decode(&r, count: count, first: 100, into: &out)
                return out
            }
        }
        let regular: [UInt8] = [TimestampCodec.Mode.regular.rawValue, 20]  // svarint 10
        #expect(
            try decode(TimestampCodec.snapped(tolerance: 5, maxError: 3, inner: regular), count: 3) == [100, 110, 120])
        #expect(try decode([11, 5, 0, 0], count: 1) == [100])  // one point: single inside
        #expect(throws: DecodeError.self) { try decode([11, 5, 0] + regular, count: 1) }
        #expect(throws: DecodeError.self) { try decode([11, 5, 0, 0], count: 3) }
        #expect(throws: DecodeError.self) { try decode([11, 5, 6] + regular, count: 3) }
        #expect(throws: DecodeError.self) { try decode([11, 0, 0] + regular, count: 3) }
        #expect(throws: DecodeError.self) { try decode([11, 5, 1, 11, 5, 1] + regular, count: 3) }
        #expect(throws: DecodeError.self) { try decode([11, 5, 1], count: 3) }
        #expect(throws: DecodeError.self) { try decode([11, 0x80, 0x80, 0x80, 0x80, 0x10, 0] + regular, count: 3) }
    }

    /// Segments with snapped timestamps name the mode and the coding inside it; a receiver accepts
    /// them; recompression keeps their tolerance.
    @Test func featuresReceiversAndRecompression() throws {
        let ts = TrackedTimestampTests.arrivals(3000, seed: 9)
        let values = ts.indices.map { Double($0 % 41) / 4 }
        let fast = Self.encode(ts, values, tolerance: 25, profile: .fast)
        let features = FormatFeatures.of(segments: fast.map(\.bytes))
        #expect(features.contains("timestamps:snapped"), "\(features)")
        #expect(features.filter { $0.hasPrefix("timestamps:") }.count >= 2, "\(features)")
        #expect(Set(features).isSubset(of: FormatFeatures.readable))
        for s in fast {
            let received = try ReceivedSegment(checking: s.bytes, seriesID: 3)
            #expect(received.header.timeTolerance == 25 && received.header.maxTimeError == s.header.maxTimeError)
            guard case .recoded(let bytes) = try Recompression.compact(s.bytes) else {
                Issue.record("a fast snapped segment was not recompressed")
                continue
            }
            let old = try SegmentFormat.decode(s.bytes)
            let new = try SegmentFormat.decode(bytes)
            #expect(new.timestamps == old.timestamps)
            #expect(new.header.timeTolerance == 25 && new.header.maxTimeError == old.header.maxTimeError)
        }
    }

    /// Random sorted series under random tolerances: the snapped clock keeps the contract.
    @Test func randomSeriesSnapWithinTheTolerance() async {
        await propertyCheck(
            count: 300, input: Gen.uint64(), Gen.int(in: 3...3000), Gen.int(in: 0..<Recipe.clocks),
            Gen.int(in: 0..<6)
        ) { seed, n, clock, t in
            await Task.yield()  // one case at a time: parallel suites share the two pool threads
            let (ts, _) = Recipe(shape: 0, clock: clock, seed: seed, count: n).make()
            let tolerance: Int64 = [1, 3, 25, 500, 60_000, TimestampCodec.maxTolerance][t]
            if let s = Self.snap(ts, tolerance) {
                #expect(
                    Self.fault(ts, s, tolerance: tolerance) == nil,
                    "seed \(seed), clock \(clock), n \(n), tolerance \(tolerance): \(Self.fault(ts, s, tolerance: tolerance) ?? "")"
                )
            }
        }
    }

    /// Random series through the competition under random tolerances and bounds, either profile:
    /// every segment decodes within both bounds; mutated and truncated segments never trap.
    @Test func competitionWithToleranceRoundTripAndMutations() async {
        await propertyCheck(
            count: 100, input: Gen.int(in: 0..<Recipe.shapes), Gen.int(in: 0..<Recipe.clocks), Gen.uint64(),
            Gen.int(in: 1...1000), Gen.int(in: 0..<Recipe.bounds.count), Gen.int(in: 0..<5)
        ) { shape, clock, seed, count, b, t in
            await Task.yield()  // one case at a time: parallel suites share the two pool threads
            let recipe = Recipe(shape: shape, clock: clock, seed: seed, count: count)
            let (ts, values) = recipe.make()
            let bound = Recipe.bounds[b]
            let tolerance: Int64 = [1, 7, 25, 1000, 100_000][t]
            let profile: CodingProfile = seed & 1 == 0 ? .compact : .fast
            let segments = Self.encode(ts, values, bound: bound, tolerance: tolerance, profile: profile)
            _ = Self.check(segments, ts, values, bound: bound, tolerance: tolerance, "\(recipe) \(bound) ±\(tolerance)")
            var rng = TestRNG(seed: seed ^ 0xABCD)
            for s in segments where s.header.timeTolerance > 0 {
                for _ in 0..<6 {
                    var bytes = s.bytes
                    for _ in 0..<(1 + Int(rng.next() % 3)) {
                        bytes[Int(rng.next() % UInt64(bytes.count - 4))] ^= UInt8(truncatingIfNeeded: rng.next() | 1)
                    }
                    let crc = CRC32C.checksum(bytes, to: bytes.count - 4)
                    for k in 0..<4 { bytes[bytes.count - 4 + k] = UInt8(truncatingIfNeeded: crc >> (8 * UInt32(k))) }
                    if let d = try? SegmentFormat.decode(bytes) { _ = d.inconsistency }
                    _ = try? SegmentFormat.decode(Array(bytes[0..<Int(rng.next() % UInt64(bytes.count))]))
                    _ = FormatFeatures.of(segment: bytes)
                }
            }
        }
    }

    /// Arbitrary bytes after the mode byte `snapped` decode to timestamps or an error, never a trap.
    @Test func randomSnappedPayloadsNeverTrap() async {
        await propertyCheck(count: 1000, input: Gen.uint8().array(of: 0...64), Gen.int(in: 0...300)) { tail, n in
            await Task.yield()  // one case at a time: parallel suites share the two pool threads
            let payload = [TimestampCodec.Mode.snapped.rawValue] + tail
            _ = payload.withUnsafeBytes { raw in
                var r = ByteReader(raw, from: 0, to: raw.count)
                var out = [Int64]()
                return try? TimestampCodec.decode(&r, count: n, first: 0, into: &out)
            }
            _ = payload.withUnsafeBytes { raw in
                (try? TimestampCodec.bounds(raw, 0..<raw.count), TimestampCodec.innerMode(raw, 0..<raw.count))
            }
        }
    }
}
