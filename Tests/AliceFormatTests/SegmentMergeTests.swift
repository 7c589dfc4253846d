import PropertyBased
import TestSupport
import Testing

@testable import AliceFormat

/// A series' short segments merged into one: the stored points bit for bit, the header's exact
/// summary and bounds kept, fewer bytes, and damaged `parts` segments an error, never a trap.
@Suite struct SegmentMergeTests {
    /// Merges `segments` in runs of `run`; checks every merged run against its parts.
    /// - Returns: bytes before and after (runs left alone count the same on both sides).
    func merge(_ segments: [EncodedSegment], run: Int, _ what: String) throws -> (before: Int, after: Int) {
        var before = 0
        var after = 0
        var i = 0
        while i < segments.count {
            let parts = Array(segments[i..<min(segments.count, i + run)])
            i += run
            let bytes = parts.reduce(0) { $0 + $1.bytes.count }
            before += bytes
            guard let merged = SegmentMerge.merge(parts.map(\.bytes)) else {
                after += bytes
                continue
            }
            let old = try parts.map { try SegmentFormat.decode($0.bytes) }
            let new = try merged.map { try SegmentFormat.decode($0.bytes) }
            #expect(new.flatMap(\.timestamps) == old.flatMap(\.timestamps), "\(what)")
            #expect(new.flatMap(\.values).map(\.bitPattern) == old.flatMap(\.values).map(\.bitPattern), "\(what)")
            var summary = SegmentSummary.empty
            for d in old { summary.merge(d.header.summary) }
            let values = old.flatMap(\.values)
            if old[0].header.bound.isLossless {
                summary = values.withUnsafeBufferPointer { SegmentSummary($0, 0..<$0.count) }
            }
            #expect(new.allSatisfy { $0.inconsistency == nil }, "\(what)")
            let h = new[0].header
            if h.kind == .parts {
                #expect(new.count == 1)
                #expect(h.summary == summary || summary.sum.isNaN, "\(what)")
                #expect(h.maxError == old.map(\.header.maxError).max()!, "\(what)")
                #expect(h.firstTimestamp == old[0].header.firstTimestamp, "\(what)")
                #expect(h.lastTimestamp == old.last!.header.lastTimestamp, "\(what)")
            }
            #expect(new.allSatisfy { $0.header.bound == old[0].header.bound }, "\(what)")
            after += merged.reduce(0) { $0 + $1.bytes.count }
            #expect(
                merged.reduce(0) { $0 + $1.bytes.count + SegmentMerge.perSegmentOverhead }
                    < parts.reduce(0) { $0 + $1.bytes.count + SegmentMerge.perSegmentOverhead }, "\(what)")
        }
        return (before, after)
    }

    /// Real series cut into a gateway's 600-point segments, lossless and at 1 % of their range:
    /// merged twenty at a time they shrink by a good part of the segments' overhead.
    @Test func gatewaySegmentsShrink() throws {
        for name in ["beijing_temp.csv", "elf_air_pressure.csv", "elf_stocks_uk.csv", "ucr_lightning.csv"] {
            let (ts, values) = try #require(TestData.load(name, limit: 12_000))
            let range = values.max()! - values.min()!
            for bound in [ErrorBound.lossless, ErrorBound(absolute: range * 0.01)] {
                let segments = encodeAll(ts, values, bound: bound, chunk: 600)
                let r = try merge(segments, run: 20, "\(name) \(bound)")
                // At least ~60 of the ~90 bytes each merged segment paid beside its payload.
                let runs = (segments.count + 19) / 20
                #expect(r.before - r.after >= (segments.count - runs) * 40, "\(name) \(bound): \(r)")
            }
        }
    }

    /// Every shape, clock, bound and profile of the recipes, in short segments merged in runs.
    @Test func everyShapeKeepsItsPoints() async {
        await propertyCheck(
            count: 40,
            input: Gen.int(in: 0..<Recipe.shapes), Gen.int(in: 0..<Recipe.clocks), Gen.uint64(), Gen.int(in: 2...3000),
            Gen.int(in: 0..<Recipe.bounds.count), Gen.bool
        ) { shape, clock, seed, count, b, fast in
            await Task.yield()
            let recipe = Recipe(shape: shape, clock: clock, seed: seed, count: count)
            let (ts, values) = recipe.make()
            // (Recipes may repeat a timestamp: a run is only merged where each part starts after the last.)
            let segments = encodeAll(
                ts, values, bound: Recipe.bounds[b], chunk: 150, profile: fast ? .fast : .compact)
            do { _ = try merge(segments, run: 7, "\(recipe) \(Recipe.bounds[b]) fast \(fast)") } catch {
                Issue.record("\(recipe) \(Recipe.bounds[b]): \(error)")
            }
        }
    }

    /// What is not one series' time-ordered run is left alone.
    @Test func onlyRunsOfOneSeriesInTimeOrder() throws {
        let (ts, values) = try #require(TestData.load("beijing_temp.csv", limit: 2000))
        let s = encodeAll(ts, values, bound: .lossless, chunk: 500)
        #expect(SegmentMerge.merge([s[0].bytes]) == nil)
        #expect(SegmentMerge.merge([s[1].bytes, s[0].bytes]) == nil)
        #expect(SegmentMerge.merge([s[0].bytes, s[0].bytes]) == nil)
        let other = ts.withUnsafeBufferPointer { t in
            values.withUnsafeBufferPointer { v in
                Competition.encode(seriesID: 2, timestamps: t, values: v, range: 500..<1000, bound: .lossless)
            }
        }
        #expect(SegmentMerge.merge([s[0].bytes] + other.map(\.bytes)) == nil)
        let lossy = encodeAll(ts, values, bound: ErrorBound(absolute: 0.5), chunk: 500)
        #expect(SegmentMerge.merge([s[0].bytes, lossy[1].bytes]) == nil)
        var broken = s[1].bytes
        broken[broken.count - 1] ^= 1
        #expect(SegmentMerge.merge([s[0].bytes, broken]) == nil)
        #expect(SegmentMerge.merge(Array(s.prefix(4)).map(\.bytes)) != nil)
    }

    /// Damaged `parts` segments (the CRC made to match, so the parts' own checks are reached): an
    /// error, or points that decode, never a trap.
    @Test func damagedPartsNeverTrap() throws {
        let (ts, values) = try #require(TestData.load("elf_air_pressure.csv", limit: 3000))
        let range = values.max()! - values.min()!
        var rng = SplitMix(seed: 15)
        for bound in [ErrorBound.lossless, ErrorBound(absolute: range * 0.01)] {
            let segments = encodeAll(ts, values, bound: bound, chunk: 300)
            // Parts even where a lossless refit would be smaller: build one directly.
            let merged = try #require(SegmentMerge.merge(segments.map(\.bytes)))
            let parts = try #require(SegmentMerge.partsForm(segments.map(\.bytes)))
            #expect(try SegmentFormat.decode(parts.bytes).header.kind == .parts)
            for s in merged + [parts] {
                for _ in 0..<300 {
                    var b = s.bytes
                    let i = Int(rng.next() % UInt64(b.count - 4))
                    b[i] ^= UInt8(truncatingIfNeeded: rng.next() | 1)
                    let crc = CRC32C.checksum(Array(b[0..<(b.count - 4)]))
                    for k in 0..<4 { b[b.count - 4 + k] = UInt8(truncatingIfNeeded: crc >> (8 * k)) }
                    _ = try? SegmentFormat.decode(b)
                    _ = try? SegmentFormat.decode(Array(b[0..<i]))
                }
            }
        }
    }
}
