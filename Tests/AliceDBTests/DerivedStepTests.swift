import Foundation
import Testing
@testable import AliceDB

/// A quantised segment under an absolute bound leaves its grid step to the header's bound (the
/// model byte's `derivedFromHeader` flag); segments that store it still decode.
@Suite struct DerivedStepTests {
    let bound = ErrorBound(absolute: 0.05)

    func segment(writeStep: Bool) throws -> (bytes: [UInt8], values: [Double]) {
        let (ts, values) = try #require(TestData.load("elf_wind_speed.csv", limit: 2000))
        let bytes = try ts.withUnsafeBufferPointer { t in
            try values.withUnsafeBufferPointer { v in
                let range = 0..<t.count
                let payload = try #require(QuantizedCodec.encode(v, range, bound: bound, writeStep: writeStep))
                let header = SegmentHeader(
                    seriesID: 1, kind: .quantized, firstTimestamp: t[0], lastTimestamp: t[t.count - 1],
                    bound: bound, summary: SegmentSummary(v, range), maxError: 0.05)
                return SegmentFormat.encode(header: header, timestampBytes: TimestampCodec.encode(t, range),
                                            valueBytes: payload, derived: !writeStep)
            }
        }
        return (bytes, values)
    }

    @Test func bothLayoutsDecodeToTheSameValues() throws {
        let (stored, values) = try segment(writeStep: true)
        let (derived, _) = try segment(writeStep: false)
        #expect(derived.count == stored.count - 8)
        #expect(stored[5] == ModelKind.quantized.rawValue)
        #expect(derived[5] == ModelKind.quantized.rawValue | SegmentFormat.derivedFromHeader)
        let a = try SegmentFormat.decode(stored), b = try SegmentFormat.decode(derived)
        #expect(a.values.map(\.bitPattern) == b.values.map(\.bitPattern))
        #expect(zip(b.values, values).allSatisfy { abs($0 - $1) <= bound.absolute })
        #expect(a.header == b.header)
    }

    /// The competition writes the short layout; a relative bound keeps the step in the payload.
    @Test func theCompetitionDerivesOnlyFromAnAbsoluteBound() throws {
        // Noisy readings far from zero, with many digits: quantised under either bound.
        var rng = TestRNG(seed: 5)
        let ts = (0..<4000).map { Int64($0) * 1000 }
        let values = (0..<4000).map { i in 100 + 10 * sin(Double(i) / 50) + Double(rng.next() % 1_000_000) / 1e6 }
        for (b, derived) in [(ErrorBound(absolute: 0.05), true), (ErrorBound(relativePercent: 0.05), false)] {
            let kinds = encodeAll(ts, values, bound: b).filter { $0.header.kind == .quantized }
            #expect(!kinds.isEmpty)
            for s in kinds { #expect((s.bytes[5] & SegmentFormat.derivedFromHeader != 0) == derived, "\(b)") }
        }
    }

    /// The flag on any other model, or under a bound that does not give the step, is refused.
    @Test func theFlagWhereNothingDerivesIsAnError() throws {
        let (ts, values) = try #require(TestData.load("elf_wind_speed.csv", limit: 2000))
        let lossless = try #require(encodeAll(ts, values, bound: .lossless).first)
        var bytes = lossless.bytes
        bytes[5] |= SegmentFormat.derivedFromHeader
        let body = bytes.count - 4
        let crc = bytes[0..<body].withUnsafeBytes { CRC32C.checksum($0) }
        bytes.replaceSubrange(body..<bytes.count, with: withUnsafeBytes(of: crc.littleEndian) { Array($0) })
        #expect(throws: DecodeError.self) { try SegmentFormat.decode(bytes) }
    }

    /// A receiver relabelling a segment with its own series id keeps the flag.
    @Test func relabelledSegmentsKeepTheFlag() throws {
        let (bytes, _) = try segment(writeStep: false)
        let received = try ReceivedSegment(checking: bytes, seriesID: 9)
        #expect(received.bytes != bytes && received.bytes[5] == bytes[5])
        let d = try SegmentFormat.decode(received.bytes)
        #expect(d.header.seriesID == 9)
        #expect(d.values.map(\.bitPattern) == (try SegmentFormat.decode(bytes)).values.map(\.bitPattern))
    }
}
