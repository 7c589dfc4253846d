import Foundation
import PropertyBased
import TestSupport
import Testing

@testable import AliceFormat

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
                return SegmentFormat.encode(
                    header: header, timestampBytes: TimestampCodec.encode(t, range),
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
        let a = try SegmentFormat.decode(stored)
        let b = try SegmentFormat.decode(derived)
        #expect(a.values.map(\.bitPattern) == b.values.map(\.bitPattern))
        #expect(zip(b.values, values).allSatisfy { abs($0 - $1) <= bound.absolute })
        #expect(a.header == b.header)
    }

    /// The competition writes the short layout (quantised or interpolated, whichever wins); a
    /// relative bound keeps the step in the payload.
    @Test func theCompetitionDerivesOnlyFromAnAbsoluteBound() throws {
        // Noisy readings far from zero, with many digits: quantised under either bound.
        var rng = TestRNG(seed: 5)
        let ts = (0..<4000).map { Int64($0) * 1000 }
        let values = (0..<4000).map { i in 100 + 10 * sin(Double(i) / 50) + Double(rng.next() % 1_000_000) / 1e6 }
        for (b, derived) in [(ErrorBound(absolute: 0.05), true), (ErrorBound(relativePercent: 0.05), false)] {
            let kinds = encodeAll(ts, values, bound: b).filter { $0.header.kind.codesOnBoundGrid }
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

/// A lossy segment under an absolute bound stores its max error as a u16 fraction of the bound,
/// rounded up (2 bytes, not 8); any other max error is stored exactly, as before.
@Suite struct MaxErrorFractionTests {
    @Test func aFractionIsAnUpperBoundAndStable() async {
        await propertyCheck(count: 500, input: Gen.uint64()) { seed in
            await Task.yield()  // one case at a time: parallel suites share the two pool threads
            var rng = SplitMix(seed: seed)
            let a = Double(rng.next() % 1_000_000 + 1) * pow(10, Double(Int(rng.next() % 20) - 12))
            let e = a * Double(rng.next() % 1_000_001) / 1_000_000
            let stored = SegmentFormat.storedMaxError(e, ErrorBound(absolute: a))
            #expect(stored >= e && stored <= a * (1 + 1e-15), "\(e) of \(a): \(stored)")
            #expect(SegmentFormat.storedMaxError(stored, ErrorBound(absolute: a)) == stored)
            #expect(SegmentFormat.storedMaxError(e, ErrorBound(relativePercent: 1)) == e)
        }
    }

    func header(_ bound: ErrorBound, maxError: Double) -> SegmentHeader {
        SegmentHeader(
            seriesID: 1, kind: .constant, firstTimestamp: 0, lastTimestamp: 0, bound: bound,
            summary: SegmentSummary(count: 1, nanCount: 0, min: 1, max: 1, sum: 1), maxError: maxError)
    }

    func bytes(_ h: SegmentHeader) -> [UInt8] {
        var model = ByteWriter()
        FunctionModel.constant(1).write(into: &model)
        let ts = [Int64(0)].withUnsafeBufferPointer { TimestampCodec.encode($0, 0..<1) }
        return SegmentFormat.encode(header: h, timestampBytes: ts, valueBytes: model.bytes)
    }

    @Test func headersKeepWhatTheyHold() throws {
        let bound = ErrorBound(absolute: 0.25)
        let fraction = header(bound, maxError: SegmentFormat.storedMaxError(0.1234567, bound))
        let exact = header(bound, maxError: 0.1234567)  // not a fraction: stored as f64, exactly
        let relative = header(ErrorBound(relativePercent: 1), maxError: 0.1)
        #expect(fraction.maxError > exact.maxError)
        #expect(bytes(fraction).count == bytes(exact).count - 6)
        for h in [fraction, exact, relative] {
            let d = try SegmentFormat.decode(bytes(h))
            #expect(d.header == h)
        }
        // The competition's lossy segments hold the fraction.
        let (ts, values) = try #require(TestData.load("elf_wind_speed.csv", limit: 4000))
        for s in encodeAll(ts, values, bound: ErrorBound(absolute: 0.3)) where s.header.maxError > 0 {
            #expect(s.bytes[6] & 8 != 0)
            #expect(try SegmentFormat.decode(s.bytes).header == s.header)
        }
    }

    @Test func aFractionOfARelativeBoundIsAnError() throws {
        var b = bytes(header(ErrorBound(relativePercent: 1), maxError: 0.1))
        b[6] = (b[6] & ~4) | 8  // claim a fraction where the f64 is
        let body = b.count - 4
        let crc = b[0..<body].withUnsafeBytes { CRC32C.checksum($0) }
        b.replaceSubrange(body..<b.count, with: withUnsafeBytes(of: crc.littleEndian) { Array($0) })
        #expect(throws: DecodeError.self) { try SegmentFormat.decode(b) }
    }
}
