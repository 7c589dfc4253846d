import PropertyBased
import TestKit
import TestSupport
import Testing

@testable import AliceDB
@testable import AliceFormat

@Suite struct DatabasePropertyTests {
    static let bounds = Recipe.bounds

    /// The whole engine: put (out of order included), close, reopen, scan — within the bound.
    @Test func databaseRoundTrip() async throws {
        await propertyCheck(
            count: 30, input: Gen.int(in: 0..<Recipe.shapes), Gen.int(in: 0..<Recipe.clocks), Gen.uint64(),
            Gen.int(in: 1...2000), Gen.int(in: 0..<Self.bounds.count)
        ) { shape, clock, seed, count, b in
            await Task.yield()  // one case at a time: parallel suites share the two pool threads
            let (ts, values) = Recipe(shape: shape, clock: clock, seed: seed, count: count).make()
            let bound = Self.bounds[b]
            let dir = TempDirectory()
            do {
                let db = try Database(path: dir.path, options: DatabaseOptions(defaultCapacity: 256))
                try db.createSeries("x", options: SeriesOptions(bound: bound))
                // Half in one batch, the rest point by point in reverse (late data).
                let half = count / 2
                try db.putBatch("x", timestamps: Array(ts[..<half]), values: Array(values[..<half]))
                for i in (half..<count).reversed() { try db.put("x", ts[i], values[i]) }
                try db.close()
                let ro = try Database(path: dir.path, options: DatabaseOptions(readOnly: true))
                let got = try ro.scan("x")
                #expect(got.map(\.timestamp) == ts.sorted())
                #expect(got.count == count)
                #expect(try ro.verify().ok)
                #expect(try ro.aggregate("x").count == count)
                // Values: per timestamp, sorted originals against sorted results (ties may come
                // back in any order; sorted matching is valid whenever any matching is).
                var expected = [Int64: [Double]]()
                var actual = [Int64: [Double]]()
                for (t, v) in zip(ts, values) { expected[t, default: []].append(v) }
                for p in got { actual[p.timestamp, default: []].append(p.value) }
                // NaNs last (by bits); -0.0 before 0.0, which `<` alone would leave in any order.
                func order(_ a: Double, _ b: Double) -> Bool {
                    if a.isNaN || b.isNaN { return (a.isNaN ? 1 : 0, a.bitPattern) < (b.isNaN ? 1 : 0, b.bitPattern) }
                    return (a, a.sign == .minus ? 0 : 1) < (b, b.sign == .minus ? 0 : 1)
                }
                for (t, originals) in expected {
                    let stored = (actual[t] ?? []).sorted(by: order)
                    for (o, v) in zip(originals.sorted(by: order), stored) where !bound.accepts(original: o, stored: v)
                    {
                        Issue.record("seed \(seed): \(v) at \(t) for \(o) is outside \(bound)")
                        return
                    }
                }
            } catch {
                Issue.record("seed \(seed): \(error)")
            }
        }
    }
}
