import Testing
@testable import AliceDB

@Suite struct CompetitionTests {
    @Test func losslessRoundTripOnEveryDataset() throws {
        for name in TestData.datasetNames {
            guard let (ts, values) = TestData.load(name, limit: 20_000) else { continue }
            let segments = encodeAll(ts, values, bound: .lossless)
            var outTs = [Int64](), outV = [Double]()
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
            print(name, "lossless", Double(bytes) / Double(ts.count), kinds)
        }
    }

    @Test func boundedRoundTripOnEveryDataset() throws {
        for name in TestData.datasetNames {
            guard let (ts, values) = TestData.load(name, limit: 20_000) else { continue }
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
            print(name, "1%", Double(bytes) / Double(ts.count), kinds)
        }
    }
}
