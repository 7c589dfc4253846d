import PropertyBased
import TestSupport
import Testing

@testable import AliceFormat

/// Fast-profile segments re-encoded into the compact profile: the same points bit for bit, never
/// more bytes, and untrusted bytes an error, never a trap.
@Suite struct RecompressionTests {
    /// Recompresses `segments`; checks each outcome against its source.
    /// - Returns: bytes before and after (kept segments count the same on both sides), and how many were kept.
    func recompress(_ segments: [EncodedSegment], _ what: String) throws -> (before: Int, after: Int, kept: Int) {
        var before = 0
        var after = 0
        var kept = 0
        for s in segments {
            let old = try SegmentFormat.decode(s.bytes)
            before += s.bytes.count
            switch try Recompression.compact(s.bytes) {
            case .compact:
                Issue.record("\(what): a fast segment taken for compact")
            case .kept:
                kept += 1
                after += s.bytes.count
            case .recoded(let bytes):
                let new = try SegmentFormat.decode(bytes)
                #expect(new.header.profile == .compact && bytes[4] == SegmentFormat.version, "\(what)")
                var h = new.header
                h.profile = .fast
                h.kind = old.header.kind  // (a lattice may come back decimal)
                #expect(h == old.header, "\(what)")
                #expect(new.timestamps == old.timestamps, "\(what)")
                #expect(new.values.map(\.bitPattern) == old.values.map(\.bitPattern), "\(what)")
                #expect(bytes.count <= s.bytes.count, "\(what)")
                // Already compact: nothing more to do.
                #expect(try Recompression.compact(bytes) == .compact)
                after += bytes.count
            }
        }
        return (before, after, kept)
    }

    /// On real series, losslessly and at 1 % of their range: every fast segment is re-encoded (none
    /// kept), and the result is within a few per cent of encoding the points compact directly.
    @Test func realSeriesComeBackCompact() throws {
        for name in ["elf_air_pressure.csv", "ucr_lightning.csv", "elf_stocks_uk.csv", "beijing_pm25.csv"] {
            let (ts, values) = try #require(TestData.load(name, limit: 20_000))
            let range = values.max()! - values.min()!
            for bound in [ErrorBound.lossless, ErrorBound(absolute: range * 0.01)] {
                let fast = encodeAll(ts, values, bound: bound, chunk: 5000, profile: .fast)
                let compact = encodeAll(ts, values, bound: bound, chunk: 5000, profile: .compact)
                let direct = compact.reduce(0) { $0 + $1.bytes.count }
                let r = try recompress(fast, "\(name) \(bound)")
                #expect(r.kept == 0, "\(name) \(bound)")
                #expect(r.after < r.before, "\(name) \(bound)")
                #expect(Double(r.after) <= Double(direct) * 1.03 + 64, "\(name) \(bound): \(r.after) vs \(direct)")
            }
        }
    }

    /// Every shape, clock and bound of the recipes: the points come back bit for bit.
    @Test func everyShapeKeepsItsPoints() async {
        await propertyCheck(
            count: 40,
            input: Gen.int(in: 0..<Recipe.shapes), Gen.int(in: 0..<Recipe.clocks), Gen.uint64(), Gen.int(in: 1...1500),
            Gen.int(in: 0..<Recipe.bounds.count)
        ) { shape, clock, seed, count, b in
            await Task.yield()
            let recipe = Recipe(shape: shape, clock: clock, seed: seed, count: count)
            let (ts, values) = recipe.make()
            let segments = encodeAll(ts, values, bound: Recipe.bounds[b], chunk: 700, profile: .fast)
            do { _ = try recompress(segments, "\(recipe) \(Recipe.bounds[b])") } catch {
                Issue.record("\(recipe) \(Recipe.bounds[b]): \(error)")
            }
            // Compact segments are left alone.
            for s in encodeAll(ts, values, bound: Recipe.bounds[b], chunk: 700) {
                #expect((try? Recompression.compact(s.bytes)) == .compact)
            }
        }
    }

    /// Damaged fast segments: an error (or, where the damage still decodes, a checked result), never a trap.
    @Test func damagedSegmentsNeverTrap() throws {
        let (ts, values) = try #require(TestData.load("elf_wind_speed.csv", limit: 3000))
        var rng = SplitMix(seed: 21)
        for s in encodeAll(ts, values, bound: .lossless, chunk: 1000, profile: .fast) {
            for _ in 0..<200 {
                var b = s.bytes
                let i = Int(rng.next() % UInt64(b.count))
                b[i] ^= UInt8(truncatingIfNeeded: rng.next() | 1)
                _ = try? Recompression.compact(b)
                _ = try? Recompression.compact(Array(b[0..<i]))
            }
        }
    }
}
