import TestSupport
import Testing

@testable import AliceFormat

/// `SegmentBatch.Builder`: a batch encoded entry by entry reads back as the batch of those entries.
@Suite struct SegmentBatchBuilderTests {
    @Test func aBuiltBatchDecodesToItsEntriesAndNamesTheirFeatures() throws {
        let ts = (0..<3000).map { Int64($0) * 1000 + Int64($0 % 5) }
        let lossless = encodeAll(ts, ts.map { Double($0 % 977) / 10 }, bound: .lossless, chunk: 256)
        let lossy = encodeAll(ts, ts.map { Double(Float(20 + Double($0 % 613) * 0.01)) }, bound: .lossless, chunk: 700)
        var entries = [SegmentBatch.Entry]()
        for s in lossless { entries.append(.init(series: "boiler/temp", bound: .lossless, segment: s.bytes)) }
        for s in lossy { entries.append(.init(series: "plant/ünits", bound: .init(absolute: 0.05), segment: s.bytes)) }
        var builder = SegmentBatch.Builder(capacity: 16)  // grows past what it reserved
        for e in entries { e.segment.withUnsafeBytes { builder.append(series: e.series, bound: e.bound, segment: $0) } }
        #expect(builder.count == entries.count)
        #expect(builder.features == FormatFeatures.of(segments: entries.map(\.segment)))
        let size = builder.byteCount
        let bytes = builder.finish()
        #expect(bytes.count == size)
        #expect(try SegmentBatch.decode(bytes) == SegmentBatch(entries: entries))
        // An empty builder is an empty batch; a flipped bit anywhere is refused.
        #expect(try SegmentBatch.decode(SegmentBatch.Builder(capacity: 0).finish()).entries.isEmpty)
        var damaged = bytes
        damaged[9] ^= 0x01  // the padded entry count
        #expect(throws: AliceDBError.self) { try SegmentBatch.decode(damaged) }
    }

    @Test func theEntryCountIsPaddedToThreeBytesUpToTheLimit() throws {
        let segment = try #require(encodeAll([0, 1000], [1, 2], bound: .lossless, chunk: 16).first).bytes
        for n in [0, 1, 127, 128, 16_383, 16_384] {
            var builder = SegmentBatch.Builder(capacity: 0)
            for _ in 0..<n { segment.withUnsafeBytes { builder.append(series: "s", bound: .lossless, segment: $0) } }
            #expect(try SegmentBatch.decode(builder.finish()).entries.count == n)
        }
    }
}
