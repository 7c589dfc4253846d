import PropertyBased
import TestSupport
import Testing

@testable import AliceDB
@testable import AliceFormat

@Suite struct PackedBufferTests {
    /// Points come back with identical bits and timestamps, whatever the shape, clock and values
    /// (NaN payloads, −0.0, ±inf, binary fractions, extremes of the timestamp range), and late
    /// points land in time order after their equals.
    @Test func bufferKeepsEveryPointExactly() async {
        await propertyCheck(
            count: 200,
            input: Gen.int(in: 0..<Recipe.shapes), Gen.int(in: 0..<Recipe.clocks), Gen.uint64(), Gen.int(in: 1...3000),
            Gen.int(in: 0...2)
        ) { shape, clock, seed, count, disorder in
            await Task.yield()  // one case at a time: parallel suites share the two pool threads
            let recipe = Recipe(shape: shape, clock: clock, seed: seed, count: count)
            var (ts, values) = recipe.make()
            var specials: [Double] = [
                .nan, -.nan, Double(bitPattern: 0x7FF0_0000_0000_1234), -0.0, .infinity, -.infinity,
                .pi, 1e300, -1e-300, 0.1 + 0.2, 123_456.789, 9.0e15, Double(Int64.max),
            ]
            var rng = TestRNG(seed: seed)
            for i in stride(from: 0, to: values.count, by: 17) where !specials.isEmpty {
                values[i] = specials.removeLast()
            }
            // Disorder 1: a few late points; 2: everything in reverse.
            var order = Array(ts.indices)
            if disorder == 1 {
                for _ in 0..<(count / 10) {
                    order.swapAt(Int(rng.next() % UInt64(count)), Int(rng.next() % UInt64(count)))
                }
            }
            if disorder == 2 { order.reverse() }
            var buffer = SeriesBuffer(capacity: 1 << 16)
            var expected = [(Int64, Double)]()
            for i in order {
                _ = buffer.insert(ts[i], values[i], lsn: 1, now: 0)
                let at = expected.firstIndex { $0.0 > ts[i] } ?? expected.count
                expected.insert((ts[i], values[i]), at: at)
            }
            let (outTs, outV) = buffer.points()
            #expect(buffer.count == count)
            #expect(outTs == expected.map(\.0), "\(recipe) disorder \(disorder)")
            #expect(outV.map(\.bitPattern) == expected.map(\.1.bitPattern), "\(recipe) disorder \(disorder)")
            #expect(buffer.first == expected.first?.0 && buffer.last == expected.last?.0)
            // Emptied, it packs again from scratch.
            buffer.clear(release: false)
            #expect(buffer.count == 0 && buffer.points().ts.isEmpty)
            _ = buffer.insert(7, 0.5, lsn: 2, now: 0)
            #expect(buffer.points().ts == [7] && buffer.points().values == [0.5])
        }
    }

    /// Real readings pack to a few bytes a point (16 as plain arrays): the MemTable budget then
    /// holds segments several times longer.
    @Test func realReadingsPackSmall() throws {
        // Limits a little above what each packs to; ucr_lightning's eight significant digits cost most.
        for (name, limit) in [
            ("beijing_temp.csv", 2.5), ("elf_wind_speed.csv", 2.5), ("elf_air_pressure.csv", 3.0),
            ("ucr_lightning.csv", 6.0),
        ] {
            let (ts, values) = try #require(TestData.load(name, limit: 4096))
            var packed = PackedPoints()
            for (t, v) in zip(ts, values) { packed.append(t, v) }
            let perPoint = Double(packed.bytes.count) / Double(ts.count)
            print("\(name): \(perPoint) bytes a point")
            #expect(perPoint <= limit, "\(name): \(perPoint) bytes a point")
            var outTs = [Int64]()
            var outV = [Double]()
            packed.unpack(into: &outTs, &outV)
            #expect(outTs == ts && outV.map(\.bitPattern) == values.map(\.bitPattern), "\(name)")
        }
    }
}
